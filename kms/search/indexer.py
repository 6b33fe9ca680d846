"""Keeping the search index in step with the database: documents, the outbox and the session hooks.

Every flush that touches an indexed object (or something a document is made of: tags, revisions, a
lesson's module, an owner's name) inserts outbox rows naming the documents, on the same connection, so
they commit or roll back with the edit. After the commit the outbox is drained: under an
inter-process lock, documents are read from the database as it is *now* and applied to the index with
the engine's timed writer, then the drained rows are deleted. Because reading and applying happen under
one lock, a later drain always applies a newer state, so workers never write an older version over a
newer one. A busy or broken index leaves the rows in place for the next commit, `kms search-check
--fix` or the start-up check; a save never waits long for the index and never fails because of it.
"""
from __future__ import annotations

import fcntl
import logging
import os
import threading
import time
from collections.abc import Iterable
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import delete, event, exists, insert, select
from sqlalchemy.orm import Session

from kms.auth.permissions import PERMISSIONS
from kms.extensions import db, deciding_per_statement, utcnow
from kms.search.documents import BULK_WATCHERS, WATCHERS, UrlFor, _url_builder, iter_documents, load_documents
from kms.search.engine import IndexBusyError, IndexMissingError, SearchEngine, SearchIndexError
from kms.search.models import SearchOutbox

log = logging.getLogger(__name__)

PENDING = "kms_search_pending"      # session.info flag: this transaction wrote outbox rows
EXTENSION = "kms.search"            # app.extensions key of the app's SearchIndex
DRAIN_LOCK_FILE = "kms-drain.lock"
REBUILD_LOCK_FILE = "kms-rebuild.lock"
DRAIN_BATCH = 500
LEFTOVER_CHECK_SECONDS = 30.0       # how often a quiet process looks for rows a killed worker left

# Visibility keyword -> the action whose roles may read such documents. Each role's visibility set is
# derived from the permission table, so a role change there changes search too.
VISIBILITY_ACTIONS = {
    "public": "search.query",
    "handbook-editors": "handbook.write",
    "training-editors": "training.edit",
}


def visibilities_for(role) -> frozenset[str]:
    """The visibility keywords a role may search (empty for no role)."""
    return frozenset(keyword for keyword, action in VISIBILITY_ACTIONS.items()
                     if role is not None and role in PERMISSIONS[action])


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
    rows = [{"doc_id": doc_id, "created_at": utcnow()} for doc_id in sorted(set(doc_ids))]
    if rows:
        session.connection().execute(insert(SearchOutbox.__table__), rows)
        session.info[PENDING] = True


def _after_flush(session: Session, _flush_context) -> None:
    doc_ids = _affected(session, session.new, False) | _affected(session, session.deleted, False) | \
        _affected(session, session.dirty, True)
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
    from flask import current_app, has_app_context

    if not has_app_context():
        return
    index: SearchIndex | None = current_app.extensions.get(EXTENSION)
    if index is None:
        return
    # The hook runs inside the committing unit of work; its own reads must not begin with BEGIN IMMEDIATE.
    with deciding_per_statement():
        if session.info.pop(PENDING, False):
            index.drain_quietly(wait=index.drain_wait)
        else:
            index.drain_leftovers()


def _after_rollback(session: Session) -> None:
    # The outbox rows were rolled back with the edit; the index never heard of it.
    session.info.pop(PENDING, None)


HOOKS = {"after_flush": _after_flush, "do_orm_execute": _bulk_statement, "after_commit": _after_commit,
         "after_rollback": _after_rollback}


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

    missing: list[str]        # in the database, not in the index
    extra: list[str]          # in the index, not in the database
    stale: list[str]          # in both, but the index holds another version
    index_count: int
    database_count: int

    @property
    def clean(self) -> bool:
        return not (self.missing or self.extra or self.stale)


class SearchIndex:
    """The search index of one app (its KMS_SEARCH_DIR). Methods need that app's context."""

    def __init__(self, app):
        self.app = app
        self.root = Path(app.config["KMS_SEARCH_DIR"])
        self.drain_wait = float(app.config.get("KMS_SEARCH_DRAIN_WAIT", 5.0))
        self.lock_timeout = float(app.config.get("KMS_SEARCH_LOCK_TIMEOUT", 10.0))
        self._next_leftover_check = 0.0
        self._rebuild_thread: threading.Thread | None = None
        self._rebuild_guard = threading.Lock()

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
        return _url_builder(self.app.url_map)

    def _session(self) -> Session:
        # A session of its own (own connection): never the one that is committing, and never a
        # request's session with its snapshot and pending objects.
        return Session(db.engine, expire_on_commit=False)

    # ---- draining

    def drain(self, wait: float | None = None) -> int:
        """Apply everything in the outbox to the index; returns the number of documents written.

        Raises SearchIndexError (the rows stay) when the index is busy, missing or broken; returns 0
        without waiting further when another process holds the drain lock past ``wait``."""
        written = 0
        with _file_lock(self.root / DRAIN_LOCK_FILE, wait) as got:
            if not got:
                return 0
            engine = self.engine()
            url_for = self.url_for()
            for _ in range(20):      # new rows may arrive while we work; don't loop forever
                with self._session() as session:
                    rows = session.execute(select(SearchOutbox.id, SearchOutbox.doc_id)
                                           .order_by(SearchOutbox.id).limit(DRAIN_BATCH)).all()
                    if not rows:
                        break
                    # Read after taking the lock: nobody can apply an older state after this one.
                    changes = load_documents(session, {doc_id for _, doc_id in rows}, url_for)
                    session.rollback()
                engine.apply(changes)
                written += len(changes)
                with self._session() as session, session.begin():
                    session.execute(delete(SearchOutbox).where(SearchOutbox.id.in_([i for i, _ in rows])))
                # Loop: rows committed while we applied are ours to drain too.
        return written

    def drain_quietly(self, wait: float | None) -> None:
        """Drain after a commit: errors are logged and the rows stay, the save is never affected."""
        try:
            self.drain(wait=wait)
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

    def drain_leftovers(self) -> None:
        """Now and then, drain rows an earlier worker left behind (killed mid-drain, index busy)."""
        now = time.monotonic()
        if now < self._next_leftover_check:
            return
        self._next_leftover_check = now + LEFTOVER_CHECK_SECONDS
        try:
            with self._session() as session:
                old = utcnow() - timedelta(seconds=5)
                left = session.scalar(select(exists().where(SearchOutbox.created_at < old)))
            if left:
                self.drain_quietly(wait=0)
        except Exception:
            log.exception("checking the search outbox failed")

    def outbox_size(self) -> int:
        from sqlalchemy import func

        with self._session() as session:
            return session.scalar(select(func.count(SearchOutbox.id))) or 0

    # ---- rebuilding

    def rebuild(self) -> int:
        """Build a fresh index from the database and swap it in atomically; returns the document count.
        Searches keep using the old index (if any) until the swap."""
        with _file_lock(self.root / REBUILD_LOCK_FILE, None):
            engine = self.engine(create=True)
            url_for = self.url_for()
            with self._session() as session:
                count = engine.rebuild(iter_documents(session, url_for))
            try:
                self.drain(wait=self.drain_wait)
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

    def drift(self) -> Drift:
        """Compare the index with the database, document by document (ids and content stamps)."""
        stored = self.stored_stamps()
        with self._session() as session:
            expected = {doc["id"]: doc["stamp"] for doc in iter_documents(session, self.url_for())}
        missing = sorted(set(expected) - set(stored))
        extra = sorted(set(stored) - set(expected))
        stale = sorted(doc_id for doc_id in set(expected) & set(stored) if expected[doc_id] != stored[doc_id])
        return Drift(missing, extra, stale, len(stored), len(expected))

    def fix(self, drift: Drift) -> int:
        """Write the drifted documents as the database has them now (under the drain lock)."""
        doc_ids = [*drift.missing, *drift.extra, *drift.stale]
        if not doc_ids:
            return 0
        with _file_lock(self.root / DRAIN_LOCK_FILE, None):
            with self._session() as session:
                changes = load_documents(session, doc_ids, self.url_for())
            return self.engine().apply(changes)


def init_app(app) -> None:
    """Give the app its SearchIndex and hook indexing into the (shared) session once."""
    app.extensions[EXTENSION] = SearchIndex(app)
    for name, hook in HOOKS.items():     # db.session is global: register once, however many apps
        if not event.contains(db.session, name, hook):
            event.listen(db.session, name, hook)
