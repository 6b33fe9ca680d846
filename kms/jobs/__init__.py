"""Scheduled jobs: features register them in init_app; `kms worker` runs them under database leases."""

from kms.jobs import commands
from kms.jobs.registry import Job, register
from kms.jobs.views import bp

__all__ = ["Job", "bp", "init_app", "register"]


def init_app(app) -> None:
    """Add the job registry, the /admin/jobs page and the `kms worker` and `kms jobs` commands."""
    app.register_blueprint(bp)
    for command in commands.COMMANDS:
        app.cli.add_command(command)
