"""Render time of the handbook home and an article page with 5,000 processes (in-process test client).

Usage: python benchmarks/handbook_bench.py [--processes 5000] [--requests 200]
Runs on a fresh SQLite database in a temporary instance folder (or KMS_DATABASE_URL when set).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import handbook_data  # noqa: E402
from kms import create_app  # noqa: E402
from kms.auth import SYSTEM  # noqa: E402
from kms.auth import services as auth_services  # noqa: E402
from kms.auth.models import Role  # noqa: E402
from kms.extensions import db, unit_of_work  # noqa: E402


def measure(client, url: str, requests: int) -> tuple[float, float]:
    for _ in range(5):
        assert client.get(url).status_code == 200
    times = []
    for _ in range(requests):
        start = time.perf_counter()
        response = client.get(url)
        times.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200
    times.sort()
    return statistics.median(times), times[int(0.95 * (len(times) - 1))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--processes", type=int, default=5000)
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    instance = tempfile.mkdtemp(prefix="kms-bench-")
    app = create_app(
        {
            "KMS_INSTANCE_PATH": instance,
            "SECRET_KEY": "bench-" + "x" * 40,
            "WTF_CSRF_ENABLED": False,
            "RATELIMIT_ENABLED": False,
            "KMS_LOAD_STARTER_CONTENT": "0",
        }
    )
    with app.app_context():
        db.create_all()
        owners = []
        with unit_of_work():
            for n in range(3):
                user, _ = auth_services.create_user(
                    f"author{n}@bench.test",
                    f"Author {n}",
                    Role.AUTHOR,
                    actor=SYSTEM,
                    password="bench-password-1",
                )
                owners.append(user.id)
        start = time.perf_counter()
        handbook_data.load(args.processes, owners)
        print(
            f"loaded {args.processes} processes ({args.processes - args.processes // 3} articles) "
            f"in {time.perf_counter() - start:.1f} s on {db.engine.dialect.name}"
        )
    client = app.test_client()
    assert (
        client.post(
            "/login", data={"email": "author0@bench.test", "password": "bench-password-1"}
        ).status_code
        == 302
    )
    for label, url in (("handbook home", "/handbook/"), ("article page", "/handbook/articles/process-2")):
        median, p95 = measure(client, url, args.requests)
        print(
            f"{label:<14} {url:<30} median {median:6.1f} ms   p95 {p95:6.1f} ms   ({args.requests} requests)"
        )


if __name__ == "__main__":
    main()
