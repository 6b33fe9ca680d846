"""RepDay upkeep: each ticket's contribution to its rep's day, summed in memory, then written in a few statements.

An import adds the contributions of its new tickets; a re-sent ticket whose values changed takes its old
contribution away and adds the new one, so a day always equals a recount of its tickets (tests check this).
Writes read the affected rows first (locked with FOR UPDATE on PostgreSQL; SQLite imports hold the write
lock from BEGIN IMMEDIATE), then update them with absolute values and insert the missing ones in bulk.

The same contributions, summed per rep and calendar week and month, are added to metric_rep_periods in the
same transaction (what dashboards read), so a period always equals the sum of its days.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, date, timedelta

from sqlalchemy import bindparam, insert, select, update

from kms.extensions import db
from kms.metrics.buckets import BUCKET_COUNT, bucket_index, dump_hist, parse_hist
from kms.metrics.models import (
    ANGRY_TAGS,
    COUNTER_COLUMNS,
    HIST_COLUMNS,
    PERIOD_KINDS,
    RepDay,
    RepPeriod,
    Ticket,
)

COUNTERS = COUNTER_COLUMNS
_HANDLE_SUM = COUNTERS.index("handle_sum")
_KEY_CHUNK = 500  # reps per SELECT of existing day rows (bound values far below either database's limit)


def period_of(day: date, kind: str) -> date:
    """The first day of the week (Monday) or month holding `day`."""
    return day - timedelta(days=day.weekday()) if kind == "week" else day.replace(day=1)


def day_of(solved_at) -> date:
    """The day a ticket counts in: the UTC date it was solved."""
    return solved_at.astimezone(UTC).date()


class DayTotals:
    """Per (user_id, day): the COUNTERS as a list and a handle-time histogram, summed from ticket values."""

    def __init__(self) -> None:
        self.days: dict[tuple[int, date], tuple[list, list[int]]] = {}

    def __len__(self) -> int:
        return len(self.days)

    def add(self, values: Mapping, sign: int = 1) -> None:
        """Add (sign=1) or take away (sign=-1) one ticket given as a mapping of Ticket column values."""
        key = (values["user_id"], day_of(values["solved_at"]))
        entry = self.days.get(key)
        if entry is None:
            entry = self.days[key] = ([0] * len(COUNTERS), [0] * BUCKET_COUNT)
        counts, hist = entry
        counts[0] += sign
        csat = values.get("csat_good")
        if csat is not None:
            counts[1] += sign
            if csat:
                counts[2] += sign
        fcr = values.get("fcr")
        if fcr is not None:
            counts[3] += sign
            if fcr:
                counts[4] += sign
        reopened = values.get("reopened")
        if reopened is not None:
            counts[5] += sign
            if reopened:
                counts[6] += sign
        minutes = values.get("handle_minutes")
        if minutes is not None:
            counts[7] += sign
            counts[8] += sign * minutes
            hist[bucket_index(minutes)] += sign
        nps = values.get("nps")
        if nps is not None:
            counts[9] += sign
            if nps >= 9:
                counts[10] += sign
            elif nps <= 6:
                counts[11] += sign
        tags = values.get("tags")
        if tags and not ANGRY_TAGS.isdisjoint(tags.split()):
            counts[12] += sign

    def clear(self) -> None:
        self.days.clear()


def apply_totals(totals: DayTotals) -> int:
    """Write the summed contributions into metric_rep_days (flush only: the caller's unit of work commits);
    returns how many day rows were written."""
    if not totals.days:
        return 0
    table = RepDay.__table__
    columns = [table.c[name] for name in COUNTERS]
    first = min(day for _, day in totals.days)
    last = max(day for _, day in totals.days)
    users = sorted({user for user, _ in totals.days})
    existing: dict[tuple[int, date], tuple] = {}
    # One range read per chunk of reps (the primary key's order), not a lookup per (rep, day): a row-value
    # IN list is a full scan on SQLite. Rows of the range that this import does not touch are skipped.
    for start in range(0, len(users), _KEY_CHUNK):
        query = (
            select(table.c.user_id, table.c.day, *columns, table.c.handle_hist)
            .where(table.c.user_id.in_(users[start : start + _KEY_CHUNK]), table.c.day.between(first, last))
            .with_for_update()
        )
        for row in db.session.execute(query):
            key = (row[0], row[1])
            if key in totals.days:
                existing[key] = row
    updates, inserts = [], []
    size = len(COUNTERS)
    for key, (counts, hist) in totals.days.items():
        row = existing.get(key)
        if row is None:
            new_counts, new_hist = counts, hist
        else:
            new_counts = [old + add for old, add in zip(row[2 : 2 + size], counts, strict=True)]
            new_hist = [old + add for old, add in zip(parse_hist(row[-1]), hist, strict=True)]
        new_counts[_HANDLE_SUM] = round(float(new_counts[_HANDLE_SUM]), 6)
        values = (*new_counts, dump_hist(new_hist))
        if row is None:
            inserts.append((key[0], key[1], *values))
        else:
            updates.append((*values, key[0], key[1]))
    _bulk = _BulkRepDays()
    _bulk.insert(inserts)
    _bulk.update(updates)
    apply_periods(totals.days)
    return len(totals.days)


def apply_periods(days: Mapping[tuple[int, date], tuple[list, list[int]]]) -> int:
    """Add per-day contributions {(user_id, day): (COUNTERS, histogram)} into metric_rep_periods (every week
    and month they fall in); flush only. Returns how many period rows were written."""
    groups: dict[tuple[int, str, date], list] = {}
    starts: dict[date, tuple[date, date]] = {}
    for (user, day), (counts, hist) in days.items():
        values = [*counts, *hist]
        week_month = starts.get(day)
        if week_month is None:
            week_month = starts[day] = tuple(period_of(day, kind) for kind in PERIOD_KINDS)
        for kind, start in zip(PERIOD_KINDS, week_month, strict=True):
            groups.setdefault((user, kind, start), []).append(values)
    sums = {key: [sum(column) for column in zip(*rows, strict=True)] for key, rows in groups.items()}
    if not sums:
        return 0
    table = RepPeriod.__table__
    names = (*COUNTERS, *HIST_COLUMNS)
    columns = [table.c[name] for name in names]
    first = min(start for _, _, start in sums)
    last = max(start for _, _, start in sums)
    users = sorted({user for user, _, _ in sums})
    existing: dict[tuple[int, str, date], tuple] = {}
    for offset in range(0, len(users), _KEY_CHUNK):
        query = (
            select(table.c.user_id, table.c.kind, table.c.start, *columns)
            .where(
                table.c.user_id.in_(users[offset : offset + _KEY_CHUNK]), table.c.start.between(first, last)
            )
            .with_for_update()
        )
        for row in db.session.execute(query):
            key = (row[0], row[1], row[2])
            if key in sums:
                existing[key] = row[3:]
    inserts, updates = [], []
    for key, values in sums.items():
        old = existing.get(key)
        if old is not None:
            values = [a + b for a, b in zip(old, values, strict=True)]
        values[_HANDLE_SUM] = round(float(values[_HANDLE_SUM]), 6)
        row = dict(zip(names, values, strict=True))
        if old is None:
            inserts.append({"user_id": key[0], "kind": key[1], "start": key[2], **row})
        else:
            updates.append({"k_user": key[0], "k_kind": key[1], "k_start": key[2], **row})
    if inserts:
        db.session.execute(insert(table), inserts)
    if updates:
        statement = update(table).where(
            table.c.user_id == bindparam("k_user"),
            table.c.kind == bindparam("k_kind"),
            table.c.start == bindparam("k_start"),
        )
        db.session.execute(statement, updates)
    return len(sums)


def rebuild_periods(user_ids: Iterable[int] | None = None) -> int:
    """Rebuild metric_rep_periods from metric_rep_days (all reps, or only `user_ids`); returns the rows written.
    For day rows written by other means than apply_totals (a migration, a test's or benchmark's fixtures)."""
    days_table, table = RepDay.__table__, RepPeriod.__table__
    ids = None if user_ids is None else list(user_ids)
    delete = table.delete()
    query = select(
        days_table.c.user_id, days_table.c.day, *[days_table.c[n] for n in COUNTERS], days_table.c.handle_hist
    )
    if ids is not None:
        delete = delete.where(table.c.user_id.in_(ids))
        query = query.where(days_table.c.user_id.in_(ids))
    db.session.execute(delete)
    days = {
        (row[0], row[1]): (list(row[2:-1]), parse_hist(row[-1]))
        for row in db.session.execute(query.execution_options(yield_per=5000))
    }
    return apply_periods(days)


class _BulkRepDays:
    """INSERT and UPDATE of many day rows with the DB-API's executemany (see ingest._TicketWriter: values go
    through each column type's bind processor; only the placeholder style comes from the driver)."""

    MARKS = {"qmark": "?", "format": "%s", "pyformat": "%s"}

    def __init__(self) -> None:
        self.connection = db.session.connection()
        dialect = self.connection.dialect
        self.mark = self.MARKS.get(dialect.paramstyle)
        table = RepDay.__table__
        self.value_names = (*COUNTERS, "handle_hist")
        self.day_processor = table.c.day.type._cached_bind_processor(dialect)

    def _day(self, value):
        return self.day_processor(value) if self.day_processor else value

    def insert(self, rows: list[tuple]) -> None:
        if not rows:
            return
        names = ("user_id", "day", *self.value_names)
        if self.mark is None:
            db.session.execute(insert(RepDay.__table__), [dict(zip(names, r, strict=True)) for r in rows])
            return
        sql = (
            f"INSERT INTO metric_rep_days ({', '.join(names)}) VALUES ({', '.join([self.mark] * len(names))})"
        )
        self.connection.exec_driver_sql(sql, [(r[0], self._day(r[1]), *r[2:]) for r in rows])

    def update(self, rows: list[tuple]) -> None:
        if not rows:
            return
        if self.mark is None:
            table = RepDay.__table__
            statement = update(table).where(
                table.c.user_id == bindparam("k_user"), table.c.day == bindparam("k_day")
            )
            names = (*self.value_names, "k_user", "k_day")
            db.session.execute(statement, [dict(zip(names, r, strict=True)) for r in rows])
            return
        sets = ", ".join(f"{name} = {self.mark}" for name in self.value_names)
        sql = f"UPDATE metric_rep_days SET {sets} WHERE user_id = {self.mark} AND day = {self.mark}"
        self.connection.exec_driver_sql(sql, [(*r[:-1], self._day(r[-1])) for r in rows])


def recount(user_ids: Iterable[int] | None = None) -> int:
    """Rebuild metric_rep_days and metric_rep_periods from metric_tickets (all reps, or only `user_ids`); returns the rows written.
    For repairs after a manual edit of tickets; imports keep the days right on their own."""
    table = RepDay.__table__
    ids = None if user_ids is None else list(user_ids)
    delete = table.delete()
    query = select(
        Ticket.user_id,
        Ticket.solved_at,
        Ticket.csat_good,
        Ticket.fcr,
        Ticket.reopened,
        Ticket.handle_minutes,
        Ticket.nps,
        Ticket.tags,
    )
    periods = RepPeriod.__table__.delete()
    if ids is not None:
        delete = delete.where(table.c.user_id.in_(ids))
        periods = periods.where(RepPeriod.__table__.c.user_id.in_(ids))
        query = query.where(Ticket.user_id.in_(ids))
    db.session.execute(delete)
    db.session.execute(periods)
    totals = DayTotals()
    for row in db.session.execute(query.execution_options(yield_per=5000)):
        totals.add(row._mapping)
    return apply_totals(totals)
