"""Demo data for the handbook: owners for the demo authors, a flag, a stale article and a coverage trend."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from kms.articles.models import (
    Article,
    ArticleStatus,
    Category,
    CoverageSnapshot,
    Flag,
    Process,
    ProcessStatus,
)
from kms.articles.services import _common as common
from kms.articles.services.coverage import coverage, record_snapshot
from kms.articles.services.editing import set_interval
from kms.extensions import db, utcnow

FALLBACK_PROCESSES = [
    ("Refund request", "Billing", 40),
    ("Customer threatens to churn", "Renewals and churn", 12),
    ("Triaging a new ticket", "Support tickets", 400),
    ("Executive escalation", "Escalations", 3),
]


def seed_demo(team) -> None:
    """Give the demo authors processes and articles, add a pending flag, a stale article and 14 days of trend.

    Works on the starter handbook when it was imported, and on an empty handbook (adds a few processes).
    """
    now = utcnow()
    for position, name in enumerate(common.DEFAULT_CATEGORIES, 1):
        if db.session.get(Category, name) is None:
            db.session.add(Category(name=name, position=position))
    db.session.flush()
    if db.session.scalar(select(Process.id).limit(1)) is None:
        for name, category, frequency in FALLBACK_PROCESSES:
            db.session.add(
                Process(
                    name=name,
                    category=category,
                    frequency=frequency,
                    status=ProcessStatus.UNDOCUMENTED,
                    created_at=now,
                    updated_at=now,
                )
            )
        db.session.flush()
    authors = team.authors
    processes = list(db.session.scalars(select(Process).order_by(Process.frequency.desc(), Process.name)))
    for index, process in enumerate(processes):
        process.owner_id = authors[index % len(authors)].id
        if process.article is not None:
            process.article.owner_id = process.owner_id
        elif index % 3 == 0:
            process.target_date = (now - timedelta(days=7)).date()  # overdue, to show the highlight
        else:
            process.target_date = (now + timedelta(days=14 + index)).date()
    articles = list(
        db.session.scalars(
            select(Article).where(Article.status == ArticleStatus.PUBLISHED).order_by(Article.slug)
        )
    )
    for index, article in enumerate(articles):
        article.verified_by_id = authors[index % len(authors)].id
        article.verified_at = now - timedelta(days=5 + index)
        set_interval(article, article.verify_interval_days)
    if articles:
        stale = articles[0]
        stale.verified_at = now - timedelta(days=stale.verify_interval_days + 12)
        set_interval(stale, stale.verify_interval_days)
        # The dunning article's timeline picture is the starter content's; the billing tool moved a day.
        flagged = next((a for a in articles if a.slug == "failed-payment-and-dunning"), articles[-1])
        db.session.add(
            Flag(
                article_id=flagged.id,
                user_id=team.new_hires[0].id,
                created_at=now,
                comment="The timeline picture says the workspace goes read-only on day 21, but "
                "the billing settings show day 28 now.",
            )
        )
    db.session.flush()
    today = coverage().overall
    for days_ago in range(14, 0, -1):
        # A made-up but plausible climb toward today's numbers, so the trend chart has a shape.
        share = 1 - days_ago / 20
        day = (now - timedelta(days=days_ago)).date()
        if db.session.get(CoverageSnapshot, day) is None:
            db.session.add(
                CoverageSnapshot(
                    day=day,
                    documented=int(today.documented * share),
                    total=today.total,
                    weighted_documented=int(today.weighted_documented * share),
                    weighted_total=today.weighted_total,
                )
            )
    record_snapshot()
    db.session.flush()
