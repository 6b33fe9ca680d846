"""A revision's body as HTML, rendered once and kept beside the revision, keyed by the renderer's version.

The article page (and anything else showing a revision) calls rendered_html(revision); imports and saves store
the HTML when they write the revision, so pages never render a body again until the renderer changes. Bulk
imports render in a pool of processes (render_many), one per core.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable, Iterator, Sequence
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


_count: Callable[[str], Any] | None = None  # a pool worker's per-body extra work (render_many's `count`)


def _start_worker(count: Callable[[str], Any] | None) -> None:
    # Ctrl+C reaches every process of the terminal's group: the importing process handles it (rolling back),
    # the workers leave it to that process, which ends them.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    global _count
    _count = count


def _render_and_count(body: str) -> tuple[str, str, Any]:
    html, toc = _render_in_pool(body)
    return html, toc, _count(body) if _count else None


@contextmanager
def render_many(
    bodies: Sequence[str], count: Callable[[str], Any] | None = None, workers: int | None = None
) -> Iterator[Iterator[tuple[str, str, Any]]]:
    """Yields an iterator over the bodies' (HTML, table of contents, count(body)), in order, computed by a pool
    of processes (one per core) while the caller goes on with other work. Small batches run in this process.
    `count` is other per-body work done in the same pass (None when not given).

    When the caller's block raises (Ctrl+C included), the workers are ended at once, not waited for."""
    workers = workers or os.cpu_count() or 1
    if len(bodies) < POOL_MINIMUM or workers < 2:
        yield ((*render_body(body), count(body) if count else None) for body in bodies)
        return
    method = "fork" if "fork" in get_all_start_methods() else None
    pool = get_context(method).Pool(workers, initializer=_start_worker, initargs=(count,))
    try:
        yield pool.imap(_render_and_count, bodies, chunksize=16)
    except BaseException:
        pool.terminate()
        raise
    else:
        pool.close()
    finally:
        pool.join()
