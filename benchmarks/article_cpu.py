"""CPU time per request of the article page against the bare route, in one process (Flask's test client).

    .venv/bin/python benchmarks/article_cpu.py [--requests 300] [--rounds 5] [--database postgresql]

A freshly `kms init`-ed instance with the starter content, a logged-in member; the article page and /healthz
are requested in alternating rounds and the process's CPU seconds counted for each. On PostgreSQL the database
server's own CPU is printed beside it (its processes on this machine, read from /proc; the server must be the
local one, as the benchmark's 127.0.0.1:5432 is). On a machine shared with other work this
is steadier than requests a second: CPU time moves little with the load. "share" is bare CPU / article CPU,
the share of the bare route's rate the article page would reach if the server's CPU were all that counted.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.load import PASSWORD, Postgres, Server, create_users  # noqa: E402


def postgres_cpu() -> float:
    """CPU seconds used so far by this machine's PostgreSQL processes (0 where /proc cannot tell)."""
    tick, total = os.sysconf("SC_CLK_TCK"), 0.0
    for pid in filter(str.isdigit, os.listdir("/proc") if os.path.isdir("/proc") else []):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
                if not cmdline.read().startswith(b"postgres"):
                    continue
            with open(f"/proc/{pid}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue  # ended meanwhile, or not ours to read
        total += (int(fields[11]) + int(fields[12])) / tick
    return total


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=300, help="requests of each page per round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    args = parser.parse_args(argv)

    from sqlalchemy import event, select

    from kms import create_app
    from kms.articles.models import Article, ArticleStatus
    from kms.extensions import db

    postgres = Postgres() if args.database == "postgresql" else None
    server = Server(Path(tempfile.mkdtemp(prefix="kms-cpu-")), postgres.url if postgres else "", 1)
    try:
        server.init()
        people = create_users(server, 2)
        email = next(person[0] for person in people if person[1] == "member")
        app = create_app(server.kms_settings())
        with app.app_context():
            slug = db.session.scalar(
                select(Article.slug)
                .where(Article.status == ArticleStatus.PUBLISHED)
                .order_by(Article.id)
                .limit(1)
            )
            db.session.remove()
        client = app.test_client()
        client.environ_base["wsgi.url_scheme"] = "https"  # production cookies are Secure
        login_page = client.get("/login").get_data(as_text=True)
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', login_page).group(1)
        response = client.post("/login", data={"email": email, "password": PASSWORD, "csrf_token": token})
        assert response.status_code == 302, response.status_code
        article = f"/handbook/articles/{slug}"
        statements = []
        with app.app_context():
            event.listen(db.engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
        for url in (article, "/healthz"):
            assert client.get(url).status_code == 200
        statements.clear()
        client.get(article)
        per_page = len([s for s in statements if not s.startswith(("BEGIN", "COMMIT", "ROLLBACK"))])
        cpu = {article: 0.0, "/healthz": 0.0}
        database_cpu = dict.fromkeys(cpu, 0.0)
        for _ in range(args.rounds):
            for url in cpu:
                started, database_started = time.process_time(), postgres_cpu() if postgres else 0.0
                for _ in range(args.requests):
                    client.get(url)
                cpu[url] += time.process_time() - started
                if postgres:
                    database_cpu[url] += postgres_cpu() - database_started
        count = args.rounds * args.requests
        page_ms, bare_ms = (1000 * cpu[article] / count, 1000 * cpu["/healthz"] / count)
        print(f"database: {args.database}; article page {article}; {count} requests of each")
        print(f"statements per article page: {per_page}")
        print(f"CPU ms per request: article page {page_ms:.3f}, /healthz {bare_ms:.3f}")
        print(f"share (bare CPU / article CPU): {100 * bare_ms / page_ms:.0f}%")
        if postgres:
            print(
                f"PostgreSQL's CPU ms per request: article page {1000 * database_cpu[article] / count:.3f}, "
                f"/healthz {1000 * database_cpu['/healthz'] / count:.3f}"
            )
    finally:
        if postgres:
            postgres.drop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
