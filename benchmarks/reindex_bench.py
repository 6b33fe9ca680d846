"""`kms reindex` end to end on the handbook corpus stored as published articles, with searches running meanwhile.

Stores the real handbook scaled as benchmarks/search_bench.py scales it (x1, x10, x50) as published articles in a
fresh SQLite database, runs `kms reindex` once to create the index, then again while a thread searches every
50 ms, and prints documents/s, CPU seconds of the command and of its build workers, and what the searches got.

    .venv/bin/python benchmarks/reindex_bench.py --scale 10
"""

from __future__ import annotations

import argparse
import importlib
import resource
import sys
import tempfile
import threading
import time
from datetime import timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def _cpu(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def store_corpus(app, docs: list[dict]) -> None:
    """The documents as published articles (one revision each) of one author, in bulk."""
    from sqlalchemy import insert, select, update

    from kms.articles.models import Article, ArticleStatus, Category, Revision, RevisionState
    from kms.auth import services as auth_services
    from kms.auth.models import Role
    from kms.auth.system import SYSTEM
    from kms.extensions import db, utcnow

    with app.app_context():
        db.create_all()
        owner, _ = auth_services.create_user(
            "owner@example.test", "Owner", Role.AUTHOR, actor=SYSTEM, password="a-long-enough-password"
        )
        categories = sorted({doc["category"][:60] or "General" for doc in docs})
        db.session.add_all(Category(name=name, position=n) for n, name in enumerate(categories, 1))
        db.session.flush()
        now = utcnow()
        db.session.execute(
            insert(Article),
            [
                {
                    "slug": f"page-{n}",
                    "title": doc["title"][:200],
                    "category": doc["category"][:60] or "General",
                    "language": "en",
                    "status": ArticleStatus.PUBLISHED,
                    "body": doc["body"],
                    "version": 1,
                    "owner_id": owner.id,
                    "verify_interval_days": 90,
                    "verified_at": now,
                    "verify_due_at": now + timedelta(days=90),
                    "created_at": now,
                    "updated_at": now,
                }
                for n, doc in enumerate(docs)
            ],
        )
        ids = dict(db.session.execute(select(Article.slug, Article.id)).all())
        db.session.execute(
            insert(Revision),
            [
                {
                    "article_id": ids[f"page-{n}"],
                    "number": 1,
                    "title": doc["title"][:200],
                    "body": doc["body"],
                    "state": RevisionState.PUBLISHED,
                    "reason": "",
                    "created_at": now,
                }
                for n, doc in enumerate(docs)
            ],
        )
        revisions = dict(db.session.execute(select(Revision.article_id, Revision.id)).all())
        db.session.execute(
            update(Article), [{"id": a, "published_revision_id": r} for a, r in revisions.items()]
        )
        db.session.commit()


def search_meanwhile(app, stop: threading.Event, counts: dict) -> None:
    from kms.search import indexer

    with app.app_context():
        engine = app.extensions[indexer.EXTENSION].engine()
        while not stop.is_set():
            try:
                found = engine.search(
                    "customer onboarding", visibilities={"public", "members", "editors"}
                ).total
                counts["answered" if found else "empty"] += 1
            except Exception:  # noqa: BLE001 - counted: a search that fails during a rebuild is the finding
                counts["failed"] += 1
            time.sleep(0.05)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=int, default=10, help="copies of the handbook (default 10)")
    args = parser.parse_args(argv)
    from kms import create_app

    # Imported after kms itself: on its own, search_bench sets kms up as a bare namespace package.
    search_bench = importlib.import_module("benchmarks.search_bench")

    instance = tempfile.mkdtemp(prefix="kms-reindex-")
    app = create_app(
        {
            "SECRET_KEY": "benchmark-" * 4,
            "KMS_INSTANCE_PATH": instance,
            "KMS_DATABASE_URL": f"sqlite:///{instance}/kms.db",
            "KMS_LOAD_STARTER_CONTENT": "0",
        }
    )
    docs = search_bench.scaled_corpus(search_bench.load_handbook(search_bench.DEFAULT_CORPUS), [], args.scale)
    store_corpus(app, docs)
    runner = app.test_cli_runner()
    print(
        f"{len(docs):,} articles stored; first reindex: {runner.invoke(args=['reindex']).output.strip()}",
        flush=True,
    )
    stop, counts = threading.Event(), {"answered": 0, "empty": 0, "failed": 0}
    searcher = threading.Thread(target=search_meanwhile, args=(app, stop, counts), daemon=True)
    searcher.start()
    own, workers = _cpu(resource.RUSAGE_SELF), _cpu(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    output = runner.invoke(args=["reindex"]).output.strip()
    wall = time.perf_counter() - started
    stop.set()
    searcher.join()
    own, workers = _cpu(resource.RUSAGE_SELF) - own, _cpu(resource.RUSAGE_CHILDREN) - workers
    print(f"second reindex, searches running: {output}")
    print(
        f"{len(docs) / wall:.0f} docs/s; CPU: command {own:.1f} s (searches included), build workers "
        f"{workers:.1f} s = {len(docs) / workers * 2:.0f} docs/s if each of 2 workers had a core to itself"
    )
    print(
        f"searches during the rebuild: {counts['answered']} answered, {counts['empty']} found nothing, "
        f"{counts['failed']} failed"
    )
    return 1 if counts["failed"] or counts["empty"] else 0


if __name__ == "__main__":
    sys.exit(main())
