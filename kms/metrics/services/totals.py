"""Summing RepDay rows in SQL: one GROUP BY statement per question, whatever the number of reps or days.

Every measure is additive (counts and sums), including the handle-time histogram, whose buckets are summed
one column each, so medians of any period come from the summed histogram (a median of daily medians would be
wrong). Totals turns the sums into the figures people read: CSAT share, FCR, reopen rate, median handle time,
NPS and volume.
"""

from __future__ import annotations

import contextvars
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import ARRAY, Integer, func, literal_column, select

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


def sum_columns(with_hist: bool = True) -> list:
    """The SELECT list that sums every measure and, unless told not to, every histogram bucket (built once per
    dialect: the expressions never change, and building 38 of them costs more than running a small query).
    Reading the buckets is most of a statement's cost, so callers that need no median or spread skip it."""
    dialect = db.engine.dialect.name
    columns = _COLUMNS.get(dialect)
    if columns is None:
        columns = [func.coalesce(func.sum(getattr(RepDay, name)), 0) for name in ADDITIVE]
        columns += [func.coalesce(func.sum(hist_bucket(i, dialect)), 0) for i in range(BUCKET_COUNT)]
        columns = _COLUMNS[dialect] = tuple(columns)
    return list(columns if with_hist else columns[: len(ADDITIVE)])


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
        if hist:
            totals.hist = [int(v or 0) for v in hist]
        return totals

    def add(self, other: Totals) -> Totals:
        """Add another set of sums into this one (returns self)."""
        for name in ADDITIVE:
            setattr(self, name, getattr(self, name) + getattr(other, name))
        if other.handle_count:
            self.hist = [a + b for a, b in zip(self.hist, other.hist, strict=True)]
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


# The same sums asked twice while one page is built (its ranking and its suggestions over the same weeks) are
# read once, inside `with sharing():` only (the caller opens it around one page; nothing outlives the block).
_shared: contextvars.ContextVar[dict | None] = contextvars.ContextVar("kms_metric_sums", default=None)


@contextmanager
def sharing():
    """Within this block, identical sums are read from the database once."""
    token = _shared.set({})
    try:
        yield
    finally:
        _shared.reset(token)


def _memo(kind: str, with_hist: bool, scope: dict, compute):
    memo = _shared.get()
    if memo is None:
        return compute()
    key = (kind, tuple(sorted(scope.items())))
    found = memo.get(key)
    if found is not None and (found[0] or not with_hist):
        return found[1]  # sums with the histogram serve a question without it too
    value = compute()
    memo[key] = (with_hist, value)
    return value


# Reading histograms is nearly all of a dashboard's database time (every bucket of every row), while the rows
# of past days rarely change. So each group's summed histogram (a day of a team, a rep over a range) is kept in
# this process with the group's fingerprint (tickets, timed tickets, sum of minutes): while the fingerprint
# read with the cheap sums still matches, the histogram is reused; when anything is missing or changed, one
# more statement reads the histograms of the whole scope again. Entries also expire after HIST_TTL seconds,
# bounding how long a correction that keeps a day's count and sum identical could go unseen.
HIST_TTL = 600.0
HIST_MAX = 200_000
_HIST: dict[tuple, tuple[tuple, tuple, float]] = {}


def _fingerprint(t: Totals) -> tuple:
    return (t.tickets, t.handle_count, round(t.handle_sum, 6))


def _hist_query(key_columns, scope: dict, join: bool):
    """SELECT key..., sum of each bucket ... GROUP BY key, over the rows with timed tickets."""
    dialect = db.engine.dialect.name
    if dialect == "postgresql":
        # PostgreSQL parses each stored list once into an int[] (in a subquery kept apart by OFFSET 0, so the
        # planner does not repeat the parse per bucket), then sums the array elements; several times faster
        # than one JSON cast per bucket.
        parsed = literal_column(
            "string_to_array(btrim(metric_rep_days.handle_hist, '[]'), ',')::int[]", ARRAY(Integer)
        ).label("h")
        inner = select(*[c.label(f"k{i}") for i, c in enumerate(key_columns)], parsed)
        if join:
            inner = inner.select_from(RepDay).join(User, User.id == RepDay.user_id)
        inner = _scoped(inner, **scope).where(RepDay.handle_count > 0).offset(0).subquery()
        keys = [inner.c[f"k{i}"] for i in range(len(key_columns))]
        return select(
            *keys, *[func.coalesce(func.sum(inner.c.h[i + 1]), 0) for i in range(BUCKET_COUNT)]
        ).group_by(*keys)
    query = select(
        *key_columns, *[func.coalesce(func.sum(hist_bucket(i, dialect)), 0) for i in range(BUCKET_COUNT)]
    )
    if join:
        query = query.select_from(RepDay).join(User, User.id == RepDay.user_id)
    return _scoped(query, **scope).where(RepDay.handle_count > 0).group_by(*key_columns)


def _grouped(kind: str, key_columns, scope: dict, with_hist: bool, *, join: bool = False, per_day: bool):
    """Sums grouped by `key_columns` over the scope: one statement, plus one for histograms not cached."""
    query = select(*key_columns, *sum_columns(False))
    if join:
        query = query.select_from(RepDay).join(User, User.id == RepDay.user_id)
    query = _scoped(query, **scope).group_by(*key_columns)
    width = len(key_columns)
    out = {}
    for row in db.session.execute(query):
        out[tuple(row[:width]) if width > 1 else row[0]] = Totals.from_row(row[width:])
    if not with_hist or not out:
        return out
    # A day's sums do not depend on the range asked for; a rep's sums over a range do.
    identity = {k: v for k, v in scope.items() if not (per_day and k in ("start", "end"))}
    cache_scope = (
        str(db.engine.url),
        kind,
        tuple(sorted((k, tuple(v) if isinstance(v, list) else v) for k, v in identity.items())),
    )
    now = time.monotonic()
    missing = False
    for key, value in out.items():
        if not value.handle_count:
            continue
        hit = _HIST.get((cache_scope, key))
        if hit is not None and hit[0] == _fingerprint(value) and now - hit[2] < HIST_TTL:
            value.hist = list(hit[1])
        else:
            missing = True
    if missing:
        if len(_HIST) > HIST_MAX:
            _HIST.clear()
        for row in db.session.execute(_hist_query(key_columns, scope, join)):
            key = tuple(row[:width]) if width > 1 else row[0]
            value = out.get(key)
            if value is not None:
                value.hist = [int(v or 0) for v in row[width:]]
                _HIST[(cache_scope, key)] = (_fingerprint(value), tuple(value.hist), now)
    return out


def by_day(*, with_hist: bool = True, **scope) -> dict[date, Totals]:
    """Sums per day over the scoped reps (one statement; two when histograms must be read)."""
    return _memo(
        "day", with_hist, scope, lambda: _grouped("day", [RepDay.day], scope, with_hist, per_day=True)
    )


def by_rep(*, with_hist: bool = True, **scope) -> dict[int, Totals]:
    """Sums per rep over the scoped days (one statement; two when histograms must be read)."""
    return _memo(
        "rep", with_hist, scope, lambda: _grouped("rep", [RepDay.user_id], scope, with_hist, per_day=False)
    )


def by_team(**scope) -> dict[str, Totals]:
    """Sums per team over the scoped days (one statement; two when histograms must be read)."""
    found = _grouped("team", [User.team], scope, True, join=True, per_day=False)
    return {team or "": value for team, value in found.items()}
