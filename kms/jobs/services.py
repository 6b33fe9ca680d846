"""Database leases (exactly one server does X) and running one registered job under its lease.

A lease is one `job_leases` row. Taking it is a single conditional UPDATE (free, expired or already ours),
or an INSERT when the row does not exist yet; the rowcount (or the primary key refusing a second INSERT)
says who won. That holds on SQLite (writers are serialised: units of work begin with BEGIN IMMEDIATE) and on
PostgreSQL (a concurrent UPDATE waits for the row lock, then re-checks its WHERE on the committed row; a
concurrent INSERT waits on the primary key and fails). No SELECT ... FOR UPDATE, nothing dialect-specific.
Times come from each server's clock: servers sharing a database must keep their clocks in sync (NTP).
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import insert, or_, select, true, update
from sqlalchemy.exc import IntegrityError

from kms.errors import Conflict, NotFound
from kms.extensions import db, unit_of_work, utcnow
from kms.jobs.models import JobLease
from kms.jobs.registry import Job, jobs_of, lease_name

log = logging.getLogger("kms.jobs")
LEASES = JobLease.__table__
RESULT_LENGTH = JobLease.last_result.property.columns[0].type.length


class LeaseHeld(Conflict):
    """Another worker is running this job now."""


class NotDue(Conflict):
    """The job ran recently; it is not due yet."""


def try_lease(name: str, owner: str, seconds: float, *, now: datetime | None = None) -> bool:
    """Take (or extend) the lease `name` for `seconds` when it is free, expired or already `owner`'s.
    Flushes only: the caller's unit of work commits, and until then other workers wait on the row."""
    return _claim(name, owner, seconds, now or utcnow())


def release(name: str, owner: str, *, result: str | None, error: str | None) -> None:
    """Give the lease back and record how the run ended; nothing happens when `owner` lost it meanwhile."""
    now = utcnow()
    done = db.session.execute(
        update(LEASES)
        .where(LEASES.c.name == name, LEASES.c.owner == owner)
        .values(
            owner=None,
            leased_until=None,
            last_finished_at=now,
            last_result=_one_line(result, RESULT_LENGTH),
            last_error=_one_line(error, 2000),
        )
    )
    if done.rowcount != 1:
        log.warning(
            "job %s: the lease was taken over before %s finished; its result is not recorded", name, owner
        )


def renew(name: str, owner: str, seconds: float) -> bool:
    """Push the end of `owner`'s lease `seconds` from now; False when the lease is no longer theirs."""
    done = db.session.execute(
        update(LEASES)
        .where(LEASES.c.name == name, LEASES.c.owner == owner)
        .values(leased_until=utcnow() + timedelta(seconds=seconds))
    )
    return done.rowcount == 1


def leases() -> dict:
    """Every lease row by name, as plain rows (still readable after the transaction ends)."""
    return {row.name: row for row in db.session.execute(select(LEASES))}


def _claim(name: str, owner: str, seconds: float, now: datetime, *, due_before=None, force=False) -> bool:
    values = {"owner": owner, "leased_until": now + timedelta(seconds=seconds), "last_started_at": now}
    free = true() if force else _free(owner, now)
    conditions = [LEASES.c.name == name, free]
    if due_before is not None:
        # Judged in the same statement: a worker that saw the job due a moment ago, before another worker
        # finished it, does not run it a second time.
        conditions.append(or_(LEASES.c.last_finished_at.is_(None), LEASES.c.last_finished_at <= due_before))
    session = db.session
    if session.execute(update(LEASES).where(*conditions).values(**values)).rowcount == 1:
        return True
    if session.scalar(select(LEASES.c.name).where(LEASES.c.name == name)) is not None:
        return False
    try:
        with session.begin_nested():  # a savepoint: losing the race must not end the caller's transaction
            session.execute(insert(LEASES).values(name=name, **values))
    except IntegrityError:
        return False
    return True


def _free(owner: str, now: datetime):
    return or_(
        LEASES.c.owner.is_(None),
        LEASES.c.owner == owner,
        LEASES.c.leased_until.is_(None),
        LEASES.c.leased_until <= now,
    )


def _one_line(text: str | None, limit: int) -> str | None:
    if text is None:
        return None
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def is_due(job: Job, row, now: datetime) -> bool:
    """Due when it never finished or finished `every` ago, and nobody holds a live lease on it."""
    if row is None:
        return True
    if row.owner and row.leased_until and row.leased_until > now:
        return False
    return row.last_finished_at is None or row.last_finished_at + job.every <= now


@dataclass
class Outcome:
    name: str
    result: str | None
    error: str | None
    seconds: float

    def line(self) -> str:
        if self.error:
            return f"job {self.name} failed after {self.seconds:.1f} s: {self.error}"
        return f"job {self.name} done in {self.seconds:.1f} s: {self.result or 'ok'}"


def run_job(app, name: str, *, owner: str, force: bool = False, only_if_due: bool = False) -> str | None:
    """Run one registered job now under its lease and record the outcome; returns its summary.

    The job runner is the outermost caller here, like a CLI command: it commits the lease, lets the job open
    its own units of work, then records the result. Raises NotFound (no such job), LeaseHeld (running
    elsewhere; `force` takes the lease anyway) or NotDue (only_if_due, and it ran recently); a job that
    fails raises JobFailed after its error is recorded."""
    outcome = run_job_outcome(app, name, owner=owner, force=force, only_if_due=only_if_due)
    if outcome.error:
        raise JobFailed(outcome.error, outcome=outcome)
    return outcome.result


class JobFailed(Exception):
    def __init__(self, message: str, *, outcome: Outcome):
        super().__init__(message)
        self.outcome = outcome


def run_job_outcome(app, name: str, *, owner: str, force: bool = False, only_if_due: bool = False) -> Outcome:
    job = jobs_of(app).get(name)
    if job is None:
        raise NotFound(f"There is no job named {name!r}.")
    row = lease_name(app, job)
    seconds = job.lease.total_seconds()
    with app.app_context():
        now = utcnow()
        with unit_of_work():
            due_before = now - job.every if only_if_due else None
            taken = _claim(row, owner, seconds, now, due_before=due_before, force=force)
        if not taken:
            db.session.rollback()
            if only_if_due:
                raise NotDue()
            raise LeaseHeld(f"Job {name} is running on another worker; wait for it, or force it.")
        result = error = None
        started = time.monotonic()
        keeper = _LeaseKeeper(app, row, owner, seconds)
        keeper.start()
        try:
            result = job.func(now)
        except Exception as failure:  # recorded on the row and shown on /admin/jobs
            log.exception("job %s failed", name)
            error = f"{type(failure).__name__}: {failure}"
        except BaseException:  # Ctrl+C in `kms jobs run`: give the lease back, then stop
            error = "interrupted"
            raise
        finally:
            keeper.stop()
            db.session.rollback()
            with unit_of_work():
                release(row, owner, result=result, error=error)
        return Outcome(name, result, error, time.monotonic() - started)


class _LeaseKeeper:
    """Renews the lease every third of its length while the job runs, in a thread with its own session,
    so a long job keeps its lease and a crashed one loses it soon."""

    def __init__(self, app, name: str, owner: str, seconds: float):
        self.app, self.name, self.owner, self.seconds = app, name, owner, seconds
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"lease {name}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        with self.app.app_context():
            try:
                while not self._stop.wait(self.seconds / 3):
                    try:
                        with unit_of_work():
                            kept = renew(self.name, self.owner, self.seconds)
                    except Exception:
                        log.exception("job %s: renewing the lease failed; trying again", self.name)
                        continue
                    if not kept:
                        log.warning("job %s: lease lost to another worker while running", self.name)
                        return
            finally:
                db.session.remove()
