"""Integration routes: the blueprint and its route modules."""

from flask import Blueprint

bp = Blueprint("integrations", __name__)

from kms.integrations.views import admin, chat  # noqa: E402,F401 - adds the routes to bp

__all__ = ["bp"]
