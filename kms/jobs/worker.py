"""The `kms worker` loop: every tick, run the jobs that are due, judged from the database rows so that
several workers (on one or many servers) agree; each run happens under its lease, so exactly once."""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
from collections.abc import Callable, Iterable

from kms.extensions import db, utcnow
from kms.jobs.registry import jobs_of, lease_name
from kms.jobs.services import LeaseHeld, NotDue, Outcome, is_due, leases, run_job_outcome

TICK_SECONDS = 1.0
RETRY_SECONDS = 5.0
log = logging.getLogger("kms.jobs")


def make_owner() -> str:
    """hostname:pid:random: names the worker on the lease row, unique even when a pid is reused."""
    return f"{socket.gethostname()[:80]}:{os.getpid()}:{secrets.token_hex(4)}"


def due_jobs(app, only: Iterable[str] = ()) -> list[str]:
    """The names of the registered jobs (those in `only`, when given) that are due now."""
    jobs = jobs_of(app)
    wanted = [name for name in jobs if not only or name in only]
    with app.app_context():
        rows = leases()
        db.session.rollback()  # a read: end it, holding nothing while the jobs run
    now = utcnow()
    return [name for name in wanted if is_due(jobs[name], rows.get(lease_name(app, jobs[name])), now)]


def run_due(app, *, owner: str, only: Iterable[str] = (), stopping: Callable[[], bool] = lambda: False):
    """Run each due job once (those another worker took meanwhile are skipped); yields their outcomes."""
    for name in due_jobs(app, only):
        if stopping():
            return
        try:
            yield run_job_outcome(app, name, owner=owner, only_if_due=True)
        except (LeaseHeld, NotDue):
            continue


def run_worker(
    app,
    *,
    owner: str,
    only: Iterable[str] = (),
    once: bool = False,
    stop: threading.Event | None = None,
    report: Callable[[Outcome], None] = lambda outcome: None,
    tick: float = TICK_SECONDS,
) -> None:
    """Run due jobs every `tick` seconds until `stop` is set (after the job running then finishes)."""
    stop = stop or threading.Event()
    only = tuple(only)
    while not stop.is_set():
        try:
            for outcome in run_due(app, owner=owner, only=only, stopping=stop.is_set):
                report(outcome)
        except Exception:
            if once:
                raise
            # The database restarting or unreachable: try again next tick; leases stay consistent (a lease
            # that was taken but never released expires).
            log.exception("worker: looking for due jobs failed; trying again")
            stop.wait(RETRY_SECONDS)
        if once:
            return
        stop.wait(tick)
