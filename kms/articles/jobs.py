"""The handbook's scheduled work, run by `kms worker` (kms.jobs): articles due for verification."""

from __future__ import annotations

from datetime import datetime, timedelta

from kms.articles.services import notices
from kms.auth import SYSTEM
from kms.extensions import unit_of_work
from kms.jobs import register


def verification_due(now: datetime) -> str:
    """Tell owners about their articles due for verification (once per due period)."""
    with unit_of_work():
        sent = notices.send_verification_due(now, actor=SYSTEM)
    return f"{sent} verification notice(s)"


def init_jobs(app) -> None:
    """Register the handbook's jobs."""
    register(
        app,
        "handbook-verification-due",
        verification_due,
        every=timedelta(days=1),
        description="Tell owners about their articles due for verification",
    )
