"""Search's scheduled work, run by `kms worker` (kms.jobs): the weekly digest of searches that found nothing."""

from __future__ import annotations

from datetime import datetime, timedelta

from kms.auth import SYSTEM
from kms.extensions import unit_of_work
from kms.jobs import register
from kms.search import notices


def gap_digest(now: datetime) -> str:
    """Send authors the week's searches that found nothing."""
    with unit_of_work():
        sent = notices.send_gap_digest(now, actor=SYSTEM)
    return f"gap digest to {sent} author(s)"


def init_jobs(app) -> None:
    """Register search's jobs."""
    register(
        app,
        "search-gap-digest",
        gap_digest,
        every=timedelta(days=7),
        description="Send authors the week's searches that found nothing",
    )
