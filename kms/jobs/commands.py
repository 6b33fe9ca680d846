"""`kms worker` (runs the scheduled jobs) and `kms jobs list|run`; added by the jobs feature's init_app."""

from __future__ import annotations

import os
import signal
import threading

import click
from flask import current_app
from flask.cli import with_appcontext

from kms.commands import needs_database
from kms.errors import KmsError
from kms.extensions import db, utcnow
from kms.jobs import services
from kms.jobs.registry import jobs_of, lease_name
from kms.jobs.worker import TICK_SECONDS, make_owner, run_worker


@click.command("worker")
@click.option("--once", is_flag=True, help="Run the jobs that are due once, then exit.")
@click.option("--only", "only", multiple=True, metavar="NAME", help="Run only this job (repeatable).")
# `kms serve --with-worker` starts the worker with this: it stops when the server process is gone.
@click.option("--stop-with-parent", is_flag=True, hidden=True)
@with_appcontext
@needs_database
def worker_command(once: bool, only: tuple[str, ...], stop_with_parent: bool) -> None:
    """Run scheduled jobs (e-mail, reminders, purges...) as they fall due; stop with Ctrl+C or SIGTERM.

    Several workers, on one server or many, are safe: a database lease lets one of them run each job."""
    app = current_app._get_current_object()
    unknown = sorted(set(only) - set(jobs_of(app)))
    if unknown:
        raise click.BadParameter(f"no job named {', '.join(unknown)}", param_hint="--only")
    owner = make_owner()
    stop = threading.Event()

    def finish_then_stop(signum, _frame) -> None:
        # The job running now finishes and records its result; a second signal stops at once.
        click.echo(
            f"worker {owner}: stopping after the current job ({signal.Signals(signum).name})", err=True
        )
        stop.set()
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)

    previous = {sig: signal.signal(sig, finish_then_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    if not once:
        names = ", ".join(only or jobs_of(app)) or "none registered"
        click.echo(f"worker {owner}: running jobs ({names})", err=True)
    if stop_with_parent:
        _stop_when_orphaned(stop)
    try:
        run_worker(app, owner=owner, only=only, once=once, stop=stop, report=lambda o: click.echo(o.line()))
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if not once:
        click.echo(f"worker {owner}: stopped", err=True)


def _stop_when_orphaned(stop: threading.Event) -> None:
    parent = os.getppid()

    def watch() -> None:
        while not stop.wait(TICK_SECONDS):
            if os.getppid() != parent:  # the server died or stopped without telling us: so do we
                click.echo("worker: the server process is gone; stopping after the current job", err=True)
                stop.set()

    threading.Thread(target=watch, name="parent watch", daemon=True).start()


@click.group("jobs")
def jobs_group() -> None:
    """List the scheduled jobs or run one by hand."""


@jobs_group.command("list")
@with_appcontext
@needs_database
def list_command() -> None:
    """Each job: its schedule, last run, result and who holds its lease now."""
    app = current_app._get_current_object()
    rows = services.leases()
    now = utcnow()
    for name, job in sorted(jobs_of(app).items()):
        row = rows.get(lease_name(app, job))
        last = (
            row.last_finished_at.strftime("%Y-%m-%d %H:%M:%S UTC")
            if row and row.last_finished_at
            else "never"
        )
        held = row.owner if row and row.owner and row.leased_until and row.leased_until > now else "-"
        outcome = "-"
        if row and row.last_finished_at:
            outcome = f"failed: {row.last_error}" if row.last_error else row.last_result or "ok"
        click.echo(f"{name}  every {job.schedule}  last run {last}  result {outcome}  held by {held}")
    db.session.rollback()


@jobs_group.command("run")
@click.argument("name")
@click.option("--force", is_flag=True, help="Run even while another worker holds the job's lease.")
@with_appcontext
@needs_database
def run_command(name: str, force: bool) -> None:
    """Run one job now, whatever its schedule (not while another worker runs it, unless --force)."""
    app = current_app._get_current_object()
    try:
        outcome = services.run_job_outcome(app, name, owner=make_owner(), force=force)
    except KmsError as error:
        raise click.ClickException(error.message) from None
    click.echo(outcome.line())
    if outcome.error:
        raise SystemExit(1)


COMMANDS = (worker_command, jobs_group)
