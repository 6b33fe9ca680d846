"""Metrics figures on SQLite and PostgreSQL. Prints figures; not a test.

    python benchmarks/metrics_bench.py --part import [--rows 1000000] [--reps 200] [--database sqlite|postgresql|URL]
    python benchmarks/metrics_bench.py --part dashboards [--reps 200] [--days 365] [--runs 20] [--database ...]

import: generated ticket rows in kms's CSV format are written to a temporary file, which goes through the real
path (`kms metrics import`'s service: streamed decoding, parsing, all-or-nothing import in one transaction,
RepDay upkeep). Then the first 100,000 rows are sent again (the idempotent path: nothing is counted twice).
Prints rows/s (wall, and per CPU-second of this process, which on SQLite is all the work), and the process's
resident memory at every tenth of the file and its peak (memory flat = RSS does not grow with the rows read).

PostgreSQL: a throwaway database is created on KMS_TEST_POSTGRES_URL's server (default 127.0.0.1) and dropped.
"""

from __future__ import annotations

import argparse
import contextvars
import io
import os
import random
import re
import resource
import secrets
import statistics
import sys
import tempfile
import time
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import event, func, insert, select  # noqa: E402

from kms import create_app  # noqa: E402
from kms.auth.models import Role, User  # noqa: E402
from kms.auth.system import SYSTEM  # noqa: E402
from kms.extensions import db, unit_of_work  # noqa: E402
from kms.metrics import services  # noqa: E402
from kms.metrics.buckets import BUCKET_COUNT, bucket_index, dump_hist  # noqa: E402
from kms.metrics.models import RepDay, Ticket  # noqa: E402
from kms.metrics.services.aggregate import rebuild_periods  # noqa: E402

BASE = 100_000  # ids of the dashboards part's users, clear of the import part's
PG_ADMIN_URL = os.environ.get("KMS_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
HEADER = "ticket_id,agent_email,solved_at,channel,csat,fcr,reopened,handle_minutes,nps,tags\n"
CHANNELS = ("email", "chat", "phone", "web")
START = datetime(2026, 1, 1, tzinfo=UTC)


def rss_mib() -> float:
    """The process's resident memory now, in MiB (Linux /proc)."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / (1024 * 1024)


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# --- databases ------------------------------------------------------------------------------------------


def open_database(which: str):
    """(url, cleanup) for a fresh database: a temporary SQLite file, a throwaway PostgreSQL database, or a URL."""
    if which == "sqlite":
        folder = tempfile.mkdtemp(prefix="kms-metrics-bench-")
        return f"sqlite:///{folder}/kms.db", lambda: None
    if which == "postgresql":
        import psycopg

        admin = PG_ADMIN_URL.replace("postgresql+psycopg://", "postgresql://")
        name = f"kms_bench_{os.getpid()}_{secrets.token_hex(3)}"
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')

        def drop():
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

        return f"{PG_ADMIN_URL.rsplit('/', 1)[0]}/{name}", drop
    return which, lambda: None


def make_app(url: str):
    app = create_app(
        {
            "KMS_DATABASE_URL": url,
            "KMS_INSTANCE_PATH": tempfile.mkdtemp(prefix="kms-metrics-instance-"),
            "KMS_LOAD_STARTER_CONTENT": "0",
        }
    )
    return app


def seed_reps(count: int) -> list[str]:
    """`count` reps (rows written directly: benchmark setup, not a use case); returns their e-mails."""
    emails = [f"rep{n:04d}@bench.kms.test" for n in range(count)]
    db.session.execute(
        insert(User),
        [
            {
                "email": e,
                "name": f"Rep {n:04d}",
                "role": Role.MEMBER,
                "team": f"team {n % 10}",
                "session_token": e,
            }
            for n, e in enumerate(emails)
        ],
    )
    db.session.commit()
    return emails


# --- generated input ------------------------------------------------------------------------------------


def row_text(n: int, emails: list[str]) -> str:
    """Ticket n: spread over reps and a year, every measure present in most rows, some empty cells."""
    when = START + timedelta(seconds=(n * 7919) % (365 * 86400))
    csat = ("good", "bad", "5", "4", "3", "")[n % 6]
    return (
        f"T{n},{emails[n % len(emails)]},{when:%Y-%m-%dT%H:%M:%SZ},{CHANNELS[n % 4]},{csat},"
        f"{'yes' if n % 5 else 'no'},{'' if n % 7 else 'yes'},{(n * 37) % 600 / 10},{n % 11 if n % 3 else ''},"
        f"{'angry refund' if n % 23 == 0 else 'billing'}\n"
    )


class GeneratedCsv(io.RawIOBase):
    """A kms CSV of `rows` tickets made up as it is read (the whole file never exists)."""

    def __init__(self, rows: int, emails: list[str], first: int = 0):
        self.next, self.end, self.emails = first, first + rows, emails
        self.pending = HEADER.encode()

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        while len(self.pending) < len(buffer) and self.next < self.end:
            stop = min(self.next + 500, self.end)
            self.pending += "".join(row_text(n, self.emails) for n in range(self.next, stop)).encode()
            self.next = stop
        size = min(len(buffer), len(self.pending))
        buffer[:size], self.pending = self.pending[:size], self.pending[size:]
        return size


# --- parts ----------------------------------------------------------------------------------------------


def write_csv(path: Path, rows: int, emails: list[str]) -> None:
    """The generated rows as a real file (the import then reads it as `kms metrics import FILE` does)."""
    with path.open("wb") as out:
        source = GeneratedCsv(rows, emails)
        while chunk := source.read(1024 * 1024):
            out.write(chunk)


def import_file(path: Path, label: str, what: str) -> None:
    """Import the file through the CLI's service, printing time, rows/s and memory at each tenth of it."""
    size = path.stat().st_size
    checkpoints: list[tuple[int, float]] = []

    def progress(_stage: str, done: int, total: int) -> None:
        if done * 10 >= (len(checkpoints) + 1) * total:
            checkpoints.append((round(done * 100 / total), rss_mib()))

    rss_before = rss_mib()
    tickets_before = db.session.scalar(select(func.count()).select_from(Ticket))
    started, cpu = time.perf_counter(), time.process_time()
    with path.open("rb") as raw, unit_of_work():
        report = services.import_csv(
            raw,
            services.PRESETS["kms"],
            actor=SYSTEM,
            max_bytes=size + 1,
            time_zone="UTC",
            progress=progress,
            total=size,
        )
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    tickets = db.session.scalar(select(func.count()).select_from(Ticket))
    days = db.session.scalar(select(func.count()).select_from(RepDay))
    rows = report.rows
    print(f"[{label}] {what}: {report.summary()}")
    print(
        f"[{label}] {what}: {elapsed:.1f} s wall, {rows / elapsed:,.0f} rows/s; this process's CPU {cpu:.1f} s, "
        f"{rows / cpu:,.0f} rows per CPU-second; {tickets:,} tickets, {days:,} rep-days"
    )
    print(
        f"[{label}] {what} memory: RSS {rss_before:.0f} MiB before, "
        + ", ".join(f"{pct}%: {mib:.0f}" for pct, mib in checkpoints)
        + f" MiB; peak RSS of the process so far {peak_rss_mib():.0f} MiB"
    )
    if what.startswith("re-sent"):
        assert tickets == tickets_before, "a re-sent row was counted twice"


def bench_import(args, label: str) -> None:
    emails = seed_reps(args.reps)
    folder = Path(tempfile.mkdtemp(prefix="kms-metrics-csv-"))
    path, again = folder / "tickets.csv", folder / "again.csv"
    started = time.perf_counter()
    write_csv(path, args.rows, emails)
    write_csv(again, min(args.rows, 100_000), emails)
    print(
        f"[{label}] wrote {args.rows:,} generated rows for {args.reps} reps ({path.stat().st_size / 2**20:,.0f} "
        f"MiB) in {time.perf_counter() - started:.1f} s; importing ...",
        flush=True,
    )
    try:
        import_file(path, label, "import")
        import_file(again, label, f"re-sent first {min(args.rows, 100_000):,} rows")
    finally:
        path.unlink(missing_ok=True)
        again.unlink(missing_ok=True)


TEAM_SIZE = 20


def build_rep_days(reps: int, days: int, today: date, first_id: int) -> int:
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
    # The weeks and months an import would have kept in step with these days.
    rebuild_periods(range(first_id, first_id + reps))
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


def fetch(client, url: str):
    """GET in a context of its own, as under a server: its own app context and database session, not this
    script's (whose app context is open around the parts)."""
    return contextvars.Context().run(client.get, url)


def cold(client, url: str) -> float:
    """The first timed request of a page (nothing of it is cached in this process but SQL statement text)."""
    started = time.perf_counter()
    assert fetch(client, url).status_code == 200
    return (time.perf_counter() - started) * 1000


def measure(client, url: str, runs: int) -> list[float]:
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        response = fetch(client, url)
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


def pages(today: date, rep: int) -> list[tuple[str, str]]:
    """(label, URL) of every page timed: one rep, the rep's team of 20, the company, the ranking API."""
    year_ago = (today - timedelta(days=364)).isoformat()
    team = f"T{rep // TEAM_SIZE:02d}"
    return [
        ("rep, 12 weeks (GET /metrics/reps/ID)", f"/metrics/reps/{rep}"),
        ("rep, 12 months by month", f"/metrics/reps/{rep}?period=month&from={year_ago}"),
        ("team of 20, 12 weeks + ranking, suggestions (/metrics/team)", f"/metrics/team?team={team}"),
        ("team of 20, 12 months by month", f"/metrics/team?team={team}&period=month&from={year_ago}"),
        ("company, 12 weeks by week (/metrics/company)", "/metrics/company"),
        ("company, 12 months by month", f"/metrics/company?period=month&from={year_ago}"),
        ("API ranking, CSAT, one team (/api/metrics/reps)", f"/api/metrics/reps?metric=csat&team={team}"),
        ("API ranking, handle minutes, one team", f"/api/metrics/reps?metric=handle_minutes&team={team}"),
    ]


def statements_per_page(client, engine, today: date, rep: int) -> dict[str, int]:
    counts = {}
    for label, url in pages(today, rep):
        fetch(client, url)  # warm up: the first request of a process loads more (templates, caches)
        with counting(engine) as seen:
            assert fetch(client, url).status_code == 200, url
        counts[label] = len(seen)
    return counts


def bench_dashboards(args, label: str) -> None:
    """Dashboards and the ranking API over `--reps` reps x `--days` days of RepDay rows (bulk-inserted, teams of
    20, with their weeks and months rebuilt as an import keeps them): median and p95 per page with its SQL
    statement count, the count at 2 reps x 30 days beside it, and the first request of each page. Run it alone (`--part dashboards`): after the import
    part the database also holds that part's rows."""
    from flask import current_app

    app = current_app._get_current_object()
    app.config.update(WTF_CSRF_ENABLED=False, RATELIMIT_ENABLED=False)
    today = date.today()
    db.session.execute(
        insert(User),
        [
            {
                "id": BASE,
                "email": "admin@dash.bench.test",
                "name": "Admin",
                "role": Role.ADMIN,
                "team": "T",
                "time_zone": "UTC",
                "active": True,
                "session_token": "t0",
            }
        ],
    )
    db.session.commit()
    build_rep_days(2, 30, today, first_id=BASE + 10)  # for the statement count at a small size
    engine = db.engine
    client = app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = f"{BASE}:t0"
        session["_fresh"] = True
    small = statements_per_page(client, engine, today, BASE + 10)
    started = time.perf_counter()
    rows = build_rep_days(args.reps, args.days, today, first_id=BASE + 100)
    print(
        f"[{label}] dashboards: {args.reps} reps x {args.days} days = {rows} RepDay rows "
        f"(+60 for the small-size count), built in {time.perf_counter() - started:.1f} s"
    )
    large = statements_per_page(client, engine, today, BASE + 10)
    for title, url in pages(today, BASE + 100):
        first = cold(client, url)
        report(title, measure(client, url, args.runs), large[title])
        print(f"{'':<58} first request: {first:7.1f} ms")
    same = all(small[k] == large[k] for k in small)
    print(f"[{label}] statement counts equal at 2 reps x 30 days and at full size: {same}")
    if not same:
        for k in small:
            print(f"  {k}: {small[k]} vs {large[k]}")


PARTS = {"import": bench_import, "dashboards": bench_dashboards}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--part", choices=[*PARTS, "all"], default="all")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--reps", type=int, default=200)
    parser.add_argument("--days", type=int, default=365, help="dashboards: days of RepDay rows per rep")
    parser.add_argument("--runs", type=int, default=20, help="dashboards: requests timed per page")
    parser.add_argument(
        "--database", action="append", help="sqlite, postgresql or a URL; repeat for several (default: both)"
    )
    args = parser.parse_args()
    for which in args.database or ["sqlite", "postgresql"]:
        url, cleanup = open_database(which)
        label = url.split("://")[0].split("+")[0]
        try:
            app = make_app(url)
            with app.app_context():
                db.create_all()
                for name, part in PARTS.items():
                    if args.part in (name, "all"):
                        part(args, label)
                db.session.remove()
                db.engine.dispose()
        finally:
            cleanup()


if __name__ == "__main__":
    main()
