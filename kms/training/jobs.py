"""Training's scheduled work, run by `kms worker` (kms.jobs): due-date reminders, overdue notices and the weekly
overdue summary per team. Each job is the outermost caller: it opens its own unit of work and acts as the system.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from kms.auth import SYSTEM
from kms.extensions import unit_of_work
from kms.jobs import register
from kms.training.services import notices


def due_soon(now: datetime) -> str:
    """Remind learners of modules due in two days."""
    with unit_of_work():
        sent = notices.send_due_soon(now, actor=SYSTEM)
    return f"{sent} due-soon reminder(s)"


def overdue(now: datetime) -> str:
    """Tell learners, and their managers, about overdue modules (once each)."""
    with unit_of_work():
        learners, managers = notices.send_overdue(now, actor=SYSTEM)
    return f"{learners} overdue notice(s) to learners, {managers} to managers"


def overdue_summary(now: datetime) -> str:
    """The weekly "training.overdue_summary" event per team."""
    with unit_of_work():
        teams = notices.announce_overdue_summaries(now, actor=SYSTEM)
    return f"overdue summary for {teams} team(s)"


def init_jobs(app) -> None:
    """Register training's jobs (hourly, so each learner's local day is met within the hour)."""
    register(
        app,
        "training-due-soon",
        due_soon,
        every=timedelta(hours=1),
        description="Remind learners of training modules due in two days",
    )
    register(
        app,
        "training-overdue",
        overdue,
        every=timedelta(hours=1),
        description="Tell learners and their managers about overdue training modules",
    )
    register(
        app,
        "training-overdue-summary",
        overdue_summary,
        every=timedelta(days=7),
        description="Post each team's weekly overdue-training summary to its channels and webhooks",
    )
