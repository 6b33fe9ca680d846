"""Keeping the search index in step with the database: documents, the outbox and the session hooks.

Every flush that touches an indexed object (or something a document is made of: tags, revisions, a
lesson's module, an owner's name) inserts outbox rows naming the documents, on the same connection, so
they commit or roll back with the edit. After the commit the outbox is drained: under an
inter-process lock, documents are read from the database as it is *now* and applied to the index with
the engine's timed writer, then the drained rows are deleted. Because reading and applying happen under
one lock, a later drain always applies a newer state, so workers never write an older version over a
newer one. A busy or broken index leaves the rows in place for the next commit, `kms search-check
--fix` or the start-up check; a save never waits long for the index and never fails because of it.

A commit made by a web request never drains in the request: it wakes this process's drain thread and
the response goes out at once. Commits elsewhere (CLI, imports, tests of services) drain before they
return. Each drain counts an attempt on the rows it takes *before* it works on them, so a document that
raises, or stalls or kills its worker, is retried alone and quarantined after MAX_ATTEMPTS: kept with
its error for `kms search-check` and the admins' search health page, and never blocking the others.
"""

from __future__ import annotations

import fcntl
import logging
import os
import threading
import time
from collections.abc import Iterable
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import case, delete, event, exists, func, insert, or_, select, true, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from kms.auth.permissions import PERMISSIONS
from kms.extensions import db, deciding_per_statement, utcnow, writing_from_the_start
from kms.progress import current as command_progress
from kms.search import changelog
from kms.search.documents import (
    BULK_WATCHERS,
    WATCHERS,
    UrlFor,
    count_documents,
    iter_documents,
    load_documents,
    url_builder,
)
from kms.search.engine import IndexBusyError, IndexMissingError, SearchEngine, SearchIndexError
from kms.search.models import SearchOutbox

log = logging.getLogger(__name__)

PENDING = "kms_search_pending"  # session.info flag: this transaction wrote outbox rows
EXTENSION = "kms.search"  # app.extensions key of the app's SearchIndex
DRAIN_LOCK_FILE = "kms-drain.lock"
REBUILD_LOCK_FILE = "kms-rebuild.lock"
START_CHECK_LOCK_FILE = "kms-start-check.lock"
DRAIN_BATCH = 500
# A drain that finds at least this many documents waiting, and at least as many as the index holds (an import
# into a new or small site), builds the index afresh in worker processes instead of writing them one by one.
REBUILD_MIN_DOCS = 1000
LEFTOVER_CHECK_SECONDS = 30.0  # how often a quiet process looks for rows a killed worker left
MAX_ATTEMPTS = 3  # drains a document may fail (or never finish) before it is quarantined
ERROR_CHARS = 2000
DRAINER_IDLE_SECONDS = 10.0  # a drain thread with nothing to do ends; the next commit starts another
HEARTBEAT_SECONDS = 15.0  # a following server tells the others it is alive at least this often
CLEAN_SECONDS = 60.0  # how often a process deletes the change log rows every live server has passed
HELD_BACK_RETRY_SECONDS = 0.05  # look again this soon while other servers' rows wait for an open transaction
LISTEN_CHECK_SECONDS = 30.0  # how often the listener checks its connection when no notification comes
LISTEN_RETRY_SECONDS = 5.0  # wait before reconnecting a failed listening connection
STALLED = "indexing it never finished (the worker stopped or timed out while indexing it)"

# Visibility keyword -> the action whose roles may read such documents. Each role's visibility set is
# derived from the permission table, so a role change there changes search too.
VISIBILITY_ACTIONS = {
    "public": "search.query",
    "handbook-editors": "handbook.write",
    "training-editors": "training.edit",
}


def visibilities_for(role) -> frozenset[str]:
    """The visibility keywords a role may search (empty for no role)."""
    return frozenset(
        keyword
        for keyword, action in VISIBILITY_ACTIONS.items()
        if role is not None and role in PERMISSIONS[action]
    )


# --------------------------------------------------------------------------------------------------
# Session hooks: collect affected documents into the outbox (same transaction), drain after commit.


def _affected(session: Session, objects: Iterable[Any], check_modified: bool) -> set[str]:
    doc_ids: set[str] = set()
    for obj in objects:
        watcher = WATCHERS.get(type(obj))
        if watcher is None or (check_modified and not session.is_modified(obj)):
            continue
        doc_ids.update(watcher(session, obj))
    return doc_ids


def _enqueue(session: Session, doc_ids: Iterable[str]) -> None:
    doc_ids = set(doc_ids)
    if doc_ids:
        changelog.append(session, doc_ids, origin=_this_server())
        session.info[PENDING] = True


def _this_server() -> str | None:
    """The id of the server (instance folder) this process indexes for, once it has registered; its own
    outbox gets this transaction's changes directly (the others take them from the log)."""
    from flask import current_app, has_app_context

    if not has_app_context():
        return None
    index: SearchIndex | None = current_app.extensions.get(EXTENSION)
    return None if index is None else index.known_server_id()


def _after_flush(session: Session, _flush_context) -> None:
    doc_ids = (
        _affected(session, session.new, False)
        | _affected(session, session.deleted, False)
        | _affected(session, session.dirty, True)
    )
    _enqueue(session, doc_ids)


def _bulk_statement(state) -> None:
    """ORM UPDATE/DELETE statements bypass the flush; enqueue the rows they are about to touch."""
    if not (state.is_update or state.is_delete) or state.bind_mapper is None:
        return
    watcher = BULK_WATCHERS.get(state.bind_mapper.class_)
    where = state.statement.whereclause
    if watcher is not None and where is not None:
        _enqueue(state.session, watcher(state.session, where))


def _after_commit(session: Session) -> None:
    from flask import current_app, has_app_context, has_request_context

    if not has_app_context():
        return
    index: SearchIndex | None = current_app.extensions.get(EXTENSION)
    if index is None:
        return
    pending = session.info.pop(PENDING, False)
    if has_request_context():
        # A web request never waits on the index: this process's drain thread does it.
        index.drain_soon(leftovers_only=not pending)
        return
    # The hook runs inside the committing unit of work; its own reads must not begin with BEGIN IMMEDIATE.
    with deciding_per_statement():
        if pending:
            index.drain_quietly(wait=index.drain_wait)
        else:
            index.drain_leftovers()


def _after_rollback(session: Session) -> None:
    # The outbox rows were rolled back with the edit; the index never heard of it.
    session.info.pop(PENDING, None)


HOOKS = {
    "after_flush": _after_flush,
    "do_orm_execute": _bulk_statement,
    "after_commit": _after_commit,
    "after_rollback": _after_rollback,
}


# --------------------------------------------------------------------------------------------------
# The per-app index: one engine per process and directory, drains, rebuilds.

_engines: dict[tuple[int, str], SearchEngine] = {}
_engines_lock = threading.Lock()


@contextmanager
def _file_lock(path: Path, wait: float | None):
    """An flock on ``path``; wait=None blocks, otherwise give up after ``wait`` seconds (yields False)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as handle:
        got = False
        deadline = None if wait is None else time.monotonic() + wait
        while True:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | (0 if wait is None else fcntl.LOCK_NB))
                got = True
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    break
                time.sleep(0.01)
        try:
            yield got
        finally:
            if got:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


@dataclass
class Drift:
    """How the index differs from the database."""

    missing: list[str]  # in the database, not in the index
    extra: list[str]  # in the index, not in the database
    stale: list[str]  # in both, but the index holds another version
    index_count: int
    database_count: int
    quarantined: list[Quarantined] = field(default_factory=list)  # not counted above: they wait for an edit

    @property
    def clean(self) -> bool:
        return not (self.missing or self.extra or self.stale)


@dataclass
class Quarantined:
    """A document the index could not take: its id, how often it was tried, the last error and since when."""

    doc_id: str
    attempts: int
    error: str
    since: Any


@dataclass
class ServerState:
    """One server in the change log: is it alive, following (or due to rebuild), how many rows it has to take."""

    id: str
    host: str
    last_seen: Any
    following: bool
    live: bool
    waiting: int
    this: bool


def _describe_current_error() -> str:
    """The exception being handled, as one line for the outbox and the admins (not a traceback)."""
    import sys

    error = sys.exc_info()[1]
    return f"{type(error).__name__}: {error}"[:ERROR_CHARS]


class _Drainer:
    """One thread per process that drains after web requests commit, so no request waits on the index.

    It waits on the drain lock (a thread, not a request), ends after DRAINER_IDLE_SECONDS with
    nothing to do, and is started again by the next commit (also after a fork: it is per process).
    A server's worker also follows the change log here: every KMS_SEARCH_FOLLOW_SECONDS, however many
    requests poke the thread meanwhile (a steady stream of searches must not put the poll off), and at
    once when the log's listener hears of another server's commit."""

    def __init__(self, index: SearchIndex):
        self.index = index
        self._cond = threading.Condition()
        self._asked = 0  # drains asked for by commits so far
        self._done = 0  # of those, how many a finished drain covered
        self._leftovers = False
        self._thread: threading.Thread | None = None
        self._pid = 0
        self.following = False  # a server's worker: poll the change log for other servers' changes
        self._next_follow = 0.0  # monotonic time of the next look at the change log
        self._woken = False  # another server committed a change (a notification): look now

    def follow(self) -> None:
        """Keep the thread alive, polling the change log every KMS_SEARCH_FOLLOW_SECONDS."""
        self.following = True
        self.poke(leftovers_only=True)

    def wake(self) -> None:
        """Look at the change log now (another server committed a change)."""
        with self._cond:
            self._woken = True
        self.poke(leftovers_only=True)

    def follow_again_in(self, seconds: float) -> None:
        with self._cond:
            self._next_follow = min(self._next_follow, time.monotonic() + seconds)

    def poke(self, leftovers_only: bool) -> None:
        with self._cond:
            if leftovers_only:
                self._leftovers = True
            else:
                self._asked += 1
            if self._thread is None or self._pid != os.getpid() or not self._thread.is_alive():
                self._pid = os.getpid()
                self._thread = threading.Thread(target=self._run, name="kms-search-drain", daemon=True)
                self._thread.start()
            self._cond.notify_all()

    def wait(self, timeout: float) -> bool:
        with self._cond:
            target = self._asked
            return self._cond.wait_for(lambda: self._done >= target, timeout)

    def _next(self) -> tuple[int, str] | None:
        """(drains asked so far, what to do: "drain", "leftovers", "follow" or "woken"), None to end."""
        with self._cond:
            while True:
                now = time.monotonic()
                if self.following and (self._woken or now >= self._next_follow):
                    # Before any drain asked for: with requests coming faster than the poll period, a
                    # drain-first order would put the poll off as long as they come.
                    woken, self._woken = self._woken, False
                    self._next_follow = now + self.index.follow_seconds
                    return self._asked, "woken" if woken else "follow"
                if self._asked > self._done:
                    self._leftovers = False
                    return self._asked, "drain"
                if self._leftovers:
                    self._leftovers = False
                    return self._asked, "leftovers"
                if self.following:
                    self._cond.wait(self._next_follow - now)
                elif not self._cond.wait(DRAINER_IDLE_SECONDS) and not (
                    self._asked > self._done or self._leftovers
                ):
                    self._thread = None
                    return None

    def _run(self) -> None:
        retry = 0.0
        with self.index.app.app_context():
            while (work := self._next()) is not None:
                target, what = work
                if what in ("follow", "woken"):
                    # Woken by a notification there is something to take: wait for the drain lock if the other
                    # worker holds it (it may have taken from the log before this change committed).
                    held = self.index.follow_quietly(wait=self.index.drain_wait if what == "woken" else 0)
                    # Rows kept back by an open transaction: look again soon, less and less often while it stays
                    # open (its commit notifies only if it wrote the log too).
                    retry = (
                        min(2 * retry, self.index.follow_seconds)
                        if held and retry
                        else HELD_BACK_RETRY_SECONDS
                    )
                    if held:
                        self.follow_again_in(retry)
                    else:
                        retry = 0.0
                    continue
                if what == "drain":
                    # Another process holding the lock drains our rows too; retry only while it is busy.
                    while not self.index.drain_quietly(wait=self.index.drain_wait):
                        pass
                else:
                    self.index.drain_leftovers()
                with self._cond:
                    self._done = max(self._done, target)
                    self._cond.notify_all()


class _Listener:
    """One thread per process (PostgreSQL only) that LISTENs on the change log's channel on a connection of its
    own and wakes the drain thread when another server commits a change (kms.search.changelog: the notification
    is sent by the appending transaction and delivered at its commit). Only a shortcut: if the connection fails,
    the poll goes on and the listener reconnects a little later."""

    def __init__(self, index: SearchIndex):
        self.index = index
        self._thread: threading.Thread | None = None
        self._pid = 0
        self._guard = threading.Lock()

    def start(self) -> None:
        with self._guard:
            if self._thread is not None and self._pid == os.getpid() and self._thread.is_alive():
                return
            self._pid = os.getpid()
            self._thread = threading.Thread(target=self._run, name="kms-search-listen", daemon=True)
            self._thread.start()

    def _connect(self):
        engine = db.engine
        if engine.dialect.name != "postgresql":
            return None
        cargs, cparams = engine.dialect.create_connect_args(engine.url)
        connection = engine.dialect.loaded_dbapi.connect(*cargs, **cparams)
        if not hasattr(connection, "notifies"):  # a driver other than psycopg 3: polling only
            connection.close()
            return None
        connection.autocommit = True
        connection.execute(f"LISTEN {changelog.CHANNEL}")
        return connection

    def _run(self) -> None:
        with self.index.app.app_context():
            while self._pid == os.getpid():
                connection = None
                try:
                    connection = self._connect()
                    if connection is None:
                        return
                    # Changes committed while we were not listening are found by the next poll; look now.
                    self.index.follow_soon()
                    while True:
                        for note in connection.notifies(timeout=LISTEN_CHECK_SECONDS):
                            if note.payload != (self.index.known_server_id() or ""):
                                self.index.follow_soon()
                        if connection.closed:
                            break
                except Exception:
                    log.warning("listening for search log changes failed; polling meanwhile", exc_info=True)
                finally:
                    if connection is not None:
                        try:
                            connection.close()
                        except Exception:
                            log.debug("closing the listening connection failed", exc_info=True)
                time.sleep(LISTEN_RETRY_SECONDS)


class SearchIndex:
    """The search index of one app (its KMS_SEARCH_DIR). Methods need that app's context."""

    def __init__(self, app):
        self.app = app
        self.root = Path(app.config["KMS_SEARCH_DIR"])
        self.drain_wait = float(app.config.get("KMS_SEARCH_DRAIN_WAIT", 5.0))
        self.lock_timeout = float(app.config.get("KMS_SEARCH_LOCK_TIMEOUT", 10.0))
        self.instance_dir = Path(app.config.get("KMS_INSTANCE_DIR") or self.root.parent)
        self.follow_seconds = float(app.config.get("KMS_SEARCH_FOLLOW_SECONDS") or 0.5)
        self.log_retention = timedelta(hours=float(app.config.get("KMS_SEARCH_LOG_RETENTION_HOURS") or 24))
        self.server_timeout = timedelta(seconds=float(app.config.get("KMS_SEARCH_SERVER_TIMEOUT") or 300))
        self._server_id: str | None = None
        self._next_beat = 0.0
        self._next_clean = 0.0
        self._next_leftover_check = 0.0
        self._rebuild_thread: threading.Thread | None = None
        self._rebuild_guard = threading.Lock()
        self._drainer = _Drainer(self)
        self._listener = _Listener(self)

    # ---- the engine

    def engine(self, create: bool = False) -> SearchEngine:
        """This process's engine for the directory (opened once); IndexMissingError when there is no
        index and ``create`` is false."""
        key = (os.getpid(), str(self.root.resolve()))
        engine = _engines.get(key)
        if engine is None:
            with _engines_lock:
                engine = _engines.get(key)
                if engine is None:
                    engine = SearchEngine(self.root, create=create, lock_timeout=self.lock_timeout)
                    _engines[key] = engine
        return engine

    def reopen(self) -> None:
        """Forget this process's engine (closing its searcher); the next use opens the index afresh."""
        with _engines_lock:
            engine = _engines.pop((os.getpid(), str(self.root.resolve())), None)
        if engine is not None:
            engine.close()

    def url_for(self) -> UrlFor:
        return url_builder(self.app.url_map)

    def _session(self) -> Session:
        # A session of its own (own connection): never the one that is committing, and never a
        # request's session with its snapshot and pending objects.
        return Session(db.engine, expire_on_commit=False)

    # ---- this server in the change log (kms.search.changelog)

    def known_server_id(self) -> str | None:
        """This instance folder's server id, once a rebuild here has registered it (None before)."""
        if self._server_id is None:
            self._server_id = changelog.read_server_id(self.instance_dir)
        return self._server_id

    def _mine(self):
        """This server's outbox rows. Rows without a server are from before the change log (one machine
        drained one outbox) or written behind kms's back: whichever server drains first takes them."""
        return or_(SearchOutbox.server_id == (self.known_server_id() or ""), SearchOutbox.server_id.is_(None))

    def _register(self) -> str:
        """This folder's server id, registering a new server (position NULL: not following yet) if needed.
        Call under the rebuild lock, so two processes of a fresh folder agree on one id."""
        self._server_id = None
        server_id = self.known_server_id()
        fresh = server_id is None
        if fresh:
            server_id = changelog.new_server_id()
        with self._session() as session:
            known, _ = changelog.position_of(session, server_id)
        if not known:
            # Unknown to the database (a new folder, or forgotten): it rebuilds before it follows.
            with self._session() as session:
                changelog.register(session, server_id, None)
        if fresh:
            changelog.write_server_id(self.instance_dir, server_id)
            self._server_id = server_id
        return server_id

    def _take_from_log(self) -> int | str:
        """Copy the other servers' changes after our position into our outbox (see changelog.take)."""
        server_id = self.known_server_id()
        if server_id is None:
            return changelog.STALE  # an index this folder never registered: rebuild it, then follow
        if time.monotonic() < self._next_beat:
            # A read first: a drain that finds nothing to take or pass over need not write.
            with self._session() as session:
                if not changelog.pending(session, server_id, others_only=False):
                    return 0
        with writing_from_the_start(), self._session() as session:
            taken = changelog.take(session, server_id)
        self._next_beat = time.monotonic() + HEARTBEAT_SECONDS
        return taken

    def servers(self) -> list[ServerState]:
        """The servers following the change log, for the admins' search health page."""
        now = utcnow()
        with self._session() as session:
            return [
                ServerState(
                    server.id,
                    server.host,
                    server.last_seen,
                    following=server.position is not None,
                    live=server.last_seen >= now - self.server_timeout,
                    waiting=changelog.waiting(session, server.id),
                    this=server.id == self.known_server_id(),
                )
                for server in changelog.servers(session)
            ]

    def clean_log(self) -> int:
        """Delete the change log rows every live server has passed (and those past the retention period)."""
        with writing_from_the_start(), self._session() as session:
            return changelog.clean(session, retention=self.log_retention, server_timeout=self.server_timeout)

    def _clean_now_and_then(self) -> None:
        now = time.monotonic()
        if now < self._next_clean:
            return
        self._next_clean = now + CLEAN_SECONDS
        try:
            self.clean_log()
        except Exception:
            log.exception("cleaning the search change log failed")

    def follow_quietly(self, wait: float = 0) -> bool:
        """The poller (a web worker's drain thread): drain when the log holds changes from other servers, or
        when the heartbeat is due; errors are logged. ``wait``: for the drain lock, if another process holds
        it. True when rows of other servers still wait behind an open transaction (look again soon)."""
        try:
            server_id = self.known_server_id()
            if server_id is None:
                return False
            with self._session() as session:
                waiting = changelog.pending(session, server_id)
            if waiting or time.monotonic() >= self._next_beat:
                self.drain_quietly(wait=wait)
            with self._session() as session:
                return changelog.held_back(session, server_id)
        except Exception:
            log.exception("following the search change log failed")
            return False

    def start_following(self) -> None:
        """This process polls the change log in its drain thread (each `kms serve` worker does), and on
        PostgreSQL listens for other servers' commits to take them at once."""
        self._drainer.follow()
        self._listener.start()

    def follow_soon(self) -> None:
        """Have the drain thread look at the change log now (the listener heard of a commit)."""
        self._drainer.wake()

    # ---- draining

    def drain(self, wait: float | None = None, catch_up: bool = True) -> int | None:
        """Apply everything in the outbox to the index; returns the number of documents written.

        Raises SearchIndexError (the rows stay, no attempt counted) when the index is busy, missing or
        broken; returns None without waiting further when another process holds the drain lock past
        ``wait``. A document that fails is left with its error and tried again by a later drain, alone;
        after MAX_ATTEMPTS it is quarantined."""
        written = 0
        with _file_lock(self.root / DRAIN_LOCK_FILE, wait) as got:
            if not got:
                return None
            engine = self.engine()
            stale = self._take_from_log() == changelog.STALE
            url_for = self.url_for()
            failed: set[str] = set()  # one attempt per document and drain
            written += self._index_many_at_once(engine, url_for)
            for _ in range(20):  # new rows may arrive while we work; don't loop forever
                rows = self._claim(failed)
                if not rows:
                    break
                written += self._index_rows(engine, url_for, rows, failed)
                # Loop: rows committed while we applied are ours to drain too.
        self._clean_now_and_then()
        if stale and catch_up:
            # Changes this index never took are gone from the log (or it is not registered): build it
            # afresh from the database, then follow from where the build began.
            log.warning("search index %s missed changes from the shared log; rebuilding it", self.root)
            self._rebuild(None, only_if_stale=True)
        return written

    def _index_many_at_once(self, engine: SearchEngine, url_for: UrlFor) -> int:
        """When the outbox names at least REBUILD_MIN_DOCS documents and at least as many as the index holds,
        rebuild the index from the database with the rebuild's parallel build (one worker per core, segments
        written whole) rather than writing each document into it; returns the documents written (0: the batches
        of the caller's loop do the work). Runs under the drain lock: no drain of this server writes meanwhile,
        and the build reads the database after every claimed row was committed, so it covers them all."""
        live = (self._mine(), SearchOutbox.quarantined_at.is_(None), SearchOutbox.attempts == 0)
        with self._session() as session:
            waiting = session.scalar(select(func.count(func.distinct(SearchOutbox.doc_id))).where(*live)) or 0
        if waiting < REBUILD_MIN_DOCS or waiting < engine.doc_count() or engine.is_rebuilding():
            return 0
        skip = self.quarantined_ids()  # a quarantined document would fail the whole build: it waits its turn
        with self._session() as session, session.begin():
            rows = [
                tuple(row)
                for row in session.execute(select(SearchOutbox.id, SearchOutbox.doc_id).where(*live))
                if row[1] not in skip
            ]
            for start in range(0, len(rows), DRAIN_BATCH):
                session.execute(
                    update(SearchOutbox)
                    .where(SearchOutbox.id.in_([i for i, _ in rows[start : start + DRAIN_BATCH]]))
                    .values(attempts=SearchOutbox.attempts + 1)
                )
        try:
            with self._session() as session:
                documents = (doc for doc in iter_documents(session, url_for) if doc["id"] not in skip)
                reporter = command_progress()  # the command whose commit set this off (kms import), if any
                if reporter is not None:
                    total = count_documents(session)
                    # The stage ends when the index is switched, not when the last document is handed over.
                    documents = _counted(documents, "search index", total, reporter, last=False)
                engine.rebuild(documents)
                if reporter is not None:
                    reporter("search index", total, total)
        except (SearchIndexError, OperationalError, KeyboardInterrupt):
            self._unclaim(rows)
            raise
        except Exception:
            # A document that cannot be built: the batches find which one, and write the others.
            log.exception(
                "building the search index for %d documents failed; writing them one by one", waiting
            )
            self._unclaim(rows)
            return 0
        self._settle(rows, {})
        return len({doc_id for _, doc_id in rows})

    def _claim(self, failed: set[str]) -> list[tuple[int, str]]:
        """The next rows to index, with an attempt counted on each (committed before any work starts).

        Rows an earlier drain took but never finished are suspects: they go one document at a time, so
        the one that stalls or kills its worker is found and quarantined, and the others get through."""
        live = (
            self._mine(),
            SearchOutbox.quarantined_at.is_(None),
            SearchOutbox.doc_id.not_in(failed) if failed else true(),
        )
        with self._session() as session, session.begin():
            session.execute(
                update(SearchOutbox)
                .where(*live, SearchOutbox.attempts >= MAX_ATTEMPTS)
                .values(quarantined_at=utcnow(), last_error=func.coalesce(SearchOutbox.last_error, STALLED))
            )
            suspect = session.scalar(
                select(SearchOutbox.doc_id)
                .where(*live, SearchOutbox.attempts > 0)
                .order_by(SearchOutbox.id)
                .limit(1)
            )
            which = SearchOutbox.doc_id == suspect if suspect is not None else SearchOutbox.attempts == 0
            rows = [
                tuple(row)
                for row in session.execute(
                    select(SearchOutbox.id, SearchOutbox.doc_id)
                    .where(*live, which)
                    .order_by(SearchOutbox.id)
                    .limit(DRAIN_BATCH)
                )
            ]
            if rows and suspect is None:
                # Later rows naming the same documents (a bulk import flushes each several times) are covered
                # by reading them now: take them too, so no document is written twice in one drain.
                rows += [
                    tuple(row)
                    for row in session.execute(
                        select(SearchOutbox.id, SearchOutbox.doc_id).where(
                            *live,
                            which,
                            SearchOutbox.id > rows[-1][0],
                            SearchOutbox.doc_id.in_({doc_id for _, doc_id in rows}),
                        )
                    )
                ]
            if rows:
                session.execute(
                    update(SearchOutbox)
                    .where(SearchOutbox.id.in_([i for i, _ in rows]))
                    .values(attempts=SearchOutbox.attempts + 1)
                )
        return rows

    def _unclaim(self, rows: list[tuple[int, str]]) -> None:
        # The index or the database failed, not the documents: give the attempt back.
        with self._session() as session, session.begin():
            for start in range(0, len(rows), DRAIN_BATCH):
                session.execute(
                    update(SearchOutbox)
                    .where(SearchOutbox.id.in_([i for i, _ in rows[start : start + DRAIN_BATCH]]))
                    .values(attempts=SearchOutbox.attempts - 1)
                )

    def _index_rows(
        self, engine: SearchEngine, url_for: UrlFor, rows: list[tuple[int, str]], failed: set[str]
    ) -> int:
        errors: dict[str, str] = {}
        try:
            changes = self._load(sorted({doc_id for _, doc_id in rows}), url_for, errors)
            written = self._apply(engine, changes, errors)
        except (SearchIndexError, OperationalError, KeyboardInterrupt):
            # Ctrl+C is no fault of these documents either: the next drain takes them with no attempt counted.
            self._unclaim(rows)
            raise
        self._settle(rows, errors)
        failed.update(errors)
        return written

    def _load(self, doc_ids: list[str], url_for: UrlFor, errors: dict[str, str]) -> dict[str, dict | None]:
        """The documents as the database has them now; one that cannot be built goes to ``errors``."""
        try:
            with self._session() as session:
                return load_documents(session, doc_ids, url_for)
        except OperationalError:
            raise
        except Exception:
            if len(doc_ids) == 1:
                errors[doc_ids[0]] = _describe_current_error()
                return {}
            out: dict[str, dict | None] = {}
            for doc_id in doc_ids:
                out.update(self._load([doc_id], url_for, errors))
            return out

    @staticmethod
    def _apply(engine: SearchEngine, changes: dict[str, dict | None], errors: dict[str, str]) -> int:
        """Write all changes at once; if that fails for a reason other than the index, one by one."""
        try:
            return engine.apply(changes)
        except SearchIndexError:
            raise
        except Exception:
            if len(changes) == 1:
                errors.update(dict.fromkeys(changes, _describe_current_error()))
                return 0
        written = 0
        for doc_id, document in changes.items():
            written += SearchIndex._apply(engine, {doc_id: document}, errors)
        return written

    def _settle(self, rows: list[tuple[int, str]], errors: dict[str, str]) -> None:
        """Delete the rows now in the index (and older quarantined rows of the same documents); record
        each failure, quarantining the rows that used up their attempts."""
        done = {doc_id for _, doc_id in rows if doc_id not in errors}
        with self._session() as session, session.begin():
            done_ids = [i for i, doc_id in rows if doc_id in done]
            for start in range(0, len(done_ids), DRAIN_BATCH):
                session.execute(
                    delete(SearchOutbox).where(SearchOutbox.id.in_(done_ids[start : start + DRAIN_BATCH]))
                )
            done_docs = sorted(done)
            for start in range(0, len(done_docs), DRAIN_BATCH):
                session.execute(
                    delete(SearchOutbox).where(
                        self._mine(),
                        SearchOutbox.doc_id.in_(done_docs[start : start + DRAIN_BATCH]),
                        SearchOutbox.quarantined_at.is_not(None),
                    )
                )
            for doc_id, error in errors.items():
                log.warning("indexing %s failed: %s", doc_id, error)
                session.execute(
                    update(SearchOutbox)
                    .where(SearchOutbox.id.in_([i for i, d in rows if d == doc_id]))
                    .values(
                        last_error=error,
                        quarantined_at=case((SearchOutbox.attempts >= MAX_ATTEMPTS, utcnow()), else_=None),
                    )
                )

    def drain_quietly(self, wait: float | None) -> bool:
        """Drain after a commit: errors are logged and the rows stay, the save is never affected.
        False when another process held the drain lock past ``wait`` (it drains our rows too)."""
        try:
            return self.drain(wait=wait) is not None
        except IndexBusyError:
            log.warning("search index busy; changes stay in the outbox for the next drain")
        except IndexMissingError:
            # A new installation before its first build (e.g. the starter import): the build indexes everything.
            log.info("no search index yet; it is built on start (or by `kms reindex`)")
        except SearchIndexError as error:
            # The next search (503 + rebuild), `kms search-check --fix` or the start-up check repairs it.
            log.warning("search index unavailable (%s); changes stay in the outbox", error)
        except Exception:
            log.exception("draining the search outbox failed; changes stay in the outbox")
        return True

    def drain_leftovers(self) -> None:
        """Now and then, drain rows an earlier worker left behind (killed mid-drain, index busy)."""
        now = time.monotonic()
        if now < self._next_leftover_check:
            return
        self._next_leftover_check = now + LEFTOVER_CHECK_SECONDS
        try:
            with self._session() as session:
                old = utcnow() - timedelta(seconds=5)
                left = session.scalar(
                    select(
                        exists().where(
                            self._mine(), SearchOutbox.created_at < old, SearchOutbox.quarantined_at.is_(None)
                        )
                    )
                )
            if left:
                self.drain_quietly(wait=0)
        except Exception:
            log.exception("checking the search outbox failed")

    def drain_soon(self, leftovers_only: bool = False) -> None:
        """Have this process's drain thread drain (or look for leftovers); returns at once."""
        self._drainer.poke(leftovers_only)

    def wait_for_drain(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for the drains this process's requests asked for so far
        (a search then shows the searcher's own save); False when they are still running."""
        return self._drainer.wait(timeout)

    def outbox_size(self) -> int:
        """Changes waiting for the index (quarantined documents not counted)."""
        with self._session() as session:
            return (
                session.scalar(
                    select(func.count(SearchOutbox.id)).where(
                        self._mine(), SearchOutbox.quarantined_at.is_(None)
                    )
                )
                or 0
            )

    def quarantined_ids(self) -> set[str]:
        with self._session() as session:
            return set(
                session.scalars(
                    select(SearchOutbox.doc_id).where(self._mine(), SearchOutbox.quarantined_at.is_not(None))
                )
            )

    def retry_quarantined(self) -> int:
        """Give every quarantined document its attempts back (after fixing what failed); returns how
        many outbox rows were queued again. The next drain tries them."""
        with self._session() as session, session.begin():
            count = session.execute(
                update(SearchOutbox)
                .where(self._mine(), SearchOutbox.quarantined_at.is_not(None))
                .values(attempts=0, quarantined_at=None)
            ).rowcount
        return count

    def quarantined(self) -> list[Quarantined]:
        """Documents that could not be indexed after MAX_ATTEMPTS tries, newest first."""
        with self._session() as session:
            rows = session.execute(
                select(
                    SearchOutbox.doc_id,
                    func.max(SearchOutbox.attempts),
                    func.max(SearchOutbox.quarantined_at),
                    func.max(SearchOutbox.id),
                )
                .where(self._mine(), SearchOutbox.quarantined_at.is_not(None))
                .group_by(SearchOutbox.doc_id)
            ).all()
            errors = dict(
                session.execute(
                    select(SearchOutbox.id, SearchOutbox.last_error).where(
                        SearchOutbox.id.in_([row[3] for row in rows])
                    )
                ).all()
            )
        items = [
            Quarantined(doc_id, attempts, errors.get(last) or STALLED, since)
            for doc_id, attempts, since, last in rows
        ]
        return sorted(items, key=lambda item: item.since, reverse=True)

    # ---- rebuilding

    def rebuild(self, progress=None) -> int:
        """Build a fresh index from the database and swap it in atomically; returns the document count.
        Searches keep using the old index (if any) until the swap. `progress(stage, done, total)` optional."""
        return self._rebuild(progress)

    def _rebuild(self, progress, only_if_stale: bool = False) -> int:
        with _file_lock(self.root / REBUILD_LOCK_FILE, None):
            server_id = self._register()
            with self._session() as session:
                _, position = changelog.position_of(session, server_id)
            stale = position is None
            if only_if_stale and not stale:
                return 0  # another process of this server caught up while we waited for the lock
            # A server that is not following (new, or too far behind) holds its drain lock for the build, so
            # no drain of its own writes an older read into the index while the build reads a newer one.
            with _file_lock(self.root / DRAIN_LOCK_FILE, None) if stale else nullcontext():
                with self._session() as session:
                    start = changelog.horizon(session)  # every change below it is read by the build
                engine = self.engine(create=True)
                url_for = self.url_for()
                with self._session() as session:
                    # A quarantined document would fail the whole build; it waits for its next edit.
                    skip = self.quarantined_ids()
                    documents = (doc for doc in iter_documents(session, url_for) if doc["id"] not in skip)
                    count = engine.rebuild(
                        _counted(documents, "documents", count_documents(session), progress)
                    )
                if stale:
                    with self._session() as session:
                        changelog.set_position_after_rebuild(session, server_id, start)
            try:
                self.drain(wait=self.drain_wait, catch_up=False)
            except SearchIndexError:
                log.warning("outbox not drained after the rebuild; it will be on the next commit")
        return count

    def request_rebuild(self) -> bool:
        """Start a rebuild in a background thread unless one is already running here or elsewhere;
        returns True when one was started."""
        with self._rebuild_guard:
            if self._rebuild_thread is not None and self._rebuild_thread.is_alive():
                return False
            with _file_lock(self.root / REBUILD_LOCK_FILE, 0) as free:
                if not free:
                    return False
            app = self.app

            def run() -> None:
                with app.app_context():
                    try:
                        count = self.rebuild()
                        log.info("search index rebuilt: %d documents", count)
                    except Exception:
                        log.exception("search index rebuild failed")

            self._rebuild_thread = threading.Thread(target=run, name="kms-search-rebuild", daemon=True)
            self._rebuild_thread.start()
            return True

    def start_check_lock(self):
        """Held by the one worker that checks (and if need be rebuilds) the index on start; yields
        False at once in the others."""
        return _file_lock(self.root / START_CHECK_LOCK_FILE, 0)

    def wait_for_rebuild(self, timeout: float | None = None) -> None:
        thread = self._rebuild_thread
        if thread is not None:
            thread.join(timeout)

    # ---- checking

    def stored_stamps(self) -> dict[str, str | None]:
        """doc id -> stamp of everything in the index."""
        engine = self.engine()
        if engine.doc_count() == 0:
            # An index without segments has no columns to read (the engine raises NotImplementedError).
            return {}
        return engine.stored_ids_and_stamps()

    def drift(self, progress=None) -> Drift:
        """Compare the index with the database, document by document (ids and content stamps)."""
        stored = self.stored_stamps()
        with self._session() as session:
            documents = _counted(
                iter_documents(session, self.url_for()),
                "database documents",
                count_documents(session),
                progress,
            )
            expected = {doc["id"]: doc["stamp"] for doc in documents}
        quarantined = self.quarantined()
        skip = {item.doc_id for item in quarantined}
        missing = sorted(set(expected) - set(stored) - skip)
        extra = sorted(set(stored) - set(expected) - skip)
        stale = sorted(
            doc_id for doc_id in set(expected) & set(stored) - skip if expected[doc_id] != stored[doc_id]
        )
        return Drift(missing, extra, stale, len(stored), len(expected), quarantined)

    def fix(self, drift: Drift) -> int:
        """Write the drifted documents as the database has them now (under the drain lock)."""
        doc_ids = [*drift.missing, *drift.extra, *drift.stale]
        if not doc_ids:
            return 0
        errors: dict[str, str] = {}
        with _file_lock(self.root / DRAIN_LOCK_FILE, None):
            changes = self._load(doc_ids, self.url_for(), errors)
            written = self._apply(self.engine(), changes, errors)
        if errors:
            # Counted as a first attempt in the outbox; the drains quarantine them if they keep failing.
            with self._session() as session, session.begin():
                session.execute(
                    insert(SearchOutbox.__table__),
                    [
                        {
                            "doc_id": doc_id,
                            "server_id": self.known_server_id(),
                            "created_at": utcnow(),
                            "attempts": 1,
                            "last_error": error,
                        }
                        for doc_id, error in errors.items()
                    ],
                )
        return written


def _counted(
    documents: Iterable[dict], stage: str, total: int, progress, *, last: bool = True
) -> Iterable[dict]:
    """The documents, telling progress(stage, done, total) every few hundred (and after the last one unless
    `last` is False: the caller then ends the stage)."""
    if progress is None:
        yield from documents
        return
    done = 0
    progress(stage, 0, total)
    for done, document in enumerate(documents, 1):
        if done % DRAIN_BATCH == 0:
            size = max(total, done)
            progress(stage, done if last else min(done, size - 1), size)
        yield document
    if last:
        progress(stage, done, max(total, done))


def init_app(app) -> None:
    """Give the app its SearchIndex and hook indexing into the (shared) session once."""
    app.extensions[EXTENSION] = SearchIndex(app)
    for name, hook in HOOKS.items():  # db.session is global: register once, however many apps
        if not event.contains(db.session, name, hook):
            event.listen(db.session, name, hook)
