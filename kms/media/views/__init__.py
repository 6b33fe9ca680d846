"""Media routes: the blueprint and its route module."""

from flask import Blueprint

bp = Blueprint("media", __name__)

from kms.media.views import files  # noqa: E402,F401 - adds the routes to bp

__all__ = ["bp"]
