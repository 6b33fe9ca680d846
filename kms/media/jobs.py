"""Media's scheduled work, run by `kms worker` (kms.jobs): forgetting draft uploads no page came to use."""

from __future__ import annotations

from datetime import datetime, timedelta

from kms.extensions import unit_of_work
from kms.jobs import register
from kms.media.services import links


def drop_old_drafts(now: datetime, *, days: int) -> str:
    """Delete draft uploads older than `days` that no saved page uses, and the files nothing else uses."""
    with unit_of_work():
        dropped = links.drop_old_drafts(now - timedelta(days=days))
    return f"{dropped} unused draft upload(s) removed"


def init_jobs(app) -> None:
    """Register media's jobs."""
    days = int(app.config["KMS_MEDIA_DRAFT_DAYS"])
    register(
        app,
        "media-drafts",
        lambda now: drop_old_drafts(now, days=days),
        every=timedelta(days=1),
        description=f"Delete files uploaded while writing that no page used within {days} days",
    )
