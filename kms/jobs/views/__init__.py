"""The scheduled-jobs pages: the blueprint and its route modules."""

from flask import Blueprint

bp = Blueprint("jobs", __name__)

from kms.jobs.views import admin  # noqa: E402,F401 - adds the routes to bp

__all__ = ["bp"]
