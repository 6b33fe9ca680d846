"""Hiring views: pages under /hiring/ and JSON under /api/hiring/. Parse, call one service, render.

Who may see which candidate is decided in kms.hiring.services.access; a candidate the user may not see is 404.
The blueprint is here; the route modules imported at the bottom add its routes.
"""

from flask import Blueprint

bp = Blueprint("hiring", __name__)

from kms.hiring.views import api, pages, scorecards  # noqa: E402 - the routes, added to bp on import

__all__ = ["api", "bp", "pages", "scorecards"]
