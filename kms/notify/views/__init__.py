"""Notification routes: the bell's page, preferences, unsubscribe links, and the admins' mail page."""

from flask import Blueprint

bp = Blueprint("notify", __name__)

from kms.notify.views import admin, pages  # noqa: E402,F401 - adds the routes to bp

__all__ = ["bp"]
