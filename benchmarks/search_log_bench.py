"""Search change log lag: a save on server A, until it is searchable on servers B and C. Prints figures; not a test.

    python benchmarks/search_log_bench.py [--rates 1,20] [--seconds 20] [--admin-url URL]

A fresh PostgreSQL database (made through the admin URL, dropped at the end). Server A is this process: it saves
a new article at each rate (edits per second) for --seconds. Servers B and C are two other processes, each with
its own instance folder and index, following the log with the poller every `kms serve` worker runs (every
KMS_SEARCH_FOLLOW_SECONDS). The lag of one save is the time from its commit on A (an after-commit hook, before A
indexes it; saves run as web requests do, A indexing in its drain thread) until B's (or C's) index write that holds it returns, after which B's searches find it.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import event  # noqa: E402

from kms import create_app  # noqa: E402
from kms.articles import services as articles  # noqa: E402
from kms.articles.models import Category  # noqa: E402
from kms.auth import services as auth  # noqa: E402
from kms.auth.models import Role, User  # noqa: E402
from kms.auth.system import SYSTEM  # noqa: E402
from kms.extensions import db, unit_of_work  # noqa: E402
from kms.search.indexer import EXTENSION  # noqa: E402

WRITERS = 8
ADMIN_URL = os.environ.get("KMS_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def make(url: str, folder: str, follow_seconds: str = "0.5"):
    return create_app(
        {
            "KMS_INSTANCE_PATH": folder,
            "KMS_DATABASE_URL": url,
            "SECRET_KEY": "bench-secret-key-0123456789abcdef",
            "KMS_LOAD_STARTER_CONTENT": "0",
            "KMS_SEARCH_FOLLOW_SECONDS": follow_seconds,
        }
    )


def follower(url: str, folder: str, ready: Path, stop: Path, out: Path) -> None:
    """Server B or C: build its index, follow the log, note when each article reached the index."""
    app = make(url, folder)
    seen: dict[str, float] = {}
    with app.app_context():
        index = app.extensions[EXTENSION]
        index.rebuild()
        engine = index.engine()
        real_apply = engine.apply

        def apply(changes):
            written = real_apply(changes)
            now = time.time()
            for doc_id, document in changes.items():
                if document is not None:
                    seen.setdefault(doc_id, now)
            return written

        engine.apply = apply
        index.start_following()  # the poller thread a `kms serve` worker runs
        ready.write_text("ready")
        while not stop.exists():
            time.sleep(0.05)
    out.write_text(json.dumps(seen))


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rates", default="1,20", help="edits per second, comma-separated")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--admin-url", default=ADMIN_URL)
    parser.add_argument("--follower", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.follower:
        url, folder, ready, stop = args.follower
        follower(url, folder, Path(ready), Path(stop), Path(folder) / "seen.json")
        return

    import psycopg

    admin = args.admin_url.replace("postgresql+psycopg://", "postgresql://")
    name = f"kms_log_bench_{secrets.token_hex(3)}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = f"{args.admin_url.rsplit('/', 1)[0]}/{name}"
    try:
        run(url, args)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def run(url: str, args) -> None:
    top = Path(tempfile.mkdtemp(prefix="kms-log-bench-"))
    app = make(url, str(top / "a"))
    with app.app_context():
        db.create_all()
        for position, category in enumerate(articles.DEFAULT_CATEGORIES, 1):
            db.session.add(Category(name=category, position=position))
        db.session.commit()
        author, _ = auth.create_user(
            "author@bench.test", "Author", Role.AUTHOR, actor=SYSTEM, password="bench-pw-1"
        )
        db.session.commit()
        author_id = author.id
        app.extensions[EXTENSION].rebuild()
    print(f"PostgreSQL {url.rsplit('@', 1)[-1]}; followers poll every 0.5 s (KMS_SEARCH_FOLLOW_SECONDS)")
    for rate in [float(r) for r in args.rates.split(",")]:
        measure(app, url, top / f"rate-{rate:g}", rate, args.seconds, author_id)


def measure(app, url: str, top: Path, rate: float, seconds: float, author_id: int) -> None:
    top.mkdir(parents=True)
    stop = top / "stop"
    followers = []
    for name in ("b", "c"):
        ready = top / f"{name}.ready"
        process = subprocess.Popen(
            [sys.executable, __file__, "--follower", url, str(top / name), str(ready), str(stop)],
        )
        followers.append((name, process, ready))
    deadline = time.monotonic() + 120
    while not all(ready.exists() for _, _, ready in followers) and time.monotonic() < deadline:
        time.sleep(0.1)
    committed: dict[str, float] = {}
    commit_at: dict[int, float] = {}  # thread -> time of its last commit

    def stamp(_session) -> None:
        commit_at[threading.get_ident()] = time.time()

    # Several writers (as several web requests at once), each saving at rate / WRITERS, so the rate holds
    # even when one save takes longer than 1 / rate on this machine.
    writers = max(1, min(WRITERS, int(rate)))
    start = time.monotonic()
    total = int(rate * seconds)

    def write(first: int) -> None:
        with app.app_context():
            author = db.session.get(User, author_id)
            for n in range(first, total, writers):
                pause = start + n / rate - time.monotonic()
                if pause > 0:
                    time.sleep(pause)
                # As a web request saves: A indexes it in its drain thread, the response does not wait.
                with app.test_request_context(), unit_of_work():
                    article = articles.create_article(
                        articles.ArticleFields(
                            title=f"Bench {rate:g} {n}", body=f"Lag sample {n}.", category="Billing"
                        ),
                        actor=author,
                    )
                committed[f"article:{article.id}"] = commit_at[threading.get_ident()]

    event.listen(db.session, "after_commit", stamp, insert=True)
    try:
        threads = [threading.Thread(target=write, args=(first,)) for first in range(writers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        achieved = len(committed) / (time.monotonic() - start)
    finally:
        event.remove(db.session, "after_commit", stamp)
    time.sleep(3)  # the last saves reach the followers
    stop.write_text("stop")
    for name, process, _ in followers:
        process.wait(timeout=60)
        seen = json.loads((top / name / "seen.json").read_text())
        lags = [seen[doc] - at for doc, at in committed.items() if doc in seen]
        missing = len(committed) - len(lags)
        print(
            f"rate {rate:g}/s (achieved {achieved:.1f}/s), {len(committed)} saves on A -> searchable on {name.upper()}: "
            f"p50 {percentile(lags, 0.5) * 1000:.0f} ms, p95 {percentile(lags, 0.95) * 1000:.0f} ms, "
            f"max {max(lags) * 1000:.0f} ms, mean {statistics.mean(lags) * 1000:.0f} ms; not reached: {missing}"
        )


if __name__ == "__main__":
    main()
