"""E-mail throughput of the daily digest, and what notifying costs a request.

1. 1,000 learners, each with an overdue-module notice on the digest channel: the digests are built (one per
   learner) and handed to a real SMTP server (aiosmtpd on 127.0.0.1, in its own process) by send_pending;
   prints messages/s.
2. The same request with and without the notification it creates: an admin's invite (POST /admin/users) with
   e-mail on (the request also writes the invite e-mail to the outbox) and off (it does not); requests
   interleaved, medians compared (the target: within 5 %).

Usage: python benchmarks/notify_bench.py [--learners 1000] [--requests 300] [--only digest|request]
Runs on a fresh SQLite database in a temporary instance folder (or KMS_DATABASE_URL when set).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from kms import create_app  # noqa: E402
from kms.auth import SYSTEM  # noqa: E402
from kms.auth import services as auth_services  # noqa: E402
from kms.auth.models import Role, User  # noqa: E402
from kms.extensions import db, unit_of_work  # noqa: E402
from kms.notify import services  # noqa: E402
from kms.notify.kinds import Kind, add_kind  # noqa: E402
from kms.notify.scheduled import build_daily_digests  # noqa: E402
from kms.notify.sender import send_pending  # noqa: E402
from tests.notify.smtp_server import free_port  # noqa: E402

OVERDUE = add_kind(Kind("bench.overdue", "A module is overdue (benchmark)", "digest"))


class SmtpProcess:
    """tests/notify/smtp_server.py's server in a process of its own; `received()` stops it and counts."""

    def __init__(self):
        self.port = free_port()
        self.url = f"smtp://127.0.0.1:{self.port}?timeout=10"
        root = Path(__file__).resolve().parent.parent
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.notify.smtp_server", str(self.port)],
            cwd=root,
            env={**os.environ, "PYTHONPATH": str(root)},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout.readline().strip() == "ready"

    def received(self) -> int:
        out, _ = self.process.communicate("", timeout=60)
        return int(out.strip().splitlines()[-1])


def digest_throughput(app, smtp: SmtpProcess, learners: int) -> None:
    with app.app_context(), unit_of_work():
        users = [
            User(email=f"learner{n}@example.test", name=f"Learner {n}", role=Role.MEMBER, time_zone="UTC")
            for n in range(learners)
        ]
        db.session.add_all(users)
        db.session.flush()
        for user in users:
            services.notify(
                user,
                OVERDUE.name,
                title="Overdue: Refunds and credits",
                body="Due 2 days ago. Lessons left: 3.",
                actor=SYSTEM,
                link=("notify.index", {}),
            )
    morning = datetime.now(UTC).replace(hour=9, minute=0) + timedelta(days=1)
    with app.app_context():
        start = time.perf_counter()
        print(" ", build_daily_digests(morning))
        built = time.perf_counter() - start
        start = time.perf_counter()
        summary = send_pending(morning, limit=learners + 10)
        sent = time.perf_counter() - start
    received = smtp.received()
    print(f"  {summary}; the SMTP server received {received}")
    print(f"  build {learners} digests: {built:.2f} s ({learners / built:.0f} digests/s)")
    print(f"  render and send them:    {sent:.2f} s ({received / sent:.0f} messages/s)")
    print(f"  together:                {built + sent:.2f} s ({received / (built + sent):.0f} messages/s)")


def request_cost(app, smtp: SmtpProcess, requests: int) -> None:
    with app.app_context(), unit_of_work():
        admin, _ = auth_services.create_user(
            "admin@example.test", "Admin", Role.ADMIN, actor=SYSTEM, password="bench password 123"
        )
    client = app.test_client()
    response = client.post("/login", data={"email": "admin@example.test", "password": "bench password 123"})
    assert response.status_code == 302
    times: dict[bool, list[float]] = {True: [], False: []}
    for n in range(requests * 2 + 20):
        mail_on = n % 2 == 0
        app.config["KMS_SMTP_URL"] = smtp.url if mail_on else ""
        data = {"name": f"Hire {n}", "email": f"hire{n}@example.test", "role": "member", "time_zone": "UTC"}
        start = time.perf_counter()
        response = client.post("/admin/users", data=data)
        elapsed = (time.perf_counter() - start) * 1000
        assert response.status_code == 200, response.status_code
        assert (b"on its way" in response.data) == mail_on
        if n >= 20:  # the first requests warm caches up
            times[mail_on].append(elapsed)
    with_mail, without = statistics.median(times[True]), statistics.median(times[False])
    print(f"  invite request, e-mail queued:    median {with_mail:.2f} ms ({requests} requests)")
    print(f"  invite request, no notification:  median {without:.2f} ms ({requests} requests)")
    print(f"  difference: {100 * (with_mail - without) / without:+.1f} %")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--learners", type=int, default=1000)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--only", choices=["digest", "request"], help="run one of the two parts")
    args = parser.parse_args()
    smtp = SmtpProcess()
    try:
        parts = {
            "digest": (
                f"Daily digest to {args.learners} learners",
                lambda app: digest_throughput(app, smtp, args.learners),
            ),
            "request": ("Request cost of a notification", lambda app: request_cost(app, smtp, args.requests)),
        }
        for name, (part, run) in parts.items():
            if args.only and name != args.only:
                continue
            instance = tempfile.mkdtemp(prefix="kms-bench-")
            app = create_app(
                {
                    "KMS_INSTANCE_PATH": instance,
                    "KMS_DATABASE_URL": os.environ.get("KMS_DATABASE_URL", ""),
                    "SECRET_KEY": "bench-" + "x" * 40,
                    "WTF_CSRF_ENABLED": False,
                    "RATELIMIT_ENABLED": False,
                    "KMS_LOAD_STARTER_CONTENT": "0",
                    "KMS_SMTP_URL": smtp.url,
                    "KMS_BASE_URL": "https://kms.example.com",
                }
            )
            with app.app_context():
                db.create_all()
            print(part)
            run(app)
    finally:
        if smtp.process.poll() is None:
            smtp.process.kill()


if __name__ == "__main__":
    main()
