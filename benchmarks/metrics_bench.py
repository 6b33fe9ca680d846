"""Metrics benchmarks. `--part dashboards`: the dashboards and ranking API over 200 reps x 365 days of RepDay
rows; prints median and p95 per page and the SQL statement count at a small and at the full size.

    python benchmarks/metrics_bench.py --part dashboards [--reps 200] [--days 365] [--runs 20] [--database URL]

RepDay rows are bulk-inserted (as an import would have left them), 20 reps a team. Pages are fetched through
the app with a logged-in admin (the team pages of a manager cost the same: the team filter is one subquery).
The import part (1,000,000 ticket rows) belongs to the metrics-in side: `--part import`.
"""

from __future__ import annotations

import argparse
import random
import re
import statistics
import sys
import tempfile
import time
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import event, insert  # noqa: E402

from kms import create_app  # noqa: E402
from kms.auth.models import Role, User  # noqa: E402
from kms.extensions import db  # noqa: E402
from kms.metrics.buckets import BUCKET_COUNT, bucket_index, dump_hist  # noqa: E402
from kms.metrics.models import RepDay  # noqa: E402

TEAM_SIZE = 20


def build_rep_days(reps: int, days: int, today: date, first_id: int = 10) -> int:
    """`reps` reps in teams of TEAM_SIZE, each with `days` days of figures ending today; returns rows added."""
    rng = random.Random(18)
    db.session.execute(
        insert(User),
        [
            {
                "id": first_id + n,
                "email": f"rep{first_id + n}@bench.test",
                "name": f"Rep {first_id + n:04d}",
                "role": Role.MEMBER,
                "team": f"T{(first_id + n) // TEAM_SIZE:02d}",
                "time_zone": "UTC",
                "active": True,
                "session_token": f"s{first_id + n}",
            }
            for n in range(reps)
        ],
    )
    rows = []
    for n in range(reps):
        skill = rng.uniform(0.8, 0.97)
        for back in range(days):
            tickets = rng.randint(5, 20)
            hist = [0] * BUCKET_COUNT
            handle = 0.0
            for _ in range(tickets):
                minutes = rng.lognormvariate(2.4, 0.5)
                hist[bucket_index(minutes)] += 1
                handle += minutes
            rated = rng.randint(0, tickets)
            known = rng.randint(tickets // 2, tickets)
            answers = rng.randint(0, 3)
            promoters = rng.randint(0, answers)
            rows.append(
                {
                    "user_id": first_id + n,
                    "day": today - timedelta(days=back),
                    "tickets": tickets,
                    "csat_rated": rated,
                    "csat_good": round(rated * skill),
                    "fcr_known": known,
                    "fcr_yes": round(known * skill * 0.9),
                    "reopened_known": known,
                    "reopened_yes": round(known * (1 - skill) / 2),
                    "handle_count": tickets,
                    "handle_sum": handle,
                    "handle_hist": dump_hist(hist),
                    "nps_count": answers,
                    "nps_promoters": promoters,
                    "nps_detractors": answers - promoters,
                    "angry": rng.randint(0, 1),
                }
            )
        if len(rows) >= 20_000:
            db.session.execute(insert(RepDay), rows)
            rows.clear()
    if rows:
        db.session.execute(insert(RepDay), rows)
    db.session.commit()
    return reps * days


@contextmanager
def counting(engine):
    statements: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        if not re.match(r"\s*(BEGIN|COMMIT|ROLLBACK|SAVEPOINT|RELEASE|PRAGMA)", statement, re.I):
            statements.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", count)


def cold(client, url: str) -> float:
    """One request with the histogram cache emptied first (what the first visitor after a restart waits)."""
    from kms.metrics.services import totals

    totals._HIST.clear()
    started = time.perf_counter()
    assert client.get(url).status_code == 200
    return (time.perf_counter() - started) * 1000


def measure(client, url: str, runs: int) -> list[float]:
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        response = client.get(url)
        timings.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (url, response.status_code)
    return timings


def report(label: str, timings: list[float], statements: int) -> None:
    ordered = sorted(timings)
    p95 = ordered[max(0, round(len(ordered) * 0.95) - 1)]
    print(
        f"{label:<58} median {statistics.median(ordered):7.1f} ms   p95 {p95:7.1f} ms   "
        f"{statements:3d} statements   (n={len(ordered)})"
    )


def pages(today: date) -> list[tuple[str, str]]:
    year_ago = (today - timedelta(days=364)).isoformat()
    return [
        ("rep, 12 weeks (GET /metrics/reps/10)", "/metrics/reps/10"),
        ("rep, 12 months by month", f"/metrics/reps/10?period=month&from={year_ago}"),
        ("team of 20, 12 weeks + ranking, suggestions (/metrics/team)", "/metrics/team?team=T00"),
        ("team of 20, 12 months by month", f"/metrics/team?team=T00&period=month&from={year_ago}"),
        ("company, 12 weeks by week (/metrics/company)", "/metrics/company"),
        ("company, 12 months by month", f"/metrics/company?period=month&from={year_ago}"),
        ("API ranking, CSAT, one team (/api/metrics/reps)", "/api/metrics/reps?metric=csat&team=T00"),
        ("API ranking, handle minutes, one team", "/api/metrics/reps?metric=handle_minutes&team=T00"),
    ]


def statements_per_page(client, engine, today: date) -> dict[str, int]:
    counts = {}
    for label, url in pages(today):
        client.get(url)  # warm up: the first request of a process loads more (templates, caches)
        with counting(engine) as seen:
            assert client.get(url).status_code == 200
        counts[label] = len(seen)
    return counts


def dashboards(args) -> None:
    folder = tempfile.mkdtemp(prefix="kms-bench-")
    app = create_app(
        {
            "KMS_INSTANCE_PATH": folder,
            "SECRET_KEY": "bench-" * 8,
            "KMS_DATABASE_URL": args.database,
            "WTF_CSRF_ENABLED": False,
            "RATELIMIT_ENABLED": False,
            "KMS_LOAD_STARTER_CONTENT": "0",
        }
    )
    today = date.today()
    with app.app_context():
        db.create_all()
        db.session.execute(
            insert(User),
            [
                {
                    "id": 1,
                    "email": "admin@bench.test",
                    "name": "Admin",
                    "role": Role.ADMIN,
                    "team": "T00",
                    "time_zone": "UTC",
                    "active": True,
                    "session_token": "t0",
                }
            ],
        )
        db.session.commit()
        build_rep_days(2, 30, today)  # for the statement count at a small size
        engine = db.engine
    # Requests run outside this script's app context, each in its own (as under a server): no shared session.
    client = app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = "1:t0"
        session["_fresh"] = True
    small = statements_per_page(client, engine, today)
    with app.app_context():
        started = time.perf_counter()
        rows = build_rep_days(args.reps, args.days, today, first_id=100)
        print(
            f"database: {db.engine.url.get_backend_name()}; {args.reps} reps x {args.days} days = {rows} RepDay "
            f"rows (+60 for the small-size count), built in {time.perf_counter() - started:.1f} s"
        )
    large = statements_per_page(client, engine, today)
    for label, url in pages(today):
        url = url.replace("/metrics/reps/10", "/metrics/reps/100").replace("team=T00", "team=T05")
        first = cold(client, url)
        report(label, measure(client, url, args.runs), large[label])
        print(f"{'':<58} first request with no cached histograms: {first:7.1f} ms")
    same = all(small[k] == large[k] for k in small)
    print(f"statement counts equal at 2 reps x 30 days and at full size: {same}")
    if not same:
        for k in small:
            print(f"  {k}: {small[k]} vs {large[k]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=["dashboards"], default="dashboards")
    parser.add_argument("--reps", type=int, default=200)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument(
        "--database", default="", help="SQLAlchemy URL of an EMPTY database (default: SQLite)"
    )
    args = parser.parse_args()
    if args.part == "dashboards":
        dashboards(args)


if __name__ == "__main__":
    main()
