"""Handbook pages and JSON API: the blueprint, and at the bottom the route modules that add its routes."""

from flask import Blueprint

# No url_prefix: pages live under /handbook/ and the JSON API under /api/.
bp = Blueprint("articles", __name__)

from kms.articles.views import api, pages, processes  # noqa: E402 - the routes, added to bp on import

__all__ = ["api", "bp", "pages", "processes"]
