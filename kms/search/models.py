"""Search tables: the indexing outbox (written with each edit) and the anonymous search log."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from kms.extensions import UTCDateTime, db, utcnow


class SearchOutbox(db.Model):
    """A search document that changed in a committed transaction and still has to reach the index.

    Rows are inserted in the same transaction as the edit and deleted once the index holds the
    document as the database has it; what is left after a crash is drained later. Each drain that
    takes a row counts an attempt first, so a document that fails, or kills or stalls its worker,
    is quarantined after a few attempts (kept with its error, shown to admins) instead of being
    retried forever; its next edit tries again."""

    __tablename__ = "search_outbox"

    id: Mapped[int] = mapped_column(primary_key=True)
    doc_id: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    attempts: Mapped[int] = mapped_column(default=0, server_default="0")
    last_error: Mapped[str | None] = mapped_column(Text)
    quarantined_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class SearchLog(db.Model):
    """One search: what was asked, how many results, how long it took, the searcher's role and
    whether a result was opened from it.

    Never who searched: the gap report needs the question, not the person. ``asker`` only tells two
    people apart for the same question: a keyed hash of the person and the normalized query, so one
    person's searches for different things cannot be linked, nor traced back without the site's key."""

    __tablename__ = "search_log"
    __table_args__ = (Index("ix_search_log_created_at", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    query: Mapped[str] = mapped_column(String(200))
    normalized: Mapped[str] = mapped_column(String(200), index=True)  # lowercased, spaces collapsed
    results: Mapped[int] = mapped_column(default=0)
    duration_ms: Mapped[int] = mapped_column(default=0)
    role: Mapped[str] = mapped_column(String(20))
    source: Mapped[str] = mapped_column(String(10), default="page")  # page or api
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    asker: Mapped[str | None] = mapped_column(String(32))
    opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # a result was opened from this search


class SearchGapDismissal(db.Model):
    """A gap-report query an author marked as not a gap (a name, a typo, already answered).

    Searches from before ``dismissed_at`` no longer count toward the report; new ones do."""

    __tablename__ = "search_gap_dismissal"

    id: Mapped[int] = mapped_column(primary_key=True)
    normalized: Mapped[str] = mapped_column(String(200), unique=True)
    dismissed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    dismissed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
