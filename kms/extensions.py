"""Extension singletons, created unbound here and bound to an app in init_app()."""

from __future__ import annotations

import contextvars
import signal
import threading
from contextlib import contextmanager
from datetime import UTC, datetime

from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import DateTime, Enum, MetaData, TypeDecorator, event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import DeclarativeBase, Session


class Base(DeclarativeBase):
    # Stable constraint names let Alembic rebuild SQLite tables safely.
    metadata = MetaData(
        naming_convention={
            "pk": "pk_%(table_name)s",
            "ix": "ix_%(column_0_label)s",
            "uq": "uq_%(table_name)s_%(column_0_name)s",
            "ck": "ck_%(table_name)s_%(constraint_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        }
    )


class UTCDateTime(TypeDecorator):
    """Timestamps are stored in UTC and always come back timezone-aware, on SQLite and PostgreSQL alike."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; kms stores aware UTC times only")
        return value.astimezone(UTC)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def enum_column(cls) -> Enum:
    """A string enum column stored as its values (portable: no native ENUM type on PostgreSQL)."""
    return Enum(cls, native_enum=False, length=20, values_callable=lambda members: [m.value for m in members])


def utcnow() -> datetime:
    return datetime.now(UTC)


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
limiter = Limiter(key_func=get_remote_address, default_limits=[])

# SQLite: a transaction that will write must start with BEGIN IMMEDIATE, or a read that later turns into a
# write can fail at once with "database is locked" when another process wrote in between (no busy wait).
_write_intent: contextvars.ContextVar[bool] = contextvars.ContextVar("kms_write_intent", default=False)


def database_busy(error: BaseException) -> bool:
    """Whether `error` is SQLite giving up on a write after its busy timeout, behind another long write."""
    return isinstance(error, OperationalError) and "database is locked" in str(error.orig)


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, _record) -> None:
    if type(dbapi_connection).__module__.startswith("sqlite3"):
        dbapi_connection.isolation_level = None  # SQLAlchemy's "begin" event below issues BEGIN itself
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=15000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()


@event.listens_for(Engine, "begin")
def _sqlite_begin(conn) -> None:
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("BEGIN IMMEDIATE" if _write_intent.get() else "BEGIN")


# PostgreSQL: psycopg forgets every prepared statement of a connection at each ROLLBACK (DEALLOCATE ALL), and
# a page's session ends its read-only transaction with one. So no statement stayed prepared past a request, and
# PostgreSQL planned the article page's statement anew for every view (0.75 ms of its CPU, 4x the execution).
# A transaction that ran only SELECTs is ended with COMMIT instead, which changes nothing and keeps them; one
# that ran anything else (or failed) is rolled back as before.
_WROTE = "kms_ran_more_than_selects"


@event.listens_for(Engine, "before_cursor_execute")
def _note_writes(conn, _cursor, statement, _parameters, _context, _executemany) -> None:
    if not statement.startswith("SELECT") and conn.dialect.name == "postgresql":
        conn.info[_WROTE] = True


@event.listens_for(Engine, "rollback")
def _end_reads_with_commit(conn) -> None:
    if conn.dialect.name != "postgresql" or conn.closed or conn.invalidated:
        return
    if conn.info.pop(_WROTE, False):
        return
    import psycopg
    from psycopg.pq import TransactionStatus

    dbapi_connection = conn.connection.dbapi_connection
    if dbapi_connection.info.transaction_status != TransactionStatus.INTRANS:
        return  # none open, or a failed one: the rollback ends it
    try:
        dbapi_connection.commit()  # the rollback SQLAlchemy sends next finds no transaction: a no-op
    except psycopg.Error:
        pass  # a lost connection: the rollback that follows reports it, as it did before


@event.listens_for(Engine, "commit")
def _forget_writes(conn) -> None:
    conn.info.pop(_WROTE, None)


_FLUSHED = "kms_flushed_uncommitted"
_STRICT = "kms_units_required"


@event.listens_for(Session, "before_flush")
def _refuse_changes_outside_a_unit(session, _context, _instances) -> None:
    # Under test, a request's change outside unit_of_work() fails at once: in production it would be
    # rolled back silently when the request ends.
    if session.info.get(_STRICT) and not _in_unit.get():
        raise RuntimeError("a request changed rows outside unit_of_work(); wrap the use case in it")


@event.listens_for(Session, "after_flush")
def _remember_flush(session, _context) -> None:
    session.info[_FLUSHED] = True


@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_rollback")
def _forget_flush(session) -> None:
    session.info.pop(_FLUSHED, None)


_COMMITTED = "kms_unit_committed"


@event.listens_for(Session, "after_commit", insert=True)
def _remember_commit(session) -> None:
    # Runs before any other after-commit hook: whatever they raise, unit_of_work() knows the data is saved.
    session.info[_COMMITTED] = True
    _deliver_deferred_interrupt(session)


_DEFERRED = "kms_deferred_sigint"


@contextmanager
def _interrupts_after_the_commit(session: Session):
    """Ctrl+C during the database's COMMIT call is held until SQLAlchemy has seen the commit succeed.

    A big transaction's COMMIT (SQLite writes and checkpoints its WAL) can take a moment after the rows are
    already visible to others; a KeyboardInterrupt raised as that call returns would make unit_of_work()
    roll back in vain and report "nothing saved" for saved data. Only in the main thread, where Python
    runs signal handlers."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.getsignal(signal.SIGINT)
    if previous is not signal.default_int_handler:
        yield
        return
    session.info[_DEFERRED] = previous

    def hold(_signum, _frame) -> None:
        session.info[_DEFERRED] = "interrupted"

    signal.signal(signal.SIGINT, hold)
    try:
        yield
    finally:
        if _DEFERRED in session.info:  # the commit failed before its after-commit hooks
            _deliver_deferred_interrupt(session)


def _deliver_deferred_interrupt(session: Session) -> None:
    held = session.info.pop(_DEFERRED, None)
    if held is None:
        return
    signal.signal(signal.SIGINT, signal.default_int_handler)
    if held == "interrupted":
        raise KeyboardInterrupt


class InterruptedAfterCommit(KeyboardInterrupt):
    """Ctrl+C arrived after the unit of work committed, while the work after the commit ran (the search drain):
    the changes are saved; what was left undone (the outbox) is picked up by the next drain."""


_in_unit: contextvars.ContextVar[bool] = contextvars.ContextVar("kms_in_unit_of_work", default=False)


@contextmanager
def unit_of_work():
    """One use case, one transaction, owned by the outermost caller (a view, an API route, a CLI command, a job).

    Commits once when the block ends and rolls back on any error; a unit of work opened inside another joins
    it, so services that call services stay one transaction. On SQLite the transaction begins with
    `BEGIN IMMEDIATE`, holding the write lock from its first statement. A read-only transaction the caller had
    open is ended first; changes pending outside any unit of work are a bug and refused loudly.
    Usable as `with unit_of_work(): ...` or as a decorator `@unit_of_work()`.
    """
    if _in_unit.get():
        yield db.session()
        return
    session = db.session()
    if session.in_transaction():
        if session.new or session.dirty or session.deleted or session.info.get(_FLUSHED):
            raise RuntimeError(
                "changes pending outside a unit of work; open unit_of_work() before changing rows"
            )
        session.rollback()
    unit, intent = _in_unit.set(True), _write_intent.set(True)
    session.info.pop(_COMMITTED, None)
    try:
        yield session
        _commit_keeping_loaded(session)
    except KeyboardInterrupt as interrupt:
        if not session.info.pop(_COMMITTED, False):
            session.rollback()
            raise
        session.close()  # the commit is done: Ctrl+C stopped the work that follows it (the search drain)
        raise InterruptedAfterCommit() from interrupt
    except BaseException:
        if session.info.pop(_COMMITTED, False):
            session.close()
        else:
            session.rollback()
        raise
    finally:
        session.info.pop(_COMMITTED, None)
        _write_intent.reset(intent)
        _in_unit.reset(unit)


def _commit_keeping_loaded(session: Session) -> None:
    # What the use case loaded stays loaded for the response it renders (as committed, so not stale):
    # expiring it would reload every object, one query each.
    expire, session.expire_on_commit = session.expire_on_commit, False
    try:
        with _interrupts_after_the_commit(session):
            session.commit()
    finally:
        session.expire_on_commit = expire


@contextmanager
def deciding_per_statement():
    """Transactions begun inside start with a plain BEGIN, whatever unit of work is around them.

    For work that runs after a commit (the search outbox drain): its reads must not take the write lock
    the surrounding `unit_of_work()` asked for, and its short writes start with the writing statement itself.
    """
    token = _write_intent.set(False)
    try:
        yield
    finally:
        _write_intent.reset(token)


@contextmanager
def writing_from_the_start():
    """Transactions begun inside start with BEGIN IMMEDIATE on SQLite (the write lock from the first statement).

    For short read-then-write transactions outside a unit of work (the search change log's followers):
    their reads and writes see one state, and the write never fails for a write that came in between."""
    token = _write_intent.set(True)
    try:
        yield
    finally:
        _write_intent.reset(token)


def init_app(app) -> None:
    db.init_app(app)
    migrate.init_app(
        app, db, directory=app.config["KMS_MIGRATIONS_DIR"], render_as_batch=True, compare_type=True
    )
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please log in to see that page."
    login_manager.login_message_category = "info"
    login_manager.session_protection = "basic"
    login_manager.refresh_view = "auth.reauthenticate"
    login_manager.needs_refresh_message = "Please confirm your password to open that page."
    login_manager.needs_refresh_message_category = "info"
    csrf.init_app(app)
    limiter.init_app(app)
    if app.testing:
        app.before_request(_require_units)


def _require_units() -> None:
    db.session().info[_STRICT] = True
