"""Accounts: users, roles, login, first-run setup, invites, API tokens and the permission table."""
from kms.auth.views import bp

__all__ = ["bp"]
