"""Writing whole indexes: file locks, atomic writes, the serial and parallel build, the replay log of
changes made during a rebuild, and removing old index directories."""

from __future__ import annotations

import fcntl
import gc
import itertools
import logging
import os
import pickle
import queue
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import uuid
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any, Self

from kms.search import schema as S
from kms.search.engine import whoosh_adapter as wa
from kms.search.engine.constants import (
    BUILD_BATCH,
    INDEX_PREFIX,
    META_FILE,
    PARALLEL_MIN_DOCS,
    REBUILD_LOCK_FILE,
    REBUILD_MARKER_FILE,
    SEGMENT_MB,
)

log = logging.getLogger("kms.search.engine")  # the engine's one logger, as before the split


def atomic_write(path: Path, content: str) -> None:
    """Replace ``path`` with ``content`` so readers see the old or the new file, never half of one."""
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    with open(tmp, "w", encoding="utf-8") as handle:
        handle.write(content)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
    try:
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    except OSError:
        pass


class FileLock:
    """An exclusive flock on a file; works between processes and between threads."""

    def __init__(self, path: Path):
        self.path = path
        self.fd: int | None = None

    def acquire(self, blocking: bool = True) -> bool:
        fd = os.open(self.path, os.O_CREAT | os.O_RDWR, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
        except BlockingIOError:
            os.close(fd)
            return False
        self.fd = fd
        return True

    def release(self) -> None:
        if self.fd is not None:
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)
            self.fd = None

    def __enter__(self) -> Self:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def _is_locked(path: Path) -> bool:
    """True if another holder has an exclusive flock on ``path``."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        return False
    except BlockingIOError:
        return True
    finally:
        os.close(fd)


# --------------------------------------------------------------------------------------------------
# Building a fresh index (serial, or in worker processes that each write one segment).


def build_worker(path: str, segment_mb: int) -> None:
    """Entry point of a build worker process: pickled document batches arrive on stdin until None;
    the segments written go back on stdout as ("ok", segments, indexed, skipped)."""
    # The postings pool is millions of small lists and tuples, none of them in a reference cycle, that
    # live until the segment is written: the cyclic collector's passes over them cost a tenth of the
    # build and free nothing. The process ends with the build.
    gc.disable()
    source, sink = sys.stdin.buffer, sys.stdout.buffer
    try:
        builder = wa.SegmentBuilder(path, segment_mb)
        count = skipped = 0
        while (batch := pickle.load(source)) is not None:
            for doc in batch:
                try:
                    fields_ = S.prepare_document(doc)
                except ValueError:
                    skipped += 1
                    continue
                builder.add(fields_)
                count += 1
        segments = builder.finish()
        pickle.dump(("ok", segments, count, skipped), sink)
    except BaseException as exc:
        pickle.dump(("error", f"{exc!r}\n{traceback.format_exc()}", 0, 0), sink)
        sink.flush()
        raise SystemExit(1) from exc
    sink.flush()


# The worker imports only kms.search.schema and .engine: kms/__init__.py would build the whole Flask
# app for nothing, so the two packages are registered as bare namespaces first.
_WORKER_CODE = """
import sys, types
for name, folder in ((\"kms\", sys.argv[1]), (\"kms.search\", sys.argv[2])):
    if name not in sys.modules:
        package = types.ModuleType(name)
        package.__path__ = [folder]
        sys.modules[name] = package
from kms.search.engine.build import build_worker
build_worker(sys.argv[3], int(sys.argv[4]))
"""


def build_into(path: Path, documents: Iterable[Mapping[str, Any]], procs: int) -> int:
    """Build a complete index of ``documents`` in the new directory ``path``; the documents indexed."""
    path.mkdir(parents=True)
    wa.create_index(path)
    (path / META_FILE).write_text(f"schema {S.SCHEMA_VERSION}\n", encoding="utf-8")
    seen: set[str] = set()

    def unique(docs: Iterable[Mapping[str, Any]]) -> Iterator[Mapping[str, Any]]:
        for doc in docs:
            doc_id = str(doc.get("id") or "")
            if doc_id in seen:
                log.warning("rebuild: duplicate document id %r skipped", doc_id)
                continue
            seen.add(doc_id)
            yield doc

    stream = unique(documents)
    head = list(itertools.islice(stream, PARALLEL_MIN_DOCS))
    ix = wa.open_index(path)
    if procs < 2 or len(head) < PARALLEL_MIN_DOCS:
        writer = wa.bulk_writer(ix)
        count = 0
        try:
            for doc in itertools.chain(head, stream):
                try:
                    fields_ = S.prepare_document(doc)
                except ValueError as exc:
                    log.warning("rebuild: %s", exc)
                    continue
                writer.add_document(**fields_)
                count += 1
        except BaseException:
            writer.cancel()
            raise
        writer.commit(optimize=True)
        return count
    return _build_parallel(ix, path, itertools.chain(head, stream), procs)


def _build_parallel(ix: wa.Index, path: Path, documents: Iterator[Mapping[str, Any]], procs: int) -> int:
    # Fresh interpreters rather than fork: forking a process whose other threads hold locks is
    # unsafe, and multiprocessing's spawn re-runs the parent's __main__ script.
    package = Path(S.__file__).resolve().parent
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    workers = []
    for _ in range(procs):
        errors_file = tempfile.TemporaryFile()  # noqa: SIM115 - closed after the worker exits
        process = subprocess.Popen(
            [
                sys.executable,
                "-c",
                _WORKER_CODE,
                str(package.parent),
                str(package),
                str(path),
                str(SEGMENT_MB),
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=errors_file,
            env=env,
        )
        workers.append((process, errors_file))
    batches: queue.Queue = queue.Queue(maxsize=procs * 2)
    feed_errors: list[BaseException] = []

    def feed(process: subprocess.Popen) -> None:
        # One feeder thread per worker pulls the next batch: a busy worker never holds up the rest.
        try:
            while (batch := batches.get()) is not None:
                pickle.dump(batch, process.stdin, protocol=pickle.HIGHEST_PROTOCOL)
            pickle.dump(None, process.stdin)
            process.stdin.close()
        except BaseException as exc:  # noqa: BLE001 - a dead worker; reported below
            feed_errors.append(exc)
            while batches.get() is not None:
                pass

    feeders = [threading.Thread(target=feed, args=(process,), daemon=True) for process, _ in workers]
    for feeder in feeders:
        feeder.start()
    outcomes = []
    try:
        batch: list[dict[str, Any]] = []
        for doc in documents:
            batch.append(dict(doc))
            if len(batch) >= BUILD_BATCH:
                batches.put(batch)
                batch = []
        if batch:
            batches.put(batch)
    finally:
        for _ in feeders:
            batches.put(None)
        for feeder in feeders:
            feeder.join()
        for process, errors_file in workers:
            try:
                outcomes.append(pickle.load(process.stdout))
            except (EOFError, pickle.UnpicklingError):
                errors_file.seek(0)
                detail = errors_file.read().decode("utf-8", "replace")[-4000:]
                outcomes.append(("error", f"worker exited with {process.wait()}:\n{detail}", 0, 0))
            process.stdout.close()
            process.wait()
            errors_file.close()
    errors = [detail for status, detail, _, _ in outcomes if status != "ok"]
    if errors:
        raise RuntimeError("search index build failed in a worker:\n" + "\n".join(errors))
    segments = [segment for _, worker_segments, _, _ in outcomes for segment in worker_segments]
    skipped = sum(outcome[3] for outcome in outcomes)
    if skipped:
        log.warning("rebuild: %d documents skipped (no id or visibility)", skipped)
    # Commit the workers' segments in one TOC, as Whoosh's own multiprocess writer does.
    wa.commit_segments(ix, segments)
    return sum(outcome[2] for outcome in outcomes)


def acquire_within(lock: FileLock, timeout: float) -> bool:
    """Try to take ``lock`` for up to ``timeout`` seconds; True if it was taken."""
    deadline = time.monotonic() + timeout
    while True:
        if lock.acquire(blocking=False):
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.02)


def log_for_rebuild(root: Path, prepared: list[tuple[str, dict[str, Any] | None]]) -> None:
    """While a rebuild runs, append changes written to the live index to its replay log."""
    marker = root / REBUILD_MARKER_FILE
    if not marker.exists() or not _is_locked(root / REBUILD_LOCK_FILE):
        return
    try:
        build = marker.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return
    with open(root / f"replay-{build}.log", "ab") as handle:
        pickle.dump(prepared, handle, protocol=pickle.HIGHEST_PROTOCOL)
        handle.flush()
        os.fsync(handle.fileno())


def replay_changes(path: Path, replay: Path) -> int:
    """Apply the changes logged in ``replay`` to the index in ``path``; its document count after."""
    ix = wa.open_index(path)
    if replay.exists():
        records = []
        with open(replay, "rb") as handle:
            while True:
                try:
                    records.append(pickle.load(handle))
                except EOFError:
                    break
        if records:
            writer = wa.open_writer(ix, timeout=5.0)
            try:
                for prepared in records:
                    wa.write_changes(writer, prepared)
            except BaseException:
                writer.cancel()
                raise
            writer.commit()
    return wa.index_doc_count(ix)


def new_index_name() -> str:
    """A fresh, unique index directory name (time-ordered)."""
    return f"{INDEX_PREFIX}{time.strftime('%Y%m%d%H%M%S')}-{uuid.uuid4().hex[:8]}"


def remove_stale_indexes(root: Path, keep: set[str]) -> None:
    # The previous index stays one more round: other processes may still be reading it.
    """Delete the index directories under ``root`` other than ``keep``."""
    for entry in root.iterdir():
        if entry.is_dir() and entry.name.startswith(INDEX_PREFIX) and entry.name not in keep:
            shutil.rmtree(entry, ignore_errors=True)
