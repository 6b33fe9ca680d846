"""Database leases, on SQLite and PostgreSQL: taken, refused while held, taken over once expired."""

import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy.exc import OperationalError

from kms.extensions import db, unit_of_work, utcnow
from kms.jobs import register
from kms.jobs.models import JobLease
from kms.jobs.services import JobFailed, LeaseHeld, release, run_job, try_lease
from kms.jobs.worker import run_due


def lease(name, owner, seconds=60, now=None):
    with unit_of_work():
        return try_lease(name, owner, seconds, now=now)


def holder(name):
    db.session.rollback()
    return db.session.get(JobLease, name)


def test_a_lease_is_taken_once_refused_to_others_and_kept_by_its_owner(app):
    assert lease("mail", "a") is True
    assert lease("mail", "b") is False
    assert lease("mail", "a") is True  # the owner renews
    assert holder("mail").owner == "a"


def test_an_expired_lease_is_taken_over_and_the_old_owner_cannot_release_it(app):
    start = utcnow()
    assert lease("mail", "crashed", seconds=5, now=start)
    assert lease("mail", "b", now=start + timedelta(seconds=4)) is False
    assert lease("mail", "b", now=start + timedelta(seconds=6)) is True
    with unit_of_work():
        release("mail", "crashed", result="late", error=None)
    row = holder("mail")
    assert row.owner == "b" and row.last_result is None


def test_release_frees_the_lease_and_records_the_outcome(app):
    assert lease("mail", "a")
    with unit_of_work():
        release("mail", "a", result="3 sent", error=None)
    row = holder("mail")
    assert row.owner is None and row.last_result == "3 sent" and row.last_finished_at is not None
    assert lease("mail", "b")


def test_two_workers_at_once_run_a_due_job_exactly_once(app):
    runs = []

    def job(now):
        runs.append(now)
        time.sleep(0.3)  # both workers are past their "is it due?" read while it runs
        return "done"

    register(app, "count", job, every=timedelta(hours=1), description="test")
    outcomes = {}

    def worker(owner):
        outcomes[owner] = [o.name for o in run_due(app, owner=owner, only=["count"])]

    threads = [threading.Thread(target=worker, args=(f"w{i}",)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(runs) == 1
    assert sorted(len(names) for names in outcomes.values()) == [0, 1]
    # Done, so not due again for an hour, whoever asks.
    assert [o.name for o in run_due(app, owner="w3", only=["count"])] == []
    assert holder("count").last_result == "done"


def test_the_worker_loop_survives_a_database_error_and_runs_the_job_when_it_is_back(app, monkeypatch):
    from kms.jobs import worker

    runs = []
    register(app, "count", lambda now: runs.append(now) and None, every=timedelta(hours=1), description="")
    real, calls = worker.leases, []

    def flaky():
        calls.append(1)
        if len(calls) == 1:
            raise OperationalError("SELECT", {}, Exception("server closed the connection"))
        return real()

    monkeypatch.setattr(worker, "leases", flaky)
    monkeypatch.setattr(worker, "RETRY_SECONDS", 0)
    stop = threading.Event()
    worker.run_worker(app, owner="w", only=["count"], stop=stop, tick=0, report=lambda outcome: stop.set())
    assert len(calls) == 2 and len(runs) == 1


def test_run_job_returns_the_summary_refuses_a_held_job_and_raises_when_the_job_fails(app):
    assert run_job(app, "hiring-purge", owner="a").startswith("Purged 0 rejected candidates")
    assert lease("hiring-purge", "elsewhere")
    with pytest.raises(LeaseHeld):
        run_job(app, "hiring-purge", owner="a")
    register(app, "broken", lambda now: 1 / 0, every=timedelta(minutes=1), description="")
    with pytest.raises(JobFailed, match="ZeroDivisionError"):
        run_job(app, "broken", owner="a")
    assert holder("broken").last_error == "ZeroDivisionError: division by zero"
