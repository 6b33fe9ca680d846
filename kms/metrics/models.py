"""Metrics models: one row per helpdesk ticket, the per-rep daily aggregate kept up to date on import, and the
column mappings an admin saved for exports kms has no preset for.

metric_tickets is the record; metric_rep_days is derived from it (services.aggregate keeps it in step inside
the same transaction) so dashboards read a few hundred daily rows instead of every ticket.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from kms.extensions import UTCDateTime, db, utcnow
from kms.metrics.buckets import BUCKET_COUNT

ANGRY_TAGS = frozenset({"angry", "anger", "upset"})
# What an import reads for each ticket (kms CSV column names; `agent` is the agent_email column).
FIELDS = (
    "ticket_id",
    "agent",
    "solved_at",
    "channel",
    "csat",
    "fcr",
    "reopened",
    "handle_minutes",
    "nps",
    "tags",
)
REQUIRED = ("ticket_id", "agent", "solved_at")
FIELD_LABELS = {
    "ticket_id": "Ticket id",
    "agent": "Rep (agent e-mail, or name as in kms)",
    "solved_at": "Solved at",
    "channel": "Channel",
    "csat": "CSAT rating",
    "fcr": "First-contact resolution",
    "reopened": "Reopened",
    "handle_minutes": "Handle time",
    "nps": "NPS answer (0-10)",
    "tags": "Tags",
}
HANDLE_UNITS = ("minutes", "seconds", "hours")  # units a custom mapping may give plain handle times in


class Ticket(db.Model):
    """One solved ticket or conversation from a helpdesk export, the API or kms's own CSV.

    None in a measure means "not measured" (an empty cell), never "bad". `source` is the preset name
    ("zendesk", "freshdesk", ...), "kms" for kms's own CSV, "api", or "custom:<mapping name>"; the same
    ticket id from two sources is two tickets.
    """

    __tablename__ = "metric_tickets"
    __table_args__ = (UniqueConstraint("source", "ticket_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(60))
    ticket_id: Mapped[str] = mapped_column(String(120))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    solved_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    channel: Mapped[str] = mapped_column(String(40), default="")  # "" = unknown
    csat_good: Mapped[bool | None]
    csat_raw: Mapped[str | None] = mapped_column(String(40))  # the rating as the source wrote it
    fcr: Mapped[bool | None]
    reopened: Mapped[bool | None]
    handle_minutes: Mapped[float | None]
    nps: Mapped[int | None]  # 0-10
    tags: Mapped[str] = mapped_column(Text, default="")  # space-separated, lowercased

    @property
    def angry(self) -> bool:
        return not ANGRY_TAGS.isdisjoint(self.tags.split())


class _Counters:
    """The additive sums a day or a period of one rep holds (COUNTER_COLUMNS): RepDay and RepPeriod both."""

    tickets: Mapped[int] = mapped_column(default=0)
    csat_rated: Mapped[int] = mapped_column(default=0)
    csat_good: Mapped[int] = mapped_column(default=0)
    fcr_known: Mapped[int] = mapped_column(default=0)
    fcr_yes: Mapped[int] = mapped_column(default=0)
    reopened_known: Mapped[int] = mapped_column(default=0)
    reopened_yes: Mapped[int] = mapped_column(default=0)
    handle_count: Mapped[int] = mapped_column(default=0)
    handle_sum: Mapped[float] = mapped_column(default=0.0)
    nps_count: Mapped[int] = mapped_column(default=0)
    nps_promoters: Mapped[int] = mapped_column(default=0)  # 9-10
    nps_detractors: Mapped[int] = mapped_column(default=0)  # 0-6
    angry: Mapped[int] = mapped_column(default=0)  # tickets tagged angry, anger or upset


class RepDay(_Counters, db.Model):
    """Per rep and day (the UTC date of solved_at): sums over that day's tickets, so any period's rates,
    medians and NPS can be computed by adding rows. Updated by every import in the same transaction."""

    __tablename__ = "metric_rep_days"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True, index=True)
    # JSON list of counts over kms.metrics.buckets.HANDLE_BUCKETS (medians come from summed histograms)
    handle_hist: Mapped[str] = mapped_column(Text, default="")


# The additive sums RepDay and RepPeriod both hold (handle_sum is the one float); a day or period adds up by these.
COUNTER_COLUMNS = (
    "tickets",
    "csat_rated",
    "csat_good",
    "fcr_known",
    "fcr_yes",
    "reopened_known",
    "reopened_yes",
    "handle_count",
    "handle_sum",
    "nps_count",
    "nps_promoters",
    "nps_detractors",
    "angry",
)

# RepPeriod's histogram: one integer column per handle-time bucket, so SQL sums them without decoding JSON.
HIST_COLUMNS = tuple(f"h{i:02d}" for i in range(BUCKET_COUNT))
PERIOD_KINDS = ("week", "month")


class RepPeriod(_Counters, db.Model):
    """Per rep and calendar week (starting Monday) or month: the sums of that period's RepDay rows, with the
    handle-time histogram in integer columns. Kept in step with RepDay by services.aggregate in the same
    transaction, so a dashboard over a year reads a dozen rows per rep instead of 365 (and no JSON)."""

    __tablename__ = "metric_rep_periods"
    __table_args__ = (Index("ix_metric_rep_periods_kind_start", "kind", "start"),)

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(5), primary_key=True)  # week | month
    start: Mapped[date] = mapped_column(Date, primary_key=True)  # the Monday, or the 1st of the month
    # h00 .. h24: the bucket counts (the class namespace is a dict in a class body, so this declares them)
    for _name in HIST_COLUMNS:
        locals()[_name] = mapped_column(Integer, default=0, nullable=False)
    del _name


class ImportMapping(db.Model):
    """A custom column mapping saved by an admin: which column of their export holds which kms field."""

    __tablename__ = "metric_import_mappings"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    columns: Mapped[dict] = mapped_column(JSON, default=dict)  # kms field -> column header in the file
    csat_scale: Mapped[str] = mapped_column(String(20), default="auto")  # auto | good_bad | 1-5 | 1-10
    handle_unit: Mapped[str] = mapped_column(String(20), default="minutes")  # minutes | seconds | hours
    time_zone: Mapped[str] = mapped_column(String(64), default="UTC")  # for dates written without an offset
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
