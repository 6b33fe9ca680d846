"""Summing the pre-aggregated rows in SQL: two statements per question (weekly and monthly rows, then the few
edge days), whatever the number of reps or days.

Every measure is additive (counts and sums), including the handle-time histogram, whose buckets are summed
one column each, so medians of any period come from the summed histogram (a median of daily medians would be
wrong). Totals turns the sums into the figures people read: CSAT share, FCR, reopen rate, median handle time,
NPS and volume.
"""

from __future__ import annotations

import contextvars
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import Integer, and_, func, literal_column, or_, select

from kms.auth.models import User
from kms.extensions import db
from kms.metrics.buckets import BUCKET_COUNT, median_from_hist, parse_hist
from kms.metrics.models import COUNTER_COLUMNS, HIST_COLUMNS, RepDay, RepPeriod
from kms.metrics.services.aggregate import period_of
from kms.metrics.stats import nps_score

ADDITIVE = COUNTER_COLUMNS
_HANDLE_SUM = ADDITIVE.index("handle_sum")


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
    key = (kind, tuple(sorted((k, tuple(v) if isinstance(v, list) else v) for k, v in scope.items())))
    found = memo.get(key)
    if found is not None and (found[0] or not with_hist):
        return found[1]  # sums with the histogram serve a question without it too
    value = compute()
    memo[key] = (with_hist, value)
    return value


# Where the sums come from: metric_rep_periods (per rep and week or month, histogram in integer columns) for
# the weeks and months a range covers, metric_rep_days only for the few days at its edges. A week the range
# covers on four days or more is read whole and its other days taken away; fewer, its days are read. So any
# range reads about (weeks + months) x reps period rows and at most three days x reps day rows per edge: two
# statements whatever the range or the number of reps, and no per-row JSON decoding in SQL.


def _month_end(first: date) -> date:
    return (first.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)


def _week_pieces(lo: date, hi: date) -> tuple[list, list]:
    """Weeks (with sign) and days (with sign) covering exactly lo..hi: a week covered on four days or more is
    read whole and its other days taken away; on fewer, its days are read."""
    periods, days = [], []
    week = period_of(lo, "week")
    while week <= hi:
        inside_lo, inside_hi = max(lo, week), min(hi, week + timedelta(days=6))
        inside = (inside_hi - inside_lo).days + 1
        if inside >= 4:
            periods.append((("week", week), 1))
            for offset in range(7):
                day = week + timedelta(days=offset)
                if not inside_lo <= day <= inside_hi:
                    days.append((day, -1))
        else:
            days += [(inside_lo + timedelta(days=offset), 1) for offset in range(inside)]
        week += timedelta(days=7)
    return periods, days


def _month_pieces(lo: date, hi: date) -> tuple[list, list]:
    """The whole months inside lo..hi, and weeks and days for the rest."""
    month = period_of(lo, "month")
    if month < lo:
        month = _month_end(month) + timedelta(days=1)
    full_first = month
    periods: list = []
    while _month_end(month) <= hi:
        periods.append((("month", month), 1))
        month = _month_end(month) + timedelta(days=1)
    if not periods:
        return _week_pieces(lo, hi)
    days: list = []
    for part_lo, part_hi in ((lo, full_first - timedelta(days=1)), (month, hi)):
        if part_lo <= part_hi:
            more_periods, more_days = _week_pieces(part_lo, part_hi)
            periods += more_periods
            days += more_days
    return periods, days


def plan(segments) -> tuple[dict[tuple[str, date], list], dict[date, list]]:
    """For segments [(label, first day, last day)], the period rows {(kind, start): [(label, sign)]} and day
    rows {day: [(label, sign)]} whose signed sums give each label exactly the days of its segment. Each segment
    takes whichever of weeks-and-days or months-weeks-and-days reads fewer rows (a day row, read apart and
    decoded in Python, counts three)."""
    periods: dict[tuple[str, date], list] = {}
    days: dict[date, list] = {}
    for label, lo, hi in segments:
        if lo > hi:
            continue
        options = [_week_pieces(lo, hi), _month_pieces(lo, hi)]
        chosen_periods, chosen_days = min(options, key=lambda o: len(o[0]) + 3 * len(o[1]))
        for key, sign in chosen_periods:
            periods.setdefault(key, []).append((label, sign))
        for day, sign in chosen_days:
            days.setdefault(day, []).append((label, sign))
    return periods, days


def _scope_clause(query, user_column, *, user_ids=None, team: str | None = None):
    if user_ids is not None:
        query = query.where(user_column.in_(list(user_ids)) if user_ids else user_column.is_(None))
    if team is not None:
        query = query.where(user_column.in_(select(User.id).where(User.team == team)))
    return query


_PERIOD_SUMS: list[tuple] = []


def _period_sums() -> tuple:
    """SUM of every measure and bucket column of metric_rep_periods (built once: building 38 expressions costs
    more than a small query)."""
    if not _PERIOD_SUMS:
        table = RepPeriod.__table__
        _PERIOD_SUMS.append(
            tuple(func.coalesce(func.sum(table.c[name]), 0) for name in (*ADDITIVE, *HIST_COLUMNS))
        )
    return _PERIOD_SUMS[0]


def _signed_sums(group: str | None, segments, scope: dict) -> dict[tuple, Totals]:
    """{(group key, label): Totals} over the segments' days; group is None, "rep" or "team". Two statements
    (one when the segments need no day rows)."""
    pieces, days = plan(segments)
    width = len(ADDITIVE) + BUCKET_COUNT
    acc: dict[tuple, list] = {}

    def add(key, label, sign: int, values) -> None:
        target = acc.get((key, label))
        if target is None:
            target = acc[(key, label)] = [0] * width
        for index, value in enumerate(values):
            if value:
                target[index] += sign * value

    table = RepPeriod.__table__
    key_columns = {None: [], "rep": [table.c.user_id], "team": [User.team]}[group]
    if pieces:
        weeks = sorted(start for kind, start in pieces if kind == "week")
        months = sorted(start for kind, start in pieces if kind == "month")
        wanted = []
        if weeks:
            wanted.append(and_(table.c.kind == "week", table.c.start.in_(weeks)))
        if months:
            wanted.append(and_(table.c.kind == "month", table.c.start.in_(months)))
        query = select(
            *key_columns,
            table.c.kind,
            table.c.start,
            *_period_sums(),
        )
        if group == "team":
            query = query.select_from(table).join(User, User.id == table.c.user_id)
        query = _scope_clause(query, table.c.user_id, **scope).where(or_(*wanted))
        query = query.group_by(*key_columns, table.c.kind, table.c.start)
        for row in db.session.execute(query):
            key = row[0] if key_columns else None
            at = len(key_columns)
            for label, sign in pieces[(row[at], row[at + 1])]:
                add(key, label, sign, row[at + 2 :])
    if days:
        day_table = RepDay.__table__
        day_keys = {None: [], "rep": [day_table.c.user_id], "team": [User.team]}[group]
        query = select(
            *day_keys, day_table.c.day, *[day_table.c[name] for name in ADDITIVE], day_table.c.handle_hist
        )
        if group == "team":
            query = query.select_from(day_table).join(User, User.id == day_table.c.user_id)
        query = _scope_clause(query, day_table.c.user_id, **scope).where(day_table.c.day.in_(sorted(days)))
        for row in db.session.execute(query):
            key = row[0] if day_keys else None
            at = len(day_keys)
            values = [*row[at + 1 : -1], *(parse_hist(row[-1]) if row[at + 1 + 7] else ())]
            for label, sign in days[row[at]]:
                add(key, label, sign, values)
    out = {}
    for key, values in acc.items():
        # A week read whole with its days outside the range taken away can leave a rep with nothing in the
        # range: such a rep is left out, as if the range had been read day by day.
        if any(values):
            values[_HANDLE_SUM] = round(values[_HANDLE_SUM], 6)  # no -0.0000000001 left by a subtraction
            out[key] = Totals.from_row(values)
    return out


def _range_scope(scope: dict) -> tuple[date, date, dict]:
    rest = dict(scope)
    start, end = rest.pop("start"), rest.pop("end")
    return start, end, rest


def by_period(kind: str, starts: list[date], *, with_hist: bool = True, **scope) -> list[Totals]:
    """Sums per week or month (`starts`, in order), cut to the scope's start and end (two statements)."""

    def compute():
        start, end, rest = _range_scope(scope)
        segments = []
        for first in starts:
            nxt = period_of(first + timedelta(days=31 if kind == "month" else 7), kind)
            segments.append((first, max(first, start), min(nxt - timedelta(days=1), end)))
        found = _signed_sums(None, segments, rest)
        return [found.get((None, first), Totals()) for first in starts]

    return _memo(f"period:{kind}:{tuple(starts)}", with_hist, scope, compute)


def by_rep(*, with_hist: bool = True, **scope) -> dict[int, Totals]:
    """Sums per rep over the scoped days (two statements)."""

    def compute():
        start, end, rest = _range_scope(scope)
        found = _signed_sums("rep", [(None, start, end)], rest)
        return {key: value for (key, _), value in found.items()}

    return _memo("rep", with_hist, scope, compute)


def by_team(**scope) -> dict[str, Totals]:
    """Sums per team over the scoped days (two statements)."""
    start, end, rest = _range_scope(scope)
    found = _signed_sums("team", [(None, start, end)], rest)
    return {team or "": value for (team, _), value in found.items()}
