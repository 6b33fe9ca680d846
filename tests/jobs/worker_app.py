"""`python tests/jobs/worker_app.py worker --once ...`: the real `kms` command line, on an app that also has
two test jobs. `slow` appends a line to $JOBS_LOG when it starts and sleeps $SLOW_SECONDS on its first run
only (so a worker can be killed while it holds the lease); its lease lasts $LEASE_SECONDS."""

import os
import sys
import time
from datetime import timedelta
from pathlib import Path

from flask.cli import FlaskGroup

from kms import create_app, jobs


def slow(now) -> str:
    log = Path(os.environ["JOBS_LOG"])
    first = not log.exists()
    with log.open("a") as out:
        out.write(f"started {os.getpid()}\n")
    if first:
        time.sleep(float(os.environ.get("SLOW_SECONDS", "0")))
    return f"slow ran in {os.getpid()}"


def make_app():
    app = create_app()
    lease = timedelta(seconds=float(os.environ.get("LEASE_SECONDS", "60")))
    jobs.register(app, "slow", slow, every=timedelta(hours=1), description="test job", lease=lease)
    return app


if __name__ == "__main__":
    FlaskGroup(create_app=make_app, add_default_commands=False)(args=sys.argv[1:], prog_name="kms")
