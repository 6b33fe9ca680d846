"""The search change log: how every server's index hears of every committed change, in commit order.

Several kms servers may share one database; each keeps its own index (in its instance folder). A transaction
that touches search documents appends one `search_changes` row per document (in the same transaction, so it
commits or rolls back with the edit), and also puts them straight into the writing server's own outbox, so
the person who saved finds their save at once. Every server *follows* the log: it copies the rows after its
position into its own outbox and moves its position past them in ONE database transaction (`take`), so a
row is either both copied and passed, or neither. The outbox rows are deleted only after the index commit
that applied them (kms.search.indexer). Applying reads each document as it is *now*, so applying a row
twice (after a crash between the index commit and the outbox delete, or a row both in the own outbox and
in the log) writes the same current state again: replays are harmless, only a skipped row would not be.

Commit order, the one hard part. The position is a *key* below which every row has been taken:
- PostgreSQL: ids from a sequence become visible out of order (the transaction that took id 10 may commit
  after the one that took id 11), so the key is the writing transaction's id (`pg_current_xact_id()`,
  64 bits, never wraps). A follower first takes a snapshot (`pg_current_snapshot()`): every transaction
  below its xmax that is not in its in-progress list has ended (committed or rolled back), so every row it
  wrote is visible to any later statement, and it can never add another. The horizon is the lowest
  in-progress id (the snapshot's xmin, leaving out transactions of other databases, see _PG_HORIZON), or
  xmax when none is in progress; the follower then reads the rows with key in [position, horizon) in a
  later statement and the horizon becomes its position. A transaction still open at the snapshot has an id
  >= the horizon, so its rows stay above the position and are read by a later pass after it commits: a
  late commit is delayed, never skipped. (A long-open writing transaction on kms's database holds every
  follower back until it ends; it never makes one skip.) Only transactions that have written something
  have an id and can hold the horizon: a read-only transaction, even one left idle in a request or a
  shell, is not in the snapshot's in-progress list. kms writes only inside unit_of_work(), which commits
  when its block ends, so the horizon normally waits for the saves in flight (milliseconds), and for a big
  import until it commits; skipping past such a transaction would lose its rows, so it is waited for.
  Waking up: on PostgreSQL the appending transaction also sends a NOTIFY on CHANNEL (PostgreSQL delivers it
  at commit, and drops it on rollback), so followers listening there take at once instead of at their next
  poll; the poll stays, for lost connections and for transactions that hold the horizon without writing the
  log. A notification only says "look now": what is taken is still decided by the horizon alone, so an early
  or a missed notification can delay a row, never skip it. A follower that finds rows of other servers kept
  above the horizon (`held_back`) looks again soon after, rather than a whole poll period later.
- SQLite: writers are serialized (one write transaction at a time, BEGIN IMMEDIATE), so a row's id is taken
  and committed before the next writer takes a higher one: id order is commit order, the key is the id and
  the position is the highest id taken plus one. The table is AUTOINCREMENT, so ids are never reused.

Servers register in `search_servers` (their id lives in the instance folder) with a heartbeat. Log rows are
deleted once every live server has passed them, or after the retention period; a server whose untaken rows
were deleted (dead for long, or too far behind) has its position set to NULL in the same transaction and
rebuilds its index from the database, then follows again. A server with no heartbeat for KMS_SEARCH_SERVER_
TIMEOUT seconds no longer holds back the cleanup.
"""

from __future__ import annotations

import os
import secrets
import socket
from collections.abc import Iterable
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import String, exists, func, insert, literal, literal_column, or_, select, text, true, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from kms.extensions import UTCDateTime, utcnow
from kms.search.models import SearchChange, SearchOutbox, SearchServer

SERVER_ID_FILE = "search-server-id"
CHANNEL = (
    "kms_search_changes"  # PostgreSQL NOTIFY channel: "a change was committed"; payload: origin server id
)
STALE = "stale"  # take(): this server's untaken rows are gone (or it is unknown): rebuild, then follow

# The writing transaction's id, as a plain bigint (xid8 has no direct cast to bigint).
_PG_TXID = "pg_current_xact_id()::text::bigint"
# The snapshot's xmin, except that transactions seen running in ANOTHER database are left out: a transaction
# belongs to one database for its whole life, so it can never write our log, and the xmin alone would make
# every kms server wait for any long transaction anywhere on the PostgreSQL cluster. Whether an in-progress
# id is seen elsewhere does not depend on timing (ids are unique in the cluster, and one that ended meanwhile
# is only kept, which is safe); anything unknown (no permission to see it, a prepared transaction) is kept.
# backend_xid is a 32-bit xid, the snapshot's are 64-bit (epoch + xid): compare modulo 2^32.
_PG_HORIZON = """
WITH s AS (SELECT pg_current_snapshot() AS snap)
SELECT LEAST(
    pg_snapshot_xmax(snap)::text::bigint,
    (SELECT min(x::text::bigint) FROM pg_snapshot_xip(snap) AS x
     WHERE x::text::bigint % 4294967296 NOT IN (
        SELECT backend_xid::text::bigint FROM pg_stat_activity
        WHERE backend_xid IS NOT NULL
          AND datid IS DISTINCT FROM (SELECT oid FROM pg_database WHERE datname = current_database()))))
FROM s
"""


def _postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def _key(session: Session):
    """The column positions are measured in (see the module docstring)."""
    return SearchChange.txid if _postgres(session) else SearchChange.id


def horizon(session: Session) -> int:
    """A key below which every log row is committed (or rolled back) and visible to this and later statements."""
    if _postgres(session):
        return int(session.scalar(text(_PG_HORIZON)))
    return int(session.scalar(select(func.max(SearchChange.id))) or 0) + 1


def append(session: Session, doc_ids: Iterable[str], origin: str | None) -> None:
    """Log the documents this transaction touched (on its own connection, so same commit), and queue them in
    the writing server's own outbox."""
    now = utcnow()
    doc_ids = sorted(set(doc_ids))
    if not doc_ids:
        return
    connection = session.connection()
    statement = insert(SearchChange.__table__)
    if connection.dialect.name == "postgresql":
        statement = statement.values(txid=literal_column(_PG_TXID))
    connection.execute(statement, [{"doc_id": d, "origin": origin, "created_at": now} for d in doc_ids])
    if connection.dialect.name == "postgresql":
        # Queued in this transaction, delivered to the listening followers when it commits (never if it rolls
        # back); several identical ones in one transaction are sent once.
        connection.execute(select(func.pg_notify(CHANNEL, origin or "")))
    if origin is not None:
        connection.execute(
            insert(SearchOutbox.__table__),
            [{"doc_id": d, "server_id": origin, "created_at": now} for d in doc_ids],
        )


# ---- servers


def read_server_id(instance_dir: Path) -> str | None:
    try:
        value = (instance_dir / SERVER_ID_FILE).read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    return value or None


def new_server_id() -> str:
    host = "".join(c for c in socket.gethostname() if c.isalnum() or c in "-.")[:24] or "kms"
    return f"{host}-{secrets.token_hex(6)}"


def write_server_id(instance_dir: Path, server_id: str) -> None:
    instance_dir.mkdir(parents=True, exist_ok=True)
    temp = instance_dir / f".{SERVER_ID_FILE}.{os.getpid()}"
    temp.write_text(server_id + "\n", encoding="utf-8")
    os.replace(temp, instance_dir / SERVER_ID_FILE)


def register(session: Session, server_id: str, position: int | None) -> None:
    """Add this server (position None: it must rebuild before following). Commits; a row already there stays."""
    now = utcnow()
    try:
        with session.begin():
            session.execute(
                insert(SearchServer.__table__).values(
                    id=server_id,
                    host=socket.gethostname()[:255],
                    position=position,
                    started_at=now,
                    last_seen=now,
                )
            )
    except IntegrityError:
        pass  # another process of this server registered it first


def position_of(session: Session, server_id: str) -> tuple[bool, int | None]:
    """(known, position) of a server."""
    row = session.execute(select(SearchServer.position).where(SearchServer.id == server_id)).one_or_none()
    return (row is not None, None if row is None else row[0])


def set_position_after_rebuild(session: Session, server_id: str, position: int) -> None:
    """After a rebuild that read the database after ``position`` was measured: follow from there (only when
    the server was stale; a server following normally keeps its position). Commits."""
    with session.begin():
        known, current = position_of(session, server_id)
        if not known:
            session.execute(
                insert(SearchServer.__table__).values(
                    id=server_id,
                    host=socket.gethostname()[:255],
                    position=position,
                    started_at=utcnow(),
                    last_seen=utcnow(),
                )
            )
        elif current is None:
            session.execute(
                update(SearchServer)
                .where(SearchServer.id == server_id, SearchServer.position.is_(None))
                .values(position=position, last_seen=utcnow())
            )


def pending(session: Session, server_id: str, others_only: bool = True) -> bool:
    """Cheap read-only check: has the log rows this server can take now (or is it stale)? ``others_only``:
    count only other servers' changes (the poller); else also its own, which take() passes over."""
    known, position = position_of(session, server_id)
    if not known or position is None:
        return True
    key = _key(session)
    limit = horizon(session)
    whose = or_(SearchChange.origin.is_(None), SearchChange.origin != server_id) if others_only else true()
    return bool(session.scalar(select(exists().where(key >= position, key < limit, whose))))


def held_back(session: Session, server_id: str) -> bool:
    """Are rows of other servers waiting above the horizon (an older transaction is still open)? Those are
    taken once it ends; the follower looks again soon. Always False on SQLite (its horizon is past every row)."""
    if not _postgres(session):
        return False
    known, position = position_of(session, server_id)
    if not known or position is None:
        return False
    limit = max(horizon(session), position)
    others = or_(SearchChange.origin.is_(None), SearchChange.origin != server_id)
    return bool(session.scalar(select(exists().where(SearchChange.txid >= limit, others))))


def waiting(session: Session, server_id: str) -> int:
    """How many committed log rows from other servers this server has not taken yet (some may wait for an
    older transaction still open); 0 for a server not following."""
    known, position = position_of(session, server_id)
    if not known or position is None:
        return 0
    return session.scalar(
        select(func.count(SearchChange.id)).where(
            _key(session) >= position,
            or_(SearchChange.origin.is_(None), SearchChange.origin != server_id),
        )
    )


def take(session: Session, server_id: str) -> int | str:
    """Copy the log rows after this server's position into its outbox and move the position past them, in
    one transaction; returns how many outbox rows were added, or STALE. Also the heartbeat."""
    now = utcnow()
    with session.begin():
        known, position = position_of(session, server_id)
        if not known or position is None:
            return STALE
        limit = max(horizon(session), position)
        copied = 0
        if limit > position:
            key = _key(session)
            rows = (
                select(
                    SearchChange.doc_id,
                    literal(server_id, String(40)),
                    literal(now, UTCDateTime()),
                )
                .where(
                    key >= position,
                    key < limit,
                    or_(SearchChange.origin.is_(None), SearchChange.origin != server_id),
                )
                .distinct()
            )
            copied = session.execute(
                insert(SearchOutbox.__table__).from_select(["doc_id", "server_id", "created_at"], rows)
            ).rowcount
        moved = session.execute(
            update(SearchServer)
            .where(SearchServer.id == server_id, SearchServer.position == position)
            .values(position=limit, last_seen=now)
        ).rowcount
        if moved != 1:
            # A cleanup deleted rows we had not taken (and set our position to NULL) meanwhile.
            session.rollback()
            return STALE
    return max(copied, 0)


def clean(
    session: Session, *, retention: timedelta, server_timeout: timedelta, now: datetime | None = None
) -> int:
    """Delete the log rows every live server has passed, and those older than ``retention``; a server whose
    untaken rows go is marked stale (position NULL) in the same transaction. Returns the rows deleted."""
    now = now or utcnow()
    key = _key(session)
    with session.begin():
        slowest = session.scalar(
            select(func.min(SearchServer.position)).where(
                SearchServer.last_seen >= now - server_timeout, SearchServer.position.is_not(None)
            )
        )
        old = SearchChange.created_at < now - retention
        condition = old if slowest is None else or_(old, key < slowest)
        last = session.scalar(select(func.max(key)).where(condition))
        if last is None:
            return 0
        session.execute(update(SearchServer).where(SearchServer.position <= last).values(position=None))
        deleted = session.execute(SearchChange.__table__.delete().where(condition)).rowcount
    return deleted


def servers(session: Session) -> list[SearchServer]:
    return list(session.scalars(select(SearchServer).order_by(SearchServer.started_at)))
