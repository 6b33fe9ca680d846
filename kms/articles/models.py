"""Handbook models: categories, processes, articles, revisions, flags, slug redirects, coverage snapshots."""

from __future__ import annotations

import enum
import hashlib
import unicodedata
from datetime import date, datetime, timedelta

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from kms.extensions import UTCDateTime, db, enum_column, utcnow


class ProcessStatus(enum.StrEnum):
    UNDOCUMENTED = "undocumented"
    DRAFTING = "drafting"
    DOCUMENTED = "documented"
    NEEDS_REVIEW = "needs review"
    RETIRED = "retired"


class ArticleStatus(enum.StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"
    ARCHIVED = "archived"


class RevisionState(enum.StrEnum):
    PUBLISHED = "published"  # what readers see (or saw) at some point
    PENDING = "pending"  # waits for a reviewer; readers keep seeing the published revision
    REJECTED = "rejected"
    DRAFT = "draft"  # a save while the article is a draft


class Category(db.Model):
    __tablename__ = "categories"

    name: Mapped[str] = mapped_column(String(80), primary_key=True)
    requires_review: Mapped[bool] = mapped_column(default=False)
    position: Mapped[int] = mapped_column(default=0)


def process_name_key(name: str) -> str:
    """What makes two process names the same one: case folded in any alphabet ("Über" = "über",
    "Straße" = "STRASSE"), one Unicode spelling of each letter, and runs of spaces as one. Stored as a SHA-256
    digest: spelling a name out can make it up to 18 times longer (U+FDFA), past any sensible column or index."""
    folded = unicodedata.normalize("NFKC", " ".join(name.split()).casefold())
    return hashlib.sha256(folded.encode("utf-8")).hexdigest()


class Process(db.Model):
    """Something the team handles repeatedly; documented once its article is published."""

    __tablename__ = "processes"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    # process_name_key(name), kept by the validator below; unique, so the database itself refuses "Refund" next
    # to "REFUND" on both engines (SQLite's lower() folds only A-Z).
    name_key: Mapped[str] = mapped_column(String(64), unique=True)
    category: Mapped[str] = mapped_column(String(80), index=True)
    frequency: Mapped[int] = mapped_column(default=0)  # times a month the team meets it
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    target_date: Mapped[date | None]
    status: Mapped[ProcessStatus] = mapped_column(
        enum_column(ProcessStatus), default=ProcessStatus.UNDOCUMENTED, index=True
    )
    notes: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    owner = relationship("User", foreign_keys=[owner_id], lazy="joined")
    article: Mapped[Article | None] = relationship(back_populates="process", uselist=False)

    @validates("name")
    def _keep_name_key(self, _field: str, name: str) -> str:
        self.name_key = process_name_key(name)
        return name

    @property
    def is_documented(self) -> bool:
        return (
            self.article is not None
            and self.article.published_revision_id is not None
            and self.article.status == ArticleStatus.PUBLISHED
        )


class Article(db.Model):
    __tablename__ = "articles"

    id: Mapped[int] = mapped_column(primary_key=True)
    process_id: Mapped[int | None] = mapped_column(
        ForeignKey("processes.id", ondelete="SET NULL"), unique=True
    )
    slug: Mapped[str] = mapped_column(String(100), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    category: Mapped[str] = mapped_column(String(80), index=True)
    language: Mapped[str] = mapped_column(String(35), default="en")
    status: Mapped[ArticleStatus] = mapped_column(
        enum_column(ArticleStatus), default=ArticleStatus.DRAFT, index=True
    )
    # The newest saved text (what editors work on). Readers see published_revision, which may be older
    # while a change waits for review.
    body: Mapped[str] = mapped_column(Text, default="")
    version: Mapped[int] = mapped_column(default=1)  # optimistic lock: bumped on every save
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    published_revision_id: Mapped[int | None] = mapped_column(
        ForeignKey("revisions.id", ondelete="SET NULL", use_alter=True)
    )
    verify_interval_days: Mapped[int] = mapped_column(default=90)
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    verified_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # verified_at + interval, kept in step by the services so "stale" is a plain indexed comparison on
    # SQLite and PostgreSQL alike (date arithmetic in SQL differs between them). None = never verified.
    verify_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    process: Mapped[Process | None] = relationship(back_populates="article")
    owner = relationship("User", foreign_keys=[owner_id])
    verified_by = relationship("User", foreign_keys=[verified_by_id])
    updated_by = relationship("User", foreign_keys=[updated_by_id])
    published_revision: Mapped[Revision | None] = relationship(
        foreign_keys=[published_revision_id], post_update=True
    )
    tag_rows: Mapped[list[ArticleTag]] = relationship(cascade="all, delete-orphan", order_by="ArticleTag.tag")

    @property
    def tags(self) -> list[str]:
        return [row.tag for row in self.tag_rows]

    def due_at(self) -> datetime | None:
        return review_due_at(self.verified_at, self.verify_interval_days)

    def is_stale(self, now: datetime) -> bool:
        """Due for review: never verified, or verified longer ago than its interval."""
        due = self.due_at()
        return due is None or due <= now


def review_due_at(verified_at: datetime | None, interval_days: int) -> datetime | None:
    """When an article verified at `verified_at` falls due again (None: never verified, so due now)."""
    return None if verified_at is None else verified_at + timedelta(days=interval_days)


class ArticleTag(db.Model):
    __tablename__ = "article_tags"

    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True)
    tag: Mapped[str] = mapped_column(String(50), primary_key=True, index=True)


class Revision(db.Model):
    __tablename__ = "revisions"
    __table_args__ = (UniqueConstraint("article_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"), index=True)
    number: Mapped[int]  # 1, 2, 3 ... per article
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    state: Mapped[RevisionState] = mapped_column(enum_column(RevisionState), default=RevisionState.PUBLISHED)
    reason: Mapped[str] = mapped_column(String(300), default="")
    # Words of the body that are not template lines (kms.articles.services.substance), counted at save time.
    own_words: Mapped[int] = mapped_column(default=0, server_default="0")
    # The body as HTML and its table of contents, kept when the revision is written; valid while
    # rendered_version is kms.articles.rendering.RENDERER_VERSION (read them through rendered_html()).
    rendered_html: Mapped[str | None] = mapped_column(Text)
    rendered_toc: Mapped[str | None] = mapped_column(Text)
    rendered_version: Mapped[str | None] = mapped_column(String(40))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    author = relationship("User", foreign_keys=[author_id])
    reviewed_by = relationship("User", foreign_keys=[reviewed_by_id])


class SlugRedirect(db.Model):
    """An old slug kept after a rename, so old links still work."""

    __tablename__ = "slug_redirects"

    slug: Mapped[str] = mapped_column(String(100), primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"), index=True)


class Flag(db.Model):
    """A reader's report that an article is wrong or outdated."""

    __tablename__ = "flags"
    __table_args__ = (Index("ix_flags_open", "article_id", "resolved_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    comment: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    resolution: Mapped[str] = mapped_column(Text, default="")

    user = relationship("User", foreign_keys=[user_id])
    resolved_by = relationship("User", foreign_keys=[resolved_by_id])
    article: Mapped[Article] = relationship()


class ArticleTemplate(db.Model):
    """A starting layout for new articles (loaded from content/article-templates/)."""

    __tablename__ = "article_templates"

    key: Mapped[str] = mapped_column(String(80), primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(String(300), default="")
    body: Mapped[str] = mapped_column(Text, default="")


class CoverageSnapshot(db.Model):
    """Documentation coverage on one day, for the trend chart."""

    __tablename__ = "coverage_snapshots"

    day: Mapped[date] = mapped_column(primary_key=True)
    documented: Mapped[int]
    total: Mapped[int]
    weighted_documented: Mapped[int]
    weighted_total: Mapped[int]
