"""Importing ticket rows: all or nothing, idempotent per (source, ticket id), aggregates kept in step.

Rows come from a CSV (csvfile.TicketCsv), the JSON API (jsonrows) or the demo, already converted to Ticket
values plus `agent` (an e-mail, or a name as in kms) and `line` (where the row is, for messages). The import
runs inside the caller's unit of work; any error raised here or by the row source rolls all of it back.

A ticket id already stored for the source is *replaced* when its values changed (the old contribution is
taken off its rep's day and the new one added) and skipped when they did not, so re-sending a file or a batch
never counts a ticket twice, and a corrected export corrects the figures.
"""

from __future__ import annotations

import time
from array import array
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from sqlalchemy import bindparam, insert, select, update

from kms.auth.models import Role, User
from kms.auth.system import IMPORT_METRICS, is_system
from kms.errors import Forbidden, Invalid
from kms.extensions import db
from kms.metrics.models import Ticket
from kms.metrics.services.aggregate import DayTotals, apply_totals

BATCH = 2000  # rows per SELECT of existing ids and per bulk INSERT
FLUSH_DAYS = 50_000  # write the day totals early when an import touches more (rep, day) pairs than this
VALUE_COLUMNS = (
    "user_id",
    "solved_at",
    "channel",
    "csat_good",
    "csat_raw",
    "fcr",
    "reopened",
    "handle_minutes",
    "nps",
    "tags",
)
IMPORTERS = frozenset({Role.ADMIN, Role.MANAGER})


@dataclass
class ImportReport:
    """What an import did; `skipped_unknown` maps each rep kms does not know to their row count."""

    source: str
    rows: int = 0
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped_unknown: dict[str, int] = field(default_factory=dict)
    days: int = 0
    seconds: float = 0.0

    def summary(self) -> str:
        parts = [_n(self.rows, "row") + " read", _n(self.added, "ticket") + " added"]
        if self.updated:
            parts.append(f"{self.updated:,} corrected")
        if self.unchanged:
            parts.append(f"{self.unchanged:,} already imported (unchanged, not counted again)")
        if self.skipped_unknown:
            skipped = sum(self.skipped_unknown.values())
            parts.append(f"{skipped:,} skipped for {_n(len(self.skipped_unknown), 'unknown rep')}")
        return "; ".join(parts) + "."


def _n(count: int, word: str) -> str:
    return f"{count:,} {word}{'' if count == 1 else 's'}"


class UnknownReps(Invalid):
    """Rows name reps kms does not know; `unknown` maps each to its row count. Nothing was imported."""

    def __init__(self, unknown: Counter, *, skip_hint: str):
        listed = ", ".join(
            f"{agent} ({n} ticket{'s' if n != 1 else ''})" for agent, n in unknown.most_common(50)
        )
        more = f" and {len(unknown) - 50} more" if len(unknown) > 50 else ""
        super().__init__(
            f"Nothing was imported: {len(unknown)} rep{'s' if len(unknown) != 1 else ''} in the file "
            f"{'are' if len(unknown) != 1 else 'is'} not in kms: {listed}{more}. Add them as users (or fix "
            f"the address), or {skip_hint}.",
            field="agent",
            unknown=dict(unknown),
        )
        self.unknown = dict(unknown)


class DuplicateTicket(Invalid):
    """The same ticket id appears twice in one file or batch."""


def require_importer(actor) -> None:
    """Refuse anyone but admins, managers and the system actor (`kms metrics import`)."""
    if is_system(actor, IMPORT_METRICS):
        return
    if getattr(actor, "role", None) not in IMPORTERS:
        raise Forbidden("Only managers and admins import metrics.")


class _Directory:
    """kms users by lowercased e-mail and by casefolded name (a name two users share matches nobody)."""

    def __init__(self) -> None:
        self.by_email: dict[str, int] = {}
        self.by_name: dict[str, int | None] = {}
        for user_id, email, name in db.session.execute(select(User.id, User.email, User.name)):
            self.by_email[email.lower()] = user_id
            key = " ".join(name.split()).casefold()
            self.by_name[key] = None if key in self.by_name else user_id

        self.seen: dict[str, int | None] = {}  # each distinct cell resolved once (a file names few reps)

    def find(self, agent: str) -> int | None:
        try:
            return self.seen[agent]
        except KeyError:
            pass
        if "@" in agent:
            found = self.by_email.get(agent.lower())
        else:
            found = self.by_name.get(" ".join(agent.split()).casefold())
        if len(self.seen) < 100_000:
            self.seen[agent] = found
        return found


class _SeenIds:
    """Ticket ids seen in this import with the line each was on, in two flat arrays (12 bytes a slot, at
    most 4 slots per 2 ids; a dict of strings would take ~150 bytes an id): open addressing over 64-bit
    hashes. Two different ids with the same hash (odds about 1 in 30 million for a million rows) would be
    reported as a duplicate; the message quotes both lines so the user can see it."""

    def __init__(self) -> None:
        self.size = 1 << 12
        self.keys = array("q", bytes(8 * self.size))
        self.lines = array("i", bytes(4 * self.size))  # line numbers fit in 32 bits
        self.count = 0

    def add(self, ticket_id: str, line: int) -> int | None:
        """Remember the id; the line it was first seen on when it was seen before, else None."""
        key = hash(ticket_id) or 1
        mask = self.size - 1
        slot = key & mask
        keys = self.keys
        while keys[slot]:
            if keys[slot] == key:
                return self.lines[slot]
            slot = (slot + 1) & mask
        keys[slot], self.lines[slot] = key, line
        self.count += 1
        if self.count * 2 > self.size:
            self._grow()
        return None

    def _grow(self) -> None:
        old = [(k, v) for k, v in zip(self.keys, self.lines, strict=True) if k]
        self.size *= 2
        self.keys = array("q", bytes(8 * self.size))
        self.lines = array("i", bytes(4 * self.size))
        mask = self.size - 1
        for key, line in old:
            slot = key & mask
            while self.keys[slot]:
                slot = (slot + 1) & mask
            self.keys[slot], self.lines[slot] = key, line


class _TicketWriter:
    """Bulk INSERT of tickets with the DB-API's executemany.

    At a million rows SQLAlchemy's per-row parameter handling cost more than the database; here each value
    still passes through its column type's own bind processor (UTCDateTime and friends), so the stored
    values are exactly what an ORM insert stores. Only the placeholder differs between drivers (qmark for
    sqlite3, %s for psycopg), read from the dialect.
    """

    COLUMNS = ("source", "ticket_id", *VALUE_COLUMNS)
    MARKS = {"qmark": "?", "format": "%s", "pyformat": "%s"}

    def __init__(self) -> None:
        self.connection = db.session.connection()
        dialect = self.connection.dialect
        table = Ticket.__table__
        self.mark = self.MARKS.get(dialect.paramstyle)
        marks = ", ".join([self.mark or "?"] * len(self.COLUMNS))
        self.sql = f"INSERT INTO {table.name} ({', '.join(self.COLUMNS)}) VALUES ({marks})"
        self.processed = [
            (index, processor)
            for index, name in enumerate(self.COLUMNS)
            if (processor := table.c[name].type._cached_bind_processor(dialect)) is not None
        ]

    def insert(self, rows: list[dict], source: str) -> None:
        if self.mark is None:  # a driver with named placeholders: let SQLAlchemy do it
            db.session.execute(insert(Ticket.__table__), [{"source": source, **r} for r in rows])
            return
        names = self.COLUMNS[1:]
        params = []
        for row in rows:
            values = [source, *(row[name] for name in names)]
            for index, processor in self.processed:
                values[index] = processor(values[index])
            params.append(tuple(values))
        self.connection.exec_driver_sql(self.sql, params)


def import_rows(
    rows: Iterable[dict],
    *,
    source: str,
    actor,
    skip_unknown: bool = False,
    unit: str = "line",
    skip_hint: str = "import the others with --skip-unknown",
    progress: Callable[[str, int, int], None] | None = None,
    total: int | None = None,
    position: Callable[[], int] | None = None,
) -> ImportReport:
    """Import ticket rows for `source`, all or nothing (flushes; the caller's unit of work commits).

    Refuses (Invalid, nothing written once the caller rolls back): a ticket id twice in the rows (naming both
    `unit`s, "line" or "row"), and reps kms does not know (UnknownReps listing them with counts) unless
    `skip_unknown`, which imports the other rows and lists the skipped reps in the report. Errors raised by
    the row source (bad values, a file too large) pass through. `progress(stage, done, total)` is called per
    batch with `position()` (or the rows read) against `total`.
    """
    require_importer(actor)
    started = time.monotonic()
    report = ImportReport(source=source)
    directory = _Directory()
    seen = _SeenIds()
    unknown: Counter = Counter()
    totals = DayTotals()
    batch: list[dict] = []
    writer = _TicketWriter()
    # A source with no tickets yet (a first import) needs no lookup of existing ids: the file's own
    # duplicates are caught above, so every row is new.
    fresh = db.session.scalar(select(Ticket.id).where(Ticket.source == source).limit(1)) is None
    if progress and total:
        progress("import", 0, total)
    remember, find = seen.add, directory.find
    for row in rows:
        report.rows += 1
        first = remember(row["ticket_id"], row["line"])
        if first is not None:
            raise DuplicateTicket(
                f"Nothing was imported: {unit} {row['line']} repeats ticket id '{row['ticket_id']}' "
                f"from {unit} {first}. Each ticket may appear once; remove one of the two.",
                field="ticket_id",
            )
        user_id = find(row["agent"])
        if user_id is None:
            unknown[row["agent"]] += 1
            continue
        if unknown and not skip_unknown:
            continue  # the import will be refused: keep reading only to list every unknown rep
        row["user_id"] = user_id
        batch.append(row)
        if len(batch) >= BATCH:
            _write_batch(batch, source, report, totals, writer, fresh)
            batch.clear()
            if len(totals) > FLUSH_DAYS:
                report.days += apply_totals(totals)
                totals.clear()
            if progress and total:
                progress("import", min(position() if position else report.rows, total - 1), total)
    if unknown and not skip_unknown:
        raise UnknownReps(unknown, skip_hint=skip_hint)
    if batch:
        _write_batch(batch, source, report, totals, writer, fresh)
    report.days += apply_totals(totals)
    report.skipped_unknown = dict(unknown.most_common())
    report.seconds = time.monotonic() - started
    if progress and total:
        progress("import", total, total)
    return report


def _write_batch(
    batch: list[dict],
    source: str,
    report: ImportReport,
    totals: DayTotals,
    writer: _TicketWriter,
    fresh: bool,
) -> None:
    if fresh:
        for row in batch:
            totals.add(row)
        writer.insert(batch, source)
        report.added += len(batch)
        return
    table = Ticket.__table__
    ids = [row["ticket_id"] for row in batch]
    query = select(table.c.id, table.c.ticket_id, *(table.c[name] for name in VALUE_COLUMNS)).where(
        table.c.source == source, table.c.ticket_id.in_(ids)
    )
    existing = {found.ticket_id: found for found in db.session.execute(query)}
    inserts, updates = [], []
    for row in batch:
        values = {name: row[name] for name in VALUE_COLUMNS}
        old = existing.get(row["ticket_id"])
        if old is None:
            inserts.append(row)
            totals.add(row)
        elif all(getattr(old, name) == values[name] for name in VALUE_COLUMNS):
            report.unchanged += 1
        else:
            totals.add(old._mapping, -1)
            totals.add(values)
            values["b_id"] = old.id
            updates.append(values)
    if inserts:
        writer.insert(inserts, source)
        report.added += len(inserts)
    if updates:
        # SET comes from the parameter names (the columns); b_id, not a column, only picks the row
        db.session.execute(update(table).where(table.c.id == bindparam("b_id")), updates)
        report.updated += len(updates)
