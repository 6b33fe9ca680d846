"""Generations: named values in the database, each moved on by the commit of any transaction that wrote to the
tables watched for it, so a process can keep something built from those tables (a rendered page) for exactly
as long as its generation stays the same.

The value moves in the same transaction as the write, just before it commits: a reader sees the new
generation exactly when it can see the new rows, on every server sharing the database. Each new value is
random (62 bits), not the old one plus one: after a database is restored from a backup, the writes that follow
never bring back a value some process kept pages under before the restore. A feature says what it keeps and
what that is built from with watch(name, tables); it reads the current value with generation_expression(name)
inside a statement it runs anyway (the session's user load, see kms.auth.add_user_fact), or with current(name).

Any INSERT, UPDATE or DELETE reaching the database counts (through the ORM, Core or text), matched by the
table it names. A write rolled back moves nothing; one whose transaction commits always does, even when it
changed no row: moving too often only costs a rebuild, missing a move would show stale data.
"""

from __future__ import annotations

import contextvars
import re
import secrets
import weakref

from sqlalchemy import BigInteger, String, event, func, inspect, select, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Mapped, mapped_column

from kms.extensions import db


class Generation(db.Model):
    __tablename__ = "generations"

    name: Mapped[str] = mapped_column(String(60), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger, default=0)


_WATCHED: dict[str, frozenset[str]] = {}  # generation name -> the tables whose writes move it
_BY_TABLE: dict[str, frozenset[str]] = {}  # table -> the generations its writes move
# The same, per connection, as this context (a request, a command) sees it: written() asks it without
# touching the session. A connection's entry goes at its commit or rollback, or with the connection.
_WRITTEN: contextvars.ContextVar[weakref.WeakKeyDictionary | None] = contextvars.ContextVar(
    "kms_generations_written", default=None
)
_PENDING = "kms_generations_to_move"  # connection.info key: the names to move when this transaction commits
# The table a write names: INSERT [OR ...] INTO t, UPDATE [OR ...] t, DELETE FROM t, REPLACE INTO t (quoted or not).
_WRITE = re.compile(
    r'\b(?:INSERT\s+(?:OR\s+\w+\s+)?INTO|UPDATE(?:\s+OR\s+\w+)?|DELETE\s+FROM|REPLACE\s+INTO)\s+"?(\w+)"?',
    re.IGNORECASE,
)
# Statements that write nothing, by their first word (as SQLAlchemy and the drivers send them, in capitals).
_READS = ("SELECT", "BEGIN", "COMMIT", "ROLLBACK", "PRAGMA", "SAVEPOINT", "RELEASE", "EXPLAIN", "SHOW")
_SCHEMA_CHANGE = re.compile(r"\s*(?:CREATE|DROP|ALTER)\s+TABLE", re.IGNORECASE)
_HAS_TABLE: weakref.WeakSet = weakref.WeakSet()  # engines whose database has the generations table
_MOVE = text(
    "INSERT INTO generations (name, value) VALUES (:name, :value) ON CONFLICT (name) DO UPDATE SET value = :value"
)


def watch(name: str, tables) -> None:
    """Move generation `name` on whenever a transaction that wrote to any of `tables` (Table objects or
    names) commits. Calling it again for the same name adds tables."""
    names = {table if isinstance(table, str) else table.name for table in tables}
    _WATCHED[name] = _WATCHED.get(name, frozenset()) | names
    by_table: dict[str, set[str]] = {}
    for generation, watched in _WATCHED.items():
        for table in watched:
            by_table.setdefault(table, set()).add(generation)
    _BY_TABLE.clear()
    _BY_TABLE.update({table: frozenset(generations) for table, generations in by_table.items()})


def watched(name: str) -> frozenset[str]:
    """The tables whose writes move generation `name`."""
    return _WATCHED.get(name, frozenset())


def generation_expression(name: str):
    """A scalar SQL expression for the current value of generation `name` (0 before it first moves), to put
    beside the columns of a statement a request runs anyway."""
    value = select(Generation.value).where(Generation.name == name).scalar_subquery()
    return func.coalesce(value, 0)


def current(name: str) -> int:
    """The current value of generation `name`, in this session's transaction."""
    return db.session.scalar(select(generation_expression(name)))


def written(name: str) -> bool:
    """Whether a transaction open in this context (this request, this command) has written to a table watched
    for generation `name`: its rows differ from what the generation stands for until it commits, so nothing
    kept may be used or kept meanwhile."""
    pending = _WRITTEN.get()
    return bool(pending) and any(name in names for names in pending.values())


def _has_table(conn) -> bool:
    """Whether this database has the generations table yet (not while migrations bring an older one up to
    date: writes then move nothing, and no process can have read a generation to keep anything by)."""
    if conn.engine not in _HAS_TABLE:
        if not inspect(conn).has_table(Generation.__tablename__):
            return False
        _HAS_TABLE.add(conn.engine)
    return True


@event.listens_for(Engine, "before_cursor_execute")
def _note_write(conn, _cursor, statement, _parameters, _context, _executemany) -> None:
    statement = statement.lstrip()
    if not _BY_TABLE or statement.startswith(_READS):
        return
    if _SCHEMA_CHANGE.match(statement):
        _HAS_TABLE.discard(conn.engine)  # asked again at the next move
        return
    if statement[:4].upper() == "WITH":
        # A write may follow its common table expressions: every table it writes to counts.
        targets = {match.group(1).lower() for match in _WRITE.finditer(statement)}
    else:
        match = _WRITE.match(statement)
        targets = {match.group(1).lower()} if match else set()
    generations = frozenset().union(*(_BY_TABLE.get(table, ()) for table in targets))
    if generations:
        conn.info[_PENDING] = names = conn.info.get(_PENDING, frozenset()) | generations
        pending = _WRITTEN.get()
        if pending is None:
            pending = weakref.WeakKeyDictionary()
            _WRITTEN.set(pending)
        pending[conn] = names


@event.listens_for(Engine, "commit")
def _move_before_commit(conn) -> None:
    # Last statement of the transaction: on PostgreSQL the generation's row lock is held only until the commit
    # that follows, and taken after every other lock of the transaction, so it cannot be part of a deadlock.
    _forget_here(conn)
    names = sorted(conn.info.pop(_PENDING, ()))
    if names and _has_table(conn):
        for name in names:
            conn.execute(_MOVE, {"name": name, "value": secrets.randbits(62)})


@event.listens_for(Engine, "rollback")
def _forget_on_rollback(conn) -> None:
    _forget_here(conn)
    conn.info.pop(_PENDING, None)


def _forget_here(conn) -> None:
    pending = _WRITTEN.get()
    if pending:
        pending.pop(conn, None)
