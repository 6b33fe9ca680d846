"""Bulk handbook data for query-count tests and benchmarks: N processes, about two thirds documented."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import insert, select, update

from kms.articles.models import (
    Article,
    ArticleStatus,
    ArticleTag,
    Category,
    Process,
    ProcessStatus,
    Revision,
    RevisionState,
    process_name_key,
)
from kms.extensions import db, utcnow

CATEGORIES = (
    "Onboarding",
    "Support tickets",
    "Escalations",
    "Renewals and churn",
    "Billing",
    "Feedback and metrics",
    "Internal ops",
)
BODY = """Short intro paragraph for process {n}.

## When this applies

- A customer asks about thing {n}.
- A colleague hands it over.

## Steps

1. **Check** the account.
2. **Decide** within the limits in the table.
3. **Reply** with the outcome.

| Case | Rule |
| --- | --- |
| Small | Agent decides |
| Large | Team lead |

See [[Process 1]] for the related case.
"""


def load(count: int, owner_ids: list[int]) -> None:
    """Insert `count` processes; two in three get a published article with one revision and two tags."""
    now = utcnow()
    for position, name in enumerate(CATEGORIES, 1):
        if db.session.get(Category, name) is None:
            db.session.add(Category(name=name, position=position))
    db.session.flush()
    db.session.execute(
        insert(Process),
        [
            {
                "name": f"Process {n}",
                "name_key": process_name_key(f"Process {n}"),
                "category": CATEGORIES[n % len(CATEGORIES)],
                "frequency": (n * 37) % 400,
                "owner_id": owner_ids[n % len(owner_ids)] if owner_ids else None,
                "notes": "",
                "target_date": (now + timedelta(days=(n % 60) - 20)).date(),
                "status": ProcessStatus.DOCUMENTED if n % 3 else ProcessStatus.UNDOCUMENTED,
                "created_at": now,
                "updated_at": now,
            }
            for n in range(1, count + 1)
        ],
    )
    ids = dict(db.session.execute(select(Process.name, Process.id)).all())
    documented = [n for n in range(1, count + 1) if n % 3]
    db.session.execute(
        insert(Article),
        [
            {
                "process_id": ids[f"Process {n}"],
                "slug": f"process-{n}",
                "title": f"Process {n}",
                "category": CATEGORIES[n % len(CATEGORIES)],
                "language": "en",
                "status": ArticleStatus.PUBLISHED,
                "body": BODY.format(n=n),
                "version": 1,
                "owner_id": owner_ids[n % len(owner_ids)] if owner_ids else None,
                "verify_interval_days": 90,
                "verified_at": now - timedelta(days=n % 120),
                "verify_due_at": now - timedelta(days=n % 120) + timedelta(days=90),
                "verified_by_id": owner_ids[0] if owner_ids else None,
                "created_at": now,
                "updated_at": now - timedelta(minutes=n),
            }
            for n in documented
        ],
    )
    articles = dict(db.session.execute(select(Article.slug, Article.id)).all())
    db.session.execute(
        insert(Revision),
        [
            {
                "article_id": articles[f"process-{n}"],
                "number": 1,
                "title": f"Process {n}",
                "body": BODY.format(n=n),
                "state": RevisionState.PUBLISHED,
                "reason": "",
                "created_at": now,
            }
            for n in documented
        ],
    )
    db.session.execute(
        insert(ArticleTag),
        [
            {"article_id": articles[f"process-{n}"], "tag": tag}
            for n in documented
            for tag in ("bulk", f"t{n % 9}")
        ],
    )
    revisions = dict(db.session.execute(select(Revision.article_id, Revision.id)).all())
    db.session.execute(
        update(Article),
        [
            {"id": article_id, "published_revision_id": revisions[article_id]}
            for article_id in articles.values()
        ],
    )
    db.session.commit()
