"""Account pages and /api/me: the blueprint, and at the bottom the route module that adds its routes."""

from flask import Blueprint

bp = Blueprint("auth", __name__)

from kms.auth.views import pages  # noqa: E402 - the routes, added to bp on import

__all__ = ["bp", "pages"]
