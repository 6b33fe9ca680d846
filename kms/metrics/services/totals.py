"""Summing RepDay rows in SQL: one GROUP BY statement per question, whatever the number of reps or days.

Every measure is additive (counts and sums), including the handle-time histogram, whose buckets are summed
one column each, so medians of any period come from the summed histogram (a median of daily medians would be
wrong). Totals turns the sums into the figures people read: CSAT share, FCR, reopen rate, median handle time,
NPS and volume.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import date

from sqlalchemy import Integer, func, literal_column, select

from kms.auth.models import User
from kms.extensions import db
from kms.metrics.buckets import BUCKET_COUNT, median_from_hist
from kms.metrics.models import RepDay
from kms.metrics.stats import nps_score

ADDITIVE = (
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


def hist_bucket(index: int, dialect: str):
    """The count in bucket `index` of RepDay.handle_hist (a JSON list stored as text); 0 for an empty text.

    JSON array access is spelled differently by the two databases, so this one expression is chosen per
    dialect (the rest of every statement is shared). A literal column keeps SQLAlchemy's statement cache
    working: the same text every time for the same bucket."""
    guard = "CASE WHEN metric_rep_days.handle_count > 0 THEN {} ELSE 0 END"
    if dialect == "postgresql":
        read = f"CAST(CAST(metric_rep_days.handle_hist AS json) ->> {int(index)} AS INTEGER)"
    else:
        read = f"json_extract(metric_rep_days.handle_hist, '$[{int(index)}]')"
    return literal_column(guard.format(read), Integer())


def sum_columns() -> list:
    """The SELECT list that sums every measure and every histogram bucket (built once per dialect: the
    expressions never change, and building 38 of them costs more than running a small query)."""
    dialect = db.engine.dialect.name
    columns = _COLUMNS.get(dialect)
    if columns is None:
        columns = [func.coalesce(func.sum(getattr(RepDay, name)), 0) for name in ADDITIVE]
        columns += [func.coalesce(func.sum(hist_bucket(i, dialect)), 0) for i in range(BUCKET_COUNT)]
        columns = _COLUMNS[dialect] = tuple(columns)
    return list(columns)


_COLUMNS: dict[str, tuple] = {}


@dataclass
class Totals:
    """Sums over some rep-days, and the figures read from them (None when nothing was measured)."""

    tickets: int = 0
    csat_rated: int = 0
    csat_good: int = 0
    fcr_known: int = 0
    fcr_yes: int = 0
    reopened_known: int = 0
    reopened_yes: int = 0
    handle_count: int = 0
    handle_sum: float = 0.0
    nps_count: int = 0
    nps_promoters: int = 0
    nps_detractors: int = 0
    angry: int = 0
    hist: list[int] = field(default_factory=lambda: [0] * BUCKET_COUNT)

    @classmethod
    def from_row(cls, values) -> Totals:
        values = list(values)
        head, hist = values[: len(ADDITIVE)], values[len(ADDITIVE) :]
        totals = cls(
            **{
                name: (float(v) if name == "handle_sum" else int(v))
                for name, v in zip(ADDITIVE, head, strict=True)
            }
        )
        totals.hist = [int(v or 0) for v in hist]
        return totals

    def add(self, other: Totals) -> Totals:
        """Add another set of sums into this one (returns self)."""
        for f in fields(self):
            if f.name == "hist":
                self.hist = [a + b for a, b in zip(self.hist, other.hist, strict=True)]
            else:
                setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))
        return self

    @property
    def csat(self) -> float | None:
        return self.csat_good / self.csat_rated if self.csat_rated else None

    @property
    def fcr(self) -> float | None:
        return self.fcr_yes / self.fcr_known if self.fcr_known else None

    @property
    def reopened(self) -> float | None:
        return self.reopened_yes / self.reopened_known if self.reopened_known else None

    @property
    def handle_mean(self) -> float | None:
        return self.handle_sum / self.handle_count if self.handle_count else None

    @property
    def handle_median(self) -> float | None:
        return median_from_hist(self.hist) if self.handle_count else None

    @property
    def nps(self) -> float | None:
        return nps_score(self.nps_promoters, self.nps_detractors, self.nps_count)

    @property
    def angry_share(self) -> float | None:
        return self.angry / self.tickets if self.tickets else None

    @property
    def volume(self) -> int:
        return self.tickets


def _scoped(
    query, *, user_ids=None, team: str | None = None, start: date | None = None, end: date | None = None
):
    """Limit a RepDay query to some reps (ids, or a team's members) and an inclusive day range."""
    if user_ids is not None:
        query = query.where(RepDay.user_id.in_(list(user_ids)) if user_ids else RepDay.user_id.is_(None))
    if team is not None:
        query = query.where(RepDay.user_id.in_(select(User.id).where(User.team == team)))
    if start is not None:
        query = query.where(RepDay.day >= start)
    if end is not None:
        query = query.where(RepDay.day <= end)
    return query


def by_day(**scope) -> dict[date, Totals]:
    """Sums per day over the scoped reps (one statement)."""
    query = _scoped(select(RepDay.day, *sum_columns()), **scope).group_by(RepDay.day).order_by(RepDay.day)
    return {row[0]: Totals.from_row(row[1:]) for row in db.session.execute(query)}


def by_rep(**scope) -> dict[int, Totals]:
    """Sums per rep over the scoped days (one statement)."""
    query = _scoped(select(RepDay.user_id, *sum_columns()), **scope).group_by(RepDay.user_id)
    return {row[0]: Totals.from_row(row[1:]) for row in db.session.execute(query)}


def overall(**scope) -> Totals:
    """One set of sums over the whole scope (one statement)."""
    row = db.session.execute(_scoped(select(*sum_columns()), **scope)).one()
    return Totals.from_row(row)
