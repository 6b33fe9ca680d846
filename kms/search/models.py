"""Search tables: the change log every index follows, the servers following it, each server's indexing
outbox, and the anonymous search log."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from kms.extensions import UTCDateTime, db, utcnow


class SearchChange(db.Model):
    """The change log: one row per search document touched by a transaction, appended in that transaction.

    Never updated. Every server's index follows it in commit order (kms.search.indexer explains how) and
    rows are deleted once every live server has passed them, or after the retention period. ``txid`` is
    the writing transaction's id on PostgreSQL (NULL on SQLite, where the id order is the commit order);
    ``origin`` the server whose own outbox already got the change in the same transaction."""

    __tablename__ = "search_changes"
    # AUTOINCREMENT: SQLite would otherwise reuse the ids of deleted rows at the end of the table, and a
    # follower whose position is past them would skip the new rows.
    __table_args__ = (
        Index("ix_search_changes_txid", "txid"),
        Index("ix_search_changes_created_at", "created_at"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    doc_id: Mapped[str] = mapped_column(String(80))
    origin: Mapped[str | None] = mapped_column(String(40))
    txid: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SearchServer(db.Model):
    """A server (one instance folder, one index) following the change log: its heartbeat and position.

    ``position`` is how far it has taken the log into its outbox (kms.search.indexer); NULL when rows it
    had not taken were deleted (it was dead or too far behind), so it must rebuild its index."""

    __tablename__ = "search_servers"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    host: Mapped[str] = mapped_column(String(255), default="")
    position: Mapped[int | None] = mapped_column(BigInteger)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SearchOutbox(db.Model):
    """A search document that changed in a committed transaction and still has to reach one server's index.

    A server's rows are inserted in the same transaction as an edit made on that server, or taken from
    the change log (with the server's position, in one transaction) for edits made elsewhere; they are
    deleted once the index holds the document as the database has it; what is left after a crash is drained later. Each drain that
    takes a row counts an attempt first, so a document that fails, or kills or stalls its worker,
    is quarantined after a few attempts (kept with its error, shown to admins) instead of being
    retried forever; its next edit tries again."""

    __tablename__ = "search_outbox"

    id: Mapped[int] = mapped_column(primary_key=True)
    doc_id: Mapped[str] = mapped_column(String(80))
    server_id: Mapped[str | None] = mapped_column(String(40), index=True)
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
