"""The jobs each feature registers in its init_app: name, function, schedule, lease length."""

from __future__ import annotations

import hashlib
import socket
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

EXTENSION = "kms.jobs"
DEFAULT_LEASE = timedelta(seconds=60)  # renewed while the job runs, so a long job keeps it


@dataclass(frozen=True)
class Job:
    name: str
    func: Callable[[datetime], str | None]
    every: timedelta
    description: str
    lease: timedelta = DEFAULT_LEASE
    # A job about this server's own files (its search index) runs on every server, each with its own row.
    per_server: bool = False

    @property
    def schedule(self) -> str:
        """`every` for people: "1 d", "30 s", "5 min"."""
        seconds = int(self.every.total_seconds())
        for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
            if seconds >= size and seconds % size == 0:
                return f"{seconds // size} {unit}"
        return f"{seconds} s"


def register(
    app,
    name: str,
    func,
    *,
    every: timedelta,
    description: str,
    lease: timedelta | None = None,
    per_server: bool = False,
) -> None:
    """Add a job: func(now) -> one-line summary or None, run by `kms worker` every `every` (across all
    workers: the database lease makes one of them run it). Call from a feature's init_app."""
    if every <= timedelta(0):
        raise ValueError(f"job {name!r}: every must be positive")
    jobs = jobs_of(app)
    if name in jobs:
        raise ValueError(f"job {name!r} is registered twice")
    jobs[name] = Job(name, func, every, description, lease or DEFAULT_LEASE, per_server)


def jobs_of(app) -> dict[str, Job]:
    return app.extensions.setdefault(EXTENSION, {})


def lease_name(app, job: Job) -> str:
    """The job_leases row of a job: its name, or for a per-server job its name @ this host and instance."""
    if not job.per_server:
        return job.name
    where = hashlib.sha256(str(app.instance_path).encode()).hexdigest()[:8]
    return f"{job.name}@{socket.gethostname()[:60]}:{where}"
