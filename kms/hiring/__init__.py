"""Hiring: the traits rubric, candidates, interviews, independent scorecards and debriefs."""

from datetime import timedelta

from sqlalchemy import exists

from kms import jobs
from kms.auth import add_user_fact, user_fact
from kms.auth.permissions import allowed
from kms.hiring import commands, services
from kms.hiring.jobs import init_jobs
from kms.hiring.models import InterviewerAssignment
from kms.hiring.views import bp
from kms.navigation import NavEntry, add_nav_entry


def sees_hiring_menu(user) -> bool:
    """Hiring shows in the menu for leads, and for anyone assigned to interview a candidate."""
    return allowed(user, "hiring.manage") or bool(
        user_fact(user, INTERVIEWER, lambda: services.is_interviewer(user.id))
    )


INTERVIEWER = "hiring.interviewer"


def _interviewer_expression(users):
    # Read with the session's user on every page (the menu), so the menu costs no query of its own.
    return exists().where(InterviewerAssignment.__table__.c.interviewer_id == users.c.id)


NAV = NavEntry("Hiring", "hiring.index", order=30, visible=sees_hiring_menu)


def init_app(app) -> None:
    """Add hiring to the app: its pages and API, its menu entry for leads and interviewers, and the
    `kms hiring-purge` command, also run daily by `kms worker`, and the scorecard reminder job."""
    app.register_blueprint(bp)
    add_nav_entry(app, NAV)
    add_user_fact(app, INTERVIEWER, _interviewer_expression)
    for command in commands.COMMANDS:
        app.cli.add_command(command)
    jobs.register(
        app,
        "hiring-purge",
        lambda now: commands.purge_job(app.config, now=now),
        every=timedelta(days=1),
        description="Delete rejected candidates past the retention period (KMS_HIRING_RETENTION_DAYS).",
    )
    init_jobs(app)


__all__ = ["bp", "init_app"]
