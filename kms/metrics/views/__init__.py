"""Metrics views: the import page under /metrics/ and the JSON API under /api/metrics. Parse, call, render."""

from flask import Blueprint

bp = Blueprint("metrics", __name__)

from kms.metrics.views import api, coaching, dashboards, imports  # noqa: E402 - the routes, added to bp on import

__all__ = ["api", "bp", "coaching", "dashboards", "imports"]
