"""Read models for the two busiest pages: the handbook home and an article page, in a fixed number of queries."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, case, func, select
from sqlalchemy.sql.util import find_tables

from kms.articles.models import (
    Article,
    ArticleStatus,
    ArticleTag,
    Flag,
    Process,
    Revision,
    RevisionState,
    review_due_at,
)
from kms.articles.services.coverage import (
    Chart,
    Coverage,
    coverage,
    document_next,
    my_queue,
    stale_articles,
    stale_count,
    trend,
    trend_chart,
)
from kms.articles.services.editing import can_edit, recently_updated, resolve_slug, visible_to
from kms.articles.services.history import REVIEWER_ROLES, pending_count
from kms.articles.services.quality import flags_for_owner, open_flags, verification_label
from kms.articles.services.substance import MIN_OWN_WORDS, is_stub
from kms.auth.models import User
from kms.errors import NotFound
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
        today=now.date(),
    )


@dataclass(frozen=True, slots=True)
class Person:
    name: str
    email: str
    id: int | None = None
    active: bool = True  # False: a deactivated account, e.g. an owner a site move brought in, to invite


@dataclass(frozen=True, slots=True)
class ProcessRef:
    name: str
    frequency: int


@dataclass(frozen=True, slots=True)
class ArticleView:
    """What the article page and its API show of an article: plain values, read in one statement."""

    id: int
    slug: str
    title: str
    category: str
    language: str
    status: ArticleStatus
    version: int
    owner_id: int | None
    owner: Person | None
    verified_by: Person | None
    process: ProcessRef | None
    published_revision_id: int | None
    verify_interval_days: int
    verified_at: datetime | None
    updated_at: datetime | None
    tags: list[str]

    def is_stale(self, now: datetime) -> bool:
        due = review_due_at(self.verified_at, self.verify_interval_days)
        return due is None or due <= now


@dataclass
class ArticlePage:
    article: ArticleView
    title: str
    body: str
    flags: list[Flag]
    verification_due: bool
    verification_text: str
    revision_count: int
    has_pending: bool
    own_words: int | None = None  # of the text readers see; below MIN_OWN_WORDS a published article is a stub
    # The revision holding the text shown (None when the text is no revision's, e.g. an old draft), and the
    # HTML stored with it, valid while html_version is kms.articles.rendering.RENDERER_VERSION.
    revision_id: int | None = None
    html: str | None = None
    toc: str | None = None
    html_version: str | None = None

    @property
    def stub(self) -> bool:
        return self.article.status == ArticleStatus.PUBLISHED and is_stub(self.own_words)

    @property
    def words_needed(self) -> int:
        return max(0, MIN_OWN_WORDS - (self.own_words or 0))


@functools.cache
def _article_page_statement():
    """The article, its owner, verifier, process, reader text and its stored HTML, tags and counts: one row
    for one slug. The text shown is the published revision's, else (a draft) the newest revision's when it
    holds the article's text.

    Plain columns, no ORM objects: the page is the busiest one a reader opens, and building six mapped
    objects per view cost more than the rest of the request (benchmarks/load.py measures the page).
    """
    articles, tags = Article.__table__, ArticleTag.__table__
    revisions, flags = Revision.__table__, Flag.__table__
    owner, verifier = User.__table__.alias("owner"), User.__table__.alias("verifier")
    published, newest, process = (
        Revision.__table__.alias("published"),
        Revision.__table__.alias("newest"),
        Process.__table__,
    )
    shows_published = (articles.c.status == ArticleStatus.PUBLISHED) & published.c.id.is_not(None)
    # A draft shows the article's own text, normally its newest revision's: joined on the article's id (an
    # index lookup; a join on a computed id made PostgreSQL scan every revision) and only for drafts.
    newest_number = (
        select(func.max(revisions.c.number)).where(revisions.c.article_id == articles.c.id).scalar_subquery()
    )
    joins_newest = (
        (newest.c.article_id == articles.c.id)
        & ~((articles.c.status == ArticleStatus.PUBLISHED) & articles.c.published_revision_id.is_not(None))
        & (newest.c.number == newest_number)
    )

    def shown(column: str):
        return case((shows_published, published.c[column]), else_=newest.c[column])

    # When a draft's newest revision does not hold the article's text, the page renders the text itself.
    holds_text = case((shows_published, True), else_=newest.c.body == articles.c.body)

    def count(table, *conditions):
        return select(func.count()).where(table.c.article_id == articles.c.id, *conditions).scalar_subquery()

    return (
        select(
            articles.c.id,
            articles.c.slug,
            articles.c.title,
            articles.c.category,
            articles.c.language,
            articles.c.status,
            articles.c.version,
            articles.c.owner_id,
            articles.c.published_revision_id,
            articles.c.verify_interval_days,
            articles.c.verified_at,
            articles.c.updated_at,
            owner.c.name.label("owner_name"),
            owner.c.email.label("owner_email"),
            owner.c.active.label("owner_active"),
            verifier.c.name.label("verifier_name"),
            verifier.c.email.label("verifier_email"),
            process.c.name.label("process_name"),
            process.c.frequency.label("process_frequency"),
            case((shows_published, published.c.title), else_=articles.c.title).label("reader_title"),
            case((shows_published, published.c.body), else_=articles.c.body).label("reader_body"),
            published.c.own_words.label("own_words"),
            shown("id").label("shown_id"),
            holds_text.label("holds_text"),
            shown("rendered_html").label("rendered_html"),
            shown("rendered_toc").label("rendered_toc"),
            shown("rendered_version").label("rendered_version"),
            select(func.aggregate_strings(tags.c.tag, "\n"))
            .where(tags.c.article_id == articles.c.id)
            .scalar_subquery()
            .label("tags"),
            count(revisions).label("revision_count"),
            count(revisions, revisions.c.state == RevisionState.PENDING).label("pending_count"),
            count(flags, flags.c.resolved_at.is_(None)).label("flag_count"),
        )
        .select_from(
            articles.outerjoin(owner, owner.c.id == articles.c.owner_id)
            .outerjoin(verifier, verifier.c.id == articles.c.verified_by_id)
            .outerjoin(process, process.c.id == articles.c.process_id)
            .outerjoin(published, published.c.id == articles.c.published_revision_id)
            .outerjoin(newest, joins_newest)
        )
        .where(articles.c.slug == bindparam("slug"))
    )


def article_page_tables() -> frozenset[str]:
    """The tables an article page is built from (its statement's, with the flags and who raised them): a
    page kept by a process stays right only while none of them changes (kms.generations)."""
    tables = find_tables(_article_page_statement(), include_aliases=True, include_crud=True)
    return frozenset(getattr(t, "original", t).name for t in tables) | {
        Flag.__tablename__,
        User.__tablename__,
    }


def article_page(slug: str, *, viewer, now: datetime | None = None) -> tuple[ArticlePage | None, str | None]:
    """(page, None), or (None, new slug) when the address was renamed.

    One statement for an article without open flags, two with; a renamed or unknown slug falls back to
    resolve_slug (redirect or NotFound). Drafts stay hidden from readers exactly as resolve_slug hides them.
    """
    row = db.session.execute(_article_page_statement(), {"slug": slug}).one_or_none()
    if row is None:
        article, moved_to = resolve_slug(slug, viewer=viewer)  # raises NotFound unless the slug moved
        return None, moved_to
    view = ArticleView(
        id=row.id,
        slug=row.slug,
        title=row.title,
        category=row.category,
        language=row.language,
        status=row.status,
        version=row.version,
        owner_id=row.owner_id,
        owner=Person(row.owner_name, row.owner_email, row.owner_id, row.owner_active)
        if row.owner_name is not None
        else None,
        verified_by=Person(row.verifier_name, row.verifier_email) if row.verifier_name is not None else None,
        process=ProcessRef(row.process_name, row.process_frequency) if row.process_name is not None else None,
        published_revision_id=row.published_revision_id,
        verify_interval_days=row.verify_interval_days,
        verified_at=row.verified_at,
        updated_at=row.updated_at,
        tags=sorted(row.tags.split("\n")) if row.tags else [],
    )
    if not visible_to(view, viewer):
        raise NotFound("No article at this address.")
    due, text = verification_label(view, now)
    return ArticlePage(
        article=view,
        title=row.reader_title,
        body=row.reader_body,
        flags=open_flags(view.id) if row.flag_count else [],
        verification_due=due,
        verification_text=text,
        revision_count=row.revision_count,
        has_pending=row.pending_count > 0,
        own_words=row.own_words,
        **(
            {
                "revision_id": row.shown_id,
                "html": row.rendered_html,
                "toc": row.rendered_toc,
                "html_version": row.rendered_version,
            }
            if row.shown_id is not None and row.holds_text
            else {}
        ),
    ), None
