"""CPU time per request of the article page against the bare route, in one process (Flask's test client).

    .venv/bin/python benchmarks/article_cpu.py [--requests 300] [--rounds 5] [--database postgresql]

A freshly `kms init`-ed instance with the starter content, a logged-in member; the article page and /healthz
are requested in alternating rounds and the process's CPU seconds counted for each (the database server's
own CPU, on PostgreSQL, is not in it: see the statements column). On a machine shared with other work this
is steadier than requests a second: CPU time moves little with the load. "share" is bare CPU / article CPU,
the share of the bare route's rate the article page would reach if the server's CPU were all that counted.
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.load import PASSWORD, Postgres, Server, create_users  # noqa: E402


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
        for _ in range(args.rounds):
            for url in cpu:
                started = time.process_time()
                for _ in range(args.requests):
                    client.get(url)
                cpu[url] += time.process_time() - started
        count = args.rounds * args.requests
        page_ms, bare_ms = (1000 * cpu[article] / count, 1000 * cpu["/healthz"] / count)
        print(f"database: {args.database}; article page {article}; {count} requests of each")
        print(f"statements per article page: {per_page}")
        print(f"CPU ms per request: article page {page_ms:.3f}, /healthz {bare_ms:.3f}")
        print(f"share (bare CPU / article CPU): {100 * bare_ms / page_ms:.0f}%")
    finally:
        if postgres:
            postgres.drop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
