"""Hiring: the traits rubric, candidates, interviews, independent scorecards and debriefs."""

from datetime import timedelta

from kms import jobs
from kms.auth.permissions import allowed
from kms.hiring import commands, services
from kms.hiring.views import bp
from kms.navigation import NavEntry, add_nav_entry


def sees_hiring_menu(user) -> bool:
    """Hiring shows in the menu for leads, and for anyone assigned to interview a candidate."""
    return allowed(user, "hiring.manage") or services.is_interviewer(user.id)


NAV = NavEntry("Hiring", "hiring.index", order=30, visible=sees_hiring_menu)


def init_app(app) -> None:
    """Add hiring to the app: its pages and API, its menu entry for leads and interviewers, and the
    `kms hiring-purge` command, also run daily by `kms worker`."""
    app.register_blueprint(bp)
    add_nav_entry(app, NAV)
    for command in commands.COMMANDS:
        app.cli.add_command(command)
    jobs.register(
        app,
        "hiring-purge",
        lambda now: commands.purge_job(app.config, now=now),
        every=timedelta(days=1),
        description="Delete rejected candidates past the retention period (KMS_HIRING_RETENTION_DAYS).",
    )


__all__ = ["bp", "init_app"]
