"""Single sign-on routes: the blueprint and its route modules."""

from flask import Blueprint

bp = Blueprint("sso", __name__)

from kms.sso.views import admin, login  # noqa: E402,F401 - adds the routes to bp

__all__ = ["bp"]
