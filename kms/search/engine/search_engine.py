"""SearchEngine: one index directory opened, read, written and rebuilt, safely from several threads
and processes.

Layout of the index directory (``root``)::

    CURRENT             name of the live index directory, replaced atomically by rebuild()
    ix-<time>-<hex>/    one complete Whoosh index (the live one, the previous one, a build)
    rebuild.lock        held (flock) for the whole of a rebuild
    REBUILDING          name of the index being built; apply() logs its changes for replay
    replay-<name>.log   changes applied to the live index during a rebuild, replayed before the swap

Writers always take Whoosh's index lock with a timeout (a bare writer loses concurrent updates, see
SEARCH-NOTES); readers take no lock. Each process keeps one searcher per engine and refreshes it
when the index changes, reusing the readers of unchanged segments.
"""

from __future__ import annotations

import os
import shutil
import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Self

from kms.search import schema as S
from kms.search.engine import whoosh_adapter as wa
from kms.search.engine.build import (
    FileLock,
    _is_locked,
    acquire_within,
    atomic_write,
    build_into,
    log_for_rebuild,
    new_index_name,
    remove_stale_indexes,
    replay_changes,
)
from kms.search.engine.constants import (
    CURRENT_FILE,
    FACETS,
    INDEX_PREFIX,
    MAX_QUERY_CHARS,
    REBUILD_LOCK_FILE,
    REBUILD_MARKER_FILE,
)
from kms.search.engine.errors import IndexBusyError, IndexCorruptError, IndexMissingError, SearchIndexError
from kms.search.engine.generation import Generation
from kms.search.engine.query import filter_constraints, parse_query
from kms.search.engine.results import SearchResult, TitleSuggestion
from kms.search.engine.searching import search_generation, suggest_titles_in
from kms.search.engine.segments import IndexView


class SearchEngine:
    """The search index in ``directory``: create-or-open, write, rebuild, query.

    One instance per process (per index) is meant to live as long as the process: it keeps the open
    segment readers and per-segment caches between queries and picks up other processes' writes on
    the next query. It is safe to use from several threads (queries take turns), and several
    processes may read, write and rebuild the same directory at once.

    ``create``: make an empty index when there is none (else IndexMissingError). ``lock_timeout``:
    seconds apply() waits for the write lock before IndexBusyError. ``cache_size``: results kept per
    index generation (0 = off). ``procs``: rebuild worker processes (default: one per core, max 4)."""

    def __init__(
        self,
        directory: str | os.PathLike[str],
        *,
        create: bool = True,
        lock_timeout: float = 10.0,
        cache_size: int = 256,
        procs: int | None = None,
    ):
        self.root = Path(directory)
        self.lock_timeout = lock_timeout
        self.cache_size = cache_size
        self.procs = procs if procs is not None else min(4, os.cpu_count() or 1)
        self._lock = threading.RLock()  # the searcher and its caches
        self._write_mutex = threading.Lock()  # one writer per process at a time
        self._view: IndexView | None = None
        self._cache: OrderedDict[Any, Any] = OrderedDict()
        self._write_ix: tuple[str, wa.Index] | None = None
        if create:
            self._create_if_missing()
        elif not (self.root / CURRENT_FILE).exists():
            raise IndexMissingError(f"no search index in {self.root}")

    # ---- lifecycle

    def _create_if_missing(self) -> None:
        if (self.root / CURRENT_FILE).exists():
            return
        self.root.mkdir(parents=True, exist_ok=True)
        with FileLock(self.root / REBUILD_LOCK_FILE):
            if (self.root / CURRENT_FILE).exists():
                return
            name = new_index_name()
            build_into(self.root / name, (), 1)
            atomic_write(self.root / CURRENT_FILE, name + "\n")

    def close(self) -> None:
        with self._lock:
            if self._view is not None:
                self._view.close()
                self._view = None
            self._cache.clear()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _current_name(self) -> str:
        try:
            name = (self.root / CURRENT_FILE).read_text(encoding="utf-8").strip()
        except FileNotFoundError as exc:
            raise IndexMissingError(f"no search index in {self.root}") from exc
        except OSError as exc:
            raise IndexCorruptError(f"cannot read {self.root / CURRENT_FILE}: {exc}") from exc
        if not name.startswith(INDEX_PREFIX) or "/" in name or name in (".", ".."):
            raise IndexCorruptError(f"{self.root / CURRENT_FILE} names {name!r}, not an index")
        return name

    def _generation(self) -> Generation:
        """The current generation, reopening or refreshing as needed (call with self._lock held)."""
        name = self._current_name()
        view = self._view
        if view is None or view.name != name:
            new_view = IndexView(self.root, name)
            if view is not None:
                view.close()
            self._view = view = new_view
            self._cache.clear()
        elif view.refresh():
            self._cache.clear()
        assert view.gen is not None
        return view.gen

    def _drop_view(self) -> None:
        if self._view is not None:
            self._view.close()
            self._view = None
        self._cache.clear()

    def _reading(self, action: Any) -> Any:
        """Run ``action(gen)`` on the current generation; turn index damage into SearchIndexError.
        A directory swapped away by another process's rebuild is retried once on the new one."""
        with self._lock:
            for attempt in range(2):
                name = self._view.name if self._view is not None else None
                try:
                    return action(self._generation())
                except SearchIndexError:
                    self._drop_view()
                    raise
                except wa.INDEX_ERRORS as exc:
                    self._drop_view()
                    if attempt == 0 and name is not None and self._current_name() != name:
                        continue
                    raise IndexCorruptError(f"search index in {self.root} is unreadable: {exc!r}") from exc
        raise AssertionError("unreachable")

    # ---- reading

    def doc_count(self) -> int:
        """Number of (live) documents in the index."""
        return self._reading(lambda gen: gen.reader.doc_count())

    def stored_ids_and_stamps(self) -> dict[str, str | None]:
        """id -> stamp (the document's 'stamp', else its 'updated' time) of every live document,
        for comparing the index with the database."""

        def read(gen: Generation) -> dict[str, str | None]:
            out: dict[str, str | None] = {}
            for _, leaf_reader, _ in gen.segments:
                ids = leaf_reader.column_reader("id")
                stamps = leaf_reader.column_reader("stamp")
                deleted = wa.deleted_docnums(leaf_reader)
                for docnum in range(leaf_reader.doc_count_all()):
                    if docnum not in deleted:
                        out[ids[docnum]] = stamps[docnum] or None
            return out

        return self._reading(read)

    def check(self, deep: bool = False) -> int:
        """Open the index and return its document count; with ``deep``, also read every posting
        list and stored document (slow: minutes on big indexes). Raises SearchIndexError."""

        def run(gen: Generation) -> int:
            if deep:
                for _, leaf_reader, _ in gen.segments:
                    wa.read_segment_fully(leaf_reader)
            return gen.reader.doc_count()

        with self._lock:
            self._drop_view()
        return self._reading(run)

    def warm(self) -> None:
        """Load what the first queries would otherwise load: document lengths, visibility and facet
        masks, and the typo-correction vocabularies. Optional; e.g. from a thread after startup or
        after a rebuild."""

        def run(gen: Generation) -> None:
            for fieldname in ("visibility", *(name for _, name in FACETS)):
                gen.keyword_masks(fieldname)
            for segid, leaf_reader, _ in gen.segments:
                for family in gen.active:
                    for fieldname in (S.title_field(family), S.body_field(family)):
                        gen.view.field_lengths(segid, leaf_reader, fieldname)
            for family in gen.active:
                if family != "cjk":
                    gen.near_terms(family, "warm", 1)  # builds the per-segment vocabularies

        self._reading(run)

    def search(
        self,
        query_text: str,
        *,
        visibilities: Iterable[str],
        filters: Mapping[str, Any] | None = None,
        page: int = 1,
        pagelen: int = 10,
    ) -> SearchResult:
        """Search everything the user may see. Results, counts, facets and the suggestion only ever
        come from documents whose visibility is in ``visibilities``. ``filters`` maps type /
        category / tag / lang / status / owner to a value or a list of values (any of them)."""
        query_text = (query_text or "")[:MAX_QUERY_CHARS]
        parsed = parse_query(query_text)
        visible = frozenset(S.normalize_keyword(v) for v in visibilities if str(v).strip())
        constraints = parsed.filters + filter_constraints(filters)
        page = max(1, min(int(page), 10_000))
        pagelen = max(1, min(int(pagelen), 100))
        empty = SearchResult(query_text, (), 0, page, pagelen, {name: () for name, _ in FACETS})
        if not visible or (not parsed.groups and not constraints):
            return empty

        def run(gen: Generation) -> SearchResult:
            key = (gen.key, parsed, visible, constraints, page, pagelen, query_text)
            cached = self._cache.get(key)
            if cached is not None:
                self._cache.move_to_end(key)
                return cached
            result = search_generation(gen, query_text, parsed, visible, constraints, page, pagelen, empty)
            if self.cache_size:
                self._cache[key] = result
                if len(self._cache) > self.cache_size:
                    self._cache.popitem(last=False)
            return result

        return self._reading(run)

    def suggest_titles(
        self, prefix: str, *, visibilities: Iterable[str], limit: int = 8
    ) -> list[TitleSuggestion]:
        """Type-ahead: titles of visible documents whose words start with what was typed so far."""
        prefix = (prefix or "")[:200]
        visible = frozenset(S.normalize_keyword(v) for v in visibilities if str(v).strip())
        analyzer = S.SCHEMA["title_ac"].analyzer
        words = analyzer.terms(prefix)[:12]
        if not words or not visible or limit < 1:
            return []
        complete, last = (words, None) if prefix[-1:].isspace() else (words[:-1], words[-1])

        return self._reading(lambda gen: suggest_titles_in(gen, prefix, complete, last, visible, limit))

    # ---- writing

    def apply(self, changes: Mapping[str, Mapping[str, Any] | None]) -> int:
        """Write changes (doc id -> document, or None to delete) with one writer and one commit.

        Waits up to ``lock_timeout`` for the index lock (IndexBusyError after that), so concurrent
        writers in other processes are serialized instead of losing updates. Returns the number of
        changes written; they are visible to this process's next search at once, and to other
        processes' next search (they check for a new generation on every search)."""
        prepared: list[tuple[str, dict[str, Any] | None]] = []
        for doc_id, doc in changes.items():
            doc_id = str(doc_id)
            if doc is None:
                prepared.append((doc_id, None))
                continue
            fields_ = S.prepare_document({**doc, "id": doc.get("id") or doc_id})
            if fields_["id"] != doc_id:
                raise ValueError(f"change for {doc_id!r} holds a document with id {fields_['id']!r}")
            prepared.append((doc_id, fields_))
        if not prepared:
            return 0
        with self._write_mutex:
            while True:
                name = self._current_name()
                ix = self._writer_index(name)
                try:
                    writer = wa.open_writer(ix, timeout=self.lock_timeout, delay=0.02)
                except wa.IndexLocked as exc:
                    raise IndexBusyError(
                        f"search index {self.root / name} stayed locked for {self.lock_timeout} s"
                    ) from exc
                except wa.INDEX_ERRORS as exc:
                    raise IndexCorruptError(f"cannot write search index {self.root / name}: {exc!r}") from exc
                try:
                    if self._current_name() != name:
                        writer.cancel()  # a rebuild swapped indexes while we waited for the lock
                        continue
                    log_for_rebuild(self.root, prepared)
                    wa.write_changes(writer, prepared)
                    writer.commit()
                except BaseException:
                    if not writer.is_closed:
                        writer.cancel()
                    raise
                break
        return len(prepared)

    def _writer_index(self, name: str) -> wa.Index:
        if self._write_ix is None or self._write_ix[0] != name:
            path = self.root / name
            if not path.is_dir():
                raise IndexMissingError(f"search index directory {path} is missing")
            self._write_ix = (name, wa.open_index(path))
        return self._write_ix[1]

    def is_rebuilding(self) -> bool:
        """Whether a rebuild of this index is running (in any process)."""
        return _is_locked(self.root / REBUILD_LOCK_FILE)

    def rebuild(self, documents: Iterable[Mapping[str, Any]]) -> int:
        """Index ``documents`` into a fresh directory and switch every process over to it atomically.

        Searches keep working on the old index until the switch. Changes apply()-ed while the build
        runs are replayed into the new index before the switch, so pass a lazy iterable (read the
        database inside it) and nothing written meanwhile is lost. Returns the new document count."""
        self.root.mkdir(parents=True, exist_ok=True)
        with FileLock(self.root / REBUILD_LOCK_FILE):
            name = new_index_name()
            path = self.root / name
            replay = self.root / f"replay-{name}.log"
            marker = self.root / REBUILD_MARKER_FILE
            atomic_write(marker, name + "\n")
            try:
                build_into(path, documents, self.procs)
                try:
                    old = self._current_name()
                except SearchIndexError:
                    old = None
                old_lock = None
                if old and (self.root / old).is_dir():
                    old_lock = FileLock(self.root / old / wa.WRITE_LOCK_FILE)
                if old_lock is not None and not acquire_within(old_lock, max(self.lock_timeout, 60.0)):
                    raise IndexBusyError(
                        f"search index {self.root / old} stayed locked; rebuild not switched"
                    )
                try:
                    count = replay_changes(path, replay)
                    atomic_write(self.root / CURRENT_FILE, name + "\n")
                finally:
                    if old_lock is not None:
                        old_lock.release()
            except BaseException:
                shutil.rmtree(path, ignore_errors=True)
                raise
            finally:
                marker.unlink(missing_ok=True)
                replay.unlink(missing_ok=True)
            remove_stale_indexes(self.root, keep={name, old or ""})
        return count
