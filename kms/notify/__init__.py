"""Notifications: in-app bell and page, per-kind preferences, the e-mail outbox and its sender, team events."""

from __future__ import annotations

from kms.notify import models  # noqa: F401 - the tables belong to the app
from kms.notify.views import bp

__all__ = ["bp", "init_app"]


def init_app(app) -> None:
    """Register the blueprint."""
    app.register_blueprint(bp)
