"""Read models for the two busiest pages: the handbook home and an article page, in a fixed number of queries."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case, func, select

from kms.articles.models import Article, Flag, Process, Revision, RevisionState
from kms.articles.services.coverage import (Chart, Coverage, coverage, document_next, my_queue, stale_articles,
                                            stale_count, trend, trend_chart)
from kms.articles.services.editing import can_edit, reader_text, recently_updated, resolve_slug
from kms.articles.services.history import REVIEWER_ROLES, pending_count
from kms.articles.services.quality import flags_for_owner, open_flags, verification_label
from kms.extensions import db, utcnow


@dataclass
class HomeSummary:
    coverage: Coverage
    chart: Chart | None
    next_up: list[Process]
    my_queue: list[Process]
    stale_count: int
    stale: list[Article]
    recent: list[Article]
    my_flags: list[Flag]
    pending_reviews: int
    today: object


def home_summary(*, viewer, target: int = 80, now: datetime | None = None) -> HomeSummary:
    """Everything the handbook home shows. The query count does not grow with the number of processes."""
    now = now or utcnow()
    numbers = coverage(target)
    editor = can_edit(viewer)
    return HomeSummary(
        coverage=numbers,
        chart=trend_chart(trend(days=60, today=now.date(), current=numbers), target),
        next_up=document_next(limit=10),
        my_queue=my_queue(viewer.id, limit=15) if editor else [],
        stale_count=stale_count(now),
        stale=stale_articles(now, limit=5),
        recent=recently_updated(viewer=viewer, limit=8),
        my_flags=flags_for_owner(viewer, limit=10) if editor else [],
        pending_reviews=pending_count() if viewer.role in REVIEWER_ROLES else 0,
        today=now.date())


@dataclass
class ArticlePage:
    article: Article
    title: str
    body: str
    flags: list[Flag]
    verification_due: bool
    verification_text: str
    revision_count: int
    has_pending: bool


def article_page(slug: str, *, viewer, now: datetime | None = None) -> tuple[ArticlePage | None, str | None]:
    """(page, None), or (None, new slug) when the address was renamed. Fixed number of queries."""
    article, moved_to = resolve_slug(slug, viewer=viewer)
    if article is None:
        return None, moved_to
    title, body = reader_text(article)
    due, text = verification_label(article, now)
    count, pending = db.session.execute(
        select(func.count(Revision.id), func.sum(case((Revision.state == RevisionState.PENDING, 1), else_=0)))
        .where(Revision.article_id == article.id)).one()
    return ArticlePage(article=article, title=title, body=body, flags=open_flags(article.id),
                       verification_due=due, verification_text=text, revision_count=count or 0,
                       has_pending=bool(pending)), None

