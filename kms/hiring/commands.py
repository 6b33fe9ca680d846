"""`kms hiring-purge`: the retention period for rejected candidates, for cron; added by hiring's init_app."""

from __future__ import annotations

from datetime import datetime

import click
from flask import current_app
from flask.cli import with_appcontext

from kms.auth.system import SYSTEM
from kms.commands import needs_database
from kms.extensions import unit_of_work
from kms.hiring import services


@click.command("hiring-purge")
@click.option(
    "--days",
    type=click.IntRange(0),
    default=None,
    help="Delete rejected candidates older than this many days. Default: KMS_HIRING_RETENTION_DAYS.",
)
@with_appcontext
@needs_database
def hiring_purge_command(days: int | None) -> None:
    """Delete rejected candidates (with interviews and scorecards) past the retention period; for cron."""
    click.echo(purge_job(current_app.config, days=days))


def purge_job(config, *, days: int | None = None, now: datetime | None = None) -> str:
    """One retention run (the daily `hiring-purge` job and the command): its own unit of work, as SYSTEM."""
    if days is None:
        days = int(config["KMS_HIRING_RETENTION_DAYS"])
    with unit_of_work():
        count = services.purge_rejected(days, actor=SYSTEM, now=now)
    return f"Purged {count} rejected candidate{'' if count == 1 else 's'} older than {days} days."


COMMANDS = (hiring_purge_command,)
