"""Hiring views: pages under /hiring/ and JSON under /api/hiring/. Parse, call one service, render.

Who may see which candidate is decided in kms.hiring.services.access; a candidate the user may not see is 404.
"""
from kms.hiring.views import api, pages, scorecards
from kms.hiring.views.common import bp

__all__ = ["api", "bp", "pages", "scorecards"]
