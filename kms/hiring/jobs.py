"""Hiring's scheduled work, run by `kms worker` (kms.jobs): the scorecard reminder a day after an interview."""

from __future__ import annotations

from datetime import datetime, timedelta

from kms.auth import SYSTEM
from kms.extensions import unit_of_work
from kms.hiring.services import notices
from kms.jobs import register


def scorecard_reminders(now: datetime) -> str:
    """Remind interviewers whose scorecard is still not submitted 24 hours after the interview."""
    with unit_of_work():
        sent = notices.send_scorecard_reminders(now, actor=SYSTEM)
    return f"{sent} scorecard reminder(s)"


def init_jobs(app) -> None:
    """Register hiring's jobs."""
    register(
        app,
        "hiring-scorecard-reminders",
        scorecard_reminders,
        every=timedelta(hours=1),
        description="Remind interviewers of scorecards not submitted 24 hours after the interview",
    )
