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
import hashlib
import json
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import delete, event, exists, insert, inspect, select
from sqlalchemy.orm import Session, joinedload, selectinload

from kms.articles.models import Article, ArticleStatus, ArticleTag, Process, ProcessStatus, Revision
from kms.auth.models import User
from kms.auth.permissions import PERMISSIONS
from kms.extensions import db, utcnow
from kms.search.engine import IndexBusyError, SearchEngine, SearchIndexError
from kms.search.models import SearchOutbox
from kms.training.models import Lesson, Module, ModuleStatus, ModuleTag

log = logging.getLogger(__name__)

PENDING = "kms_search_pending"      # session.info flag: this transaction wrote outbox rows
EXTENSION = "kms.search"            # app.extensions key of the app's SearchIndex
DRAIN_LOCK_FILE = "kms-drain.lock"
REBUILD_LOCK_FILE = "kms-rebuild.lock"
DRAIN_BATCH = 500
LOAD_BATCH = 200
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
# Documents. A DocumentType says how to load rows of one model and turn one row into an index
# document; add one with register() (plus watch() for the models its text is made of).

UrlFor = Callable[..., str]


@dataclass(frozen=True)
class DocumentType:
    prefix: str                                  # "article" -> ids "article:12"
    model: type
    options: tuple = ()                          # loader options for batches
    build: Callable[[Any, UrlFor], dict] = None  # type: ignore[assignment]


DOCUMENT_TYPES: dict[str, DocumentType] = {}
# Model -> function(session, obj) giving the document ids a change of obj affects.
WATCHERS: dict[type, Callable[[Session, Any], Iterable[str]]] = {}
# Model -> function(session, where clause) giving the document ids a bulk UPDATE/DELETE affects.
BULK_WATCHERS: dict[type, Callable[[Session, Any], Iterable[str]]] = {}


def register(doc_type: DocumentType) -> None:
    DOCUMENT_TYPES[doc_type.prefix] = doc_type


def watch(model: type, affected: Callable[[Session, Any], Iterable[str]],
          bulk: Callable[[Session, Any], Iterable[str]] | None = None) -> None:
    WATCHERS[model] = affected
    if bulk is not None:
        BULK_WATCHERS[model] = bulk


def _owner_name(user) -> str:
    return user.name if user is not None else ""


def _article_is_public(article: Article) -> bool:
    return article.status == ArticleStatus.PUBLISHED and article.published_revision_id is not None


def _article_document(article: Article, url_for: UrlFor) -> dict:
    public = _article_is_public(article)
    # Readers see the published revision while a newer change waits for review; index what they see.
    if public and article.published_revision is not None:
        title, body = article.published_revision.title, article.published_revision.body
    else:
        title, body = article.title, article.body
    return {"type": "article", "title": title, "body": body, "tags": article.tags,
            "category": article.category, "language": article.language or "en", "status": article.status.value,
            "visibility": "public" if public else "handbook-editors", "owner": _owner_name(article.owner),
            "updated": article.updated_at, "verified": article.verified_at,
            "url": url_for("articles.show", slug=article.slug)}


def _process_document(process: Process, url_for: UrlFor) -> dict:
    article = process.article
    if article is not None and _article_is_public(article):
        url = url_for("articles.show", slug=article.slug)
    else:
        url = url_for("articles.processes", category=process.category)
    # Retired processes are hidden from readers (the inventory hides them too); editors still find them.
    retired = process.status == ProcessStatus.RETIRED
    return {"type": "process", "title": process.name, "body": process.notes, "tags": [],
            "category": process.category, "language": "en", "status": process.status.value,
            "visibility": "handbook-editors" if retired else "public", "owner": _owner_name(process.owner),
            "updated": process.updated_at, "verified": None, "url": url}


def _module_visibility(module: Module) -> str:
    return "public" if module.status == ModuleStatus.PUBLISHED else "training-editors"


def _module_document(module: Module, url_for: UrlFor) -> dict:
    lessons = "\n".join(f"- {lesson.title}" for lesson in module.lessons)
    return {"type": "module", "title": module.title, "body": f"{module.summary}\n\n{module.intro}\n\n{lessons}",
            "tags": module.tags, "category": "Training", "language": "en", "status": module.status.value,
            "visibility": _module_visibility(module), "owner": "", "updated": module.updated_at,
            "verified": None, "url": url_for("training.module", module_id=module.id)}


def _lesson_document(lesson: Lesson, url_for: UrlFor) -> dict:
    module = lesson.module
    return {"type": "lesson", "title": lesson.title, "body": lesson.body, "tags": module.tags,
            "category": "Training", "language": "en", "status": module.status.value,
            "visibility": _module_visibility(module), "owner": "", "updated": module.updated_at,
            "verified": None, "url": url_for("training.lesson", lesson_id=lesson.id)}


register(DocumentType("article", Article, (selectinload(Article.tag_rows), joinedload(Article.owner),
                                           joinedload(Article.published_revision)), _article_document))
register(DocumentType("process", Process, (joinedload(Process.owner), joinedload(Process.article)),
                      _process_document))
register(DocumentType("module", Module, (selectinload(Module.tag_rows), selectinload(Module.lessons)),
                      _module_document))
register(DocumentType("lesson", Lesson, (joinedload(Lesson.module).selectinload(Module.tag_rows),),
                      _lesson_document))


def _old_values(obj, attribute: str) -> list:
    history = inspect(obj).attrs[attribute].history
    return [value for value in (*history.deleted, *history.unchanged, *history.added) if value is not None]


def _lesson_ids(session: Session, module_ids: Iterable[int]) -> list[str]:
    ids = [m for m in module_ids if m is not None]
    if not ids:
        return []
    rows = session.connection().execute(select(Lesson.id).where(Lesson.module_id.in_(ids)))
    return [f"lesson:{lesson_id}" for (lesson_id,) in rows]


def _owned_documents(session: Session, user: User) -> list[str]:
    if not inspect(user).attrs.name.history.has_changes():
        return []
    conn = session.connection()
    return [*(f"article:{i}" for (i,) in conn.execute(select(Article.id).where(Article.owner_id == user.id))),
            *(f"process:{i}" for (i,) in conn.execute(select(Process.id).where(Process.owner_id == user.id)))]


watch(Article, lambda s, a: [f"article:{a.id}", *(f"process:{p}" for p in _old_values(a, "process_id"))],
      lambda s, where: [doc for article_id, process_id in s.connection().execute(
          select(Article.id, Article.process_id).where(where))
          for doc in (f"article:{article_id}", f"process:{process_id}") if not doc.endswith(":None")])
watch(ArticleTag, lambda s, t: [f"article:{t.article_id}"])
watch(Revision, lambda s, r: [f"article:{r.article_id}"])
watch(Process, lambda s, p: [f"process:{p.id}"],
      lambda s, where: [f"process:{i}" for (i,) in s.connection().execute(select(Process.id).where(where))])
watch(Module, lambda s, m: [f"module:{m.id}", *_lesson_ids(s, [m.id])],
      lambda s, where: [doc for (i,) in s.connection().execute(select(Module.id).where(where))
                        for doc in (f"module:{i}", *_lesson_ids(s, [i]))])
watch(ModuleTag, lambda s, t: [f"module:{t.module_id}", *_lesson_ids(s, [t.module_id])])
watch(Lesson, lambda s, lesson: [f"lesson:{lesson.id}",
                                 *(f"module:{m}" for m in _old_values(lesson, "module_id"))],
      lambda s, where: [doc for i, m in s.connection().execute(select(Lesson.id, Lesson.module_id).where(where))
                        for doc in (f"lesson:{i}", f"module:{m}")])
watch(User, _owned_documents)


def stamp(document: dict) -> str:
    """A fingerprint of a document's content: equal stamps = the index holds what the database has."""
    data = json.dumps({k: v for k, v in document.items() if k != "stamp"}, sort_keys=True, default=str)
    return hashlib.sha1(data.encode("utf-8")).hexdigest()[:20]


def _finish(doc_id: str, document: dict) -> dict:
    document["id"] = doc_id
    document["stamp"] = stamp(document)
    return document


def _url_builder(url_map) -> UrlFor:
    adapter = url_map.bind("localhost", script_name="/")
    return lambda endpoint, **values: adapter.build(endpoint, values)


def load_documents(session: Session, doc_ids: Iterable[str], url_for: UrlFor) -> dict[str, dict | None]:
    """doc id -> its document as the database has it now, or None when it is gone (or unknown)."""
    wanted: dict[str, list[int]] = {}
    out: dict[str, dict | None] = {}
    for doc_id in doc_ids:
        prefix, _, number = doc_id.partition(":")
        out[doc_id] = None
        if prefix in DOCUMENT_TYPES and number.isdigit():
            wanted.setdefault(prefix, []).append(int(number))
    for prefix, ids in wanted.items():
        doc_type = DOCUMENT_TYPES[prefix]
        for start in range(0, len(ids), LOAD_BATCH):
            chunk = ids[start:start + LOAD_BATCH]
            query = select(doc_type.model).where(doc_type.model.id.in_(chunk)).options(*doc_type.options)
            for obj in session.scalars(query).unique():
                doc_id = f"{prefix}:{obj.id}"
                out[doc_id] = _finish(doc_id, doc_type.build(obj, url_for))
    return out


def iter_documents(session: Session, url_for: UrlFor) -> Iterator[dict]:
    """Every document the database holds, type by type, in batches (for rebuilds and drift checks)."""
    for prefix, doc_type in DOCUMENT_TYPES.items():
        ids = list(session.scalars(select(doc_type.model.id).order_by(doc_type.model.id)))
        for start in range(0, len(ids), LOAD_BATCH):
            chunk = [f"{prefix}:{i}" for i in ids[start:start + LOAD_BATCH]]
            for document in load_documents(session, chunk, url_for).values():
                if document is not None:
                    yield document
            session.expunge_all()


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
