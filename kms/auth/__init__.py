"""Accounts: users, roles, login, first-run setup, invites, API tokens and the permission table."""
from kms.auth.system import SYSTEM, SystemActor
from kms.auth.views import bp

__all__ = ["SYSTEM", "SystemActor", "bp"]
