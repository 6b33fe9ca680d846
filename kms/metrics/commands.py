"""`kms metrics import FILE`, `kms metrics export`, `kms metrics recount`; added by metrics' init_app."""

from __future__ import annotations

import os
import sys

import click
from flask import current_app
from flask.cli import with_appcontext

from kms.auth.system import SYSTEM
from kms.commands import needs_database
from kms.errors import KmsError
from kms.extensions import unit_of_work
from kms.metrics import services
from kms.progress import ProgressReporter


@click.group("metrics", help="Ticket metrics: import helpdesk exports, export tickets, recount aggregates.")
def metrics_group() -> None:
    pass


@metrics_group.command("import")
@click.argument("file", type=click.File("rb"))
@click.option(
    "--preset",
    type=click.Choice(sorted(services.PRESETS), case_sensitive=False),
    default=None,
    help="Column names and scales of a helpdesk export (default: kms's own CSV).",
)
@click.option("--mapping", default=None, help="A custom column mapping an admin saved on /metrics/import.")
@click.option("--skip-unknown", is_flag=True, help="Import the rows of known reps; list the unknown ones.")
@click.option(
    "--time-zone",
    default=None,
    help="Zone of dates written without an offset (default: KMS_METRICS_TIME_ZONE).",
)
@with_appcontext
@needs_database
def import_command(file, preset: str | None, mapping: str | None, skip_unknown: bool, time_zone: str | None):
    """Import ticket rows from FILE ('-' for standard input): all or nothing, re-runs never count twice."""
    if preset and mapping:
        raise click.UsageError("Give --preset or --mapping, not both.")
    config = current_app.config
    try:
        size = os.fstat(file.fileno()).st_size if file is not sys.stdin.buffer else 0
    except (OSError, AttributeError, ValueError):
        size = 0
    try:
        with ProgressReporter("metrics import") as progress, unit_of_work():
            chosen = services.mapping_for(preset=preset, mapping=mapping)
            report = services.import_csv(
                file,
                chosen,
                actor=SYSTEM,
                max_bytes=int(config["KMS_METRICS_MAX_MB"]) * 1024 * 1024,
                time_zone=time_zone or config["KMS_METRICS_TIME_ZONE"],
                skip_unknown=skip_unknown,
                progress=progress if size else None,
                total=size or None,
            )
    except KmsError as error:
        lines = [error.message]
        lines += [f"  {line}" for line in getattr(error, "errors", [])[1:]]
        raise click.ClickException("\n".join(lines)) from None
    click.echo(f"Imported from {file.name} ({chosen.label}): {report.summary()}")
    for agent, count in report.skipped_unknown.items():
        click.echo(f"  skipped, not in kms: {agent} ({count} ticket{'s' if count != 1 else ''})")


@metrics_group.command("export")
@click.option("--source", default=None, help="Only tickets from this source (kms, api, zendesk, ...).")
@click.argument("file", type=click.File("w", encoding="utf-8"), default="-")
@with_appcontext
@needs_database
def export_command(source: str | None, file) -> None:
    """Write the stored tickets as kms CSV to FILE (default: standard output); formulas are escaped."""
    for chunk in services.export_tickets_csv(actor=SYSTEM, source=source):
        file.write(chunk)


@metrics_group.command("recount")
@with_appcontext
@needs_database
def recount_command() -> None:
    """Rebuild the per-rep daily aggregates from the stored tickets (after editing tickets by hand)."""
    with unit_of_work():
        written = services.recount()
    click.echo(f"Recounted {written:,} rep-days.")
