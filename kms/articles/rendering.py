"""A revision's body as HTML, rendered once and kept beside the revision, keyed by the renderer's version.

The article page (and anything else showing a revision) calls rendered_html(revision); imports and saves store
the HTML when they write the revision, so pages never render a body again until the renderer changes. Bulk
imports render in a pool of processes (render_stream), one per core, while they read the files.
"""

from __future__ import annotations

import os
import queue
import signal
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from importlib.metadata import version
from multiprocessing import get_all_start_methods, get_context
from typing import Any

from kms import markdown

# Bump the first part when kms's own Markdown extensions or sanitizer rules change what a body renders to;
# the library versions change it on an upgrade. A stored HTML with another version is rendered again.
RENDERER_VERSION = f"1-md{version('markdown')}-nh3{version('nh3')}"[:40]
POOL_MINIMUM = 64  # fewer bodies render faster here than a pool starts


def render_body(body: str) -> tuple[str, str]:
    """(sanitized HTML, table of contents HTML) of a Markdown body."""
    return markdown.render_with_toc(body)


def _render_in_pool(body: str) -> tuple[str, str]:
    # A pool worker is a process of its own: it may take its time over a slow text rather than store a stand-in.
    return markdown.render_with_toc(body, time_limit=False)


def store_rendered(revision, rendered: tuple[str, str] | None = None) -> None:
    """Keep the revision's rendered HTML on it (while it is being written); a text that took too long to format
    is not kept as typed: the page tries again when it is shown."""
    html, toc = rendered if rendered is not None else render_body(revision.body)
    if markdown.shown_as_typed(html):
        revision.rendered_html = revision.rendered_toc = revision.rendered_version = None
        return
    revision.rendered_html, revision.rendered_toc, revision.rendered_version = html, toc, RENDERER_VERSION


def rendered_html(revision) -> tuple[str, str]:
    """The revision's (body HTML, table of contents HTML): the stored copy when the renderer is unchanged,
    else rendered now (never written back here: a page view does not write)."""
    if revision.rendered_version == RENDERER_VERSION and revision.rendered_html is not None:
        return revision.rendered_html, revision.rendered_toc or ""
    return render_body(revision.body)


_count: Callable[[str], Any] | None = None  # a pool worker's per-body extra work (render_stream's `count`)


def _start_worker(count: Callable[[str], Any] | None) -> None:
    # Ctrl+C reaches every process of the terminal's group: the importing process handles it (rolling back),
    # the workers leave it to that process, which ends them.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    global _count
    _count = count


def _render_and_count(body: str) -> tuple[str, str, Any]:
    html, toc = _render_in_pool(body)
    return html, toc, _count(body) if _count else None


_END = None  # what closes a stream's input


class RenderStream:
    """Bodies handed over one by one as they are read (put), rendered meanwhile by a pool of processes, and
    given back in the same order (results). Open it with render_stream()."""

    def __init__(self, count: Callable[[str], Any] | None, pool=None):
        self._count = count
        self._waiting: list[str] = []  # without a pool: rendered here, when results() asks
        self._input: queue.SimpleQueue | None = None
        self._results: Iterator[tuple[str, str, Any]] | None = None
        if pool is not None:
            self._input = queue.SimpleQueue()
            # The pool's task thread reads the bodies as they come (imap takes an iterator lazily).
            self._results = pool.imap(_render_and_count, iter(self._input.get, _END), chunksize=16)

    def put(self, body: str) -> None:
        if self._input is not None:
            self._input.put(body)
        else:
            self._waiting.append(body)

    def close_input(self) -> None:
        if self._input is not None:
            self._input.put(_END)
            self._input = None

    def results(self) -> Iterator[tuple[str, str, Any]]:
        """The (HTML, table of contents, count(body)) of each body put, in order; closes the input."""
        self.close_input()
        if self._results is not None:
            return self._results
        count = self._count
        return ((*render_body(body), count(body) if count else None) for body in self._waiting)


@contextmanager
def render_stream(
    expected: int, count: Callable[[str], Any] | None = None, workers: int | None = None
) -> Iterator[RenderStream]:
    """A RenderStream for up to `expected` bodies: with a pool of processes (one per core) that renders them
    while the caller goes on reading and writing, or, for a few bodies, rendering them in this process.
    `count` is other per-body work done in the same pass (None when not given).

    When the caller's block raises (Ctrl+C included), the workers are ended at once, not waited for."""
    workers = workers or os.cpu_count() or 1
    if expected < POOL_MINIMUM or workers < 2:
        yield RenderStream(count)
        return
    method = "fork" if "fork" in get_all_start_methods() else None
    pool = get_context(method).Pool(workers, initializer=_start_worker, initargs=(count,))
    stream = RenderStream(count, pool)
    try:
        yield stream
    except BaseException:
        stream.close_input()  # the pool's task thread waits for input: end it before ending the pool
        pool.terminate()
        raise
    else:
        stream.close_input()
        pool.close()
    finally:
        pool.join()
