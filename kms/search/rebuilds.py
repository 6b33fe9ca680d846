"""Search index rebuilds started from the web (and on start, and by `kms reindex`), with their progress kept in
the index folder so that any worker of this server can show it on /search/health while the build runs.

The progress file (kms.progress.ProgressFile) holds the stage, done and total counts, when the stage started and
when the file was last written; the page works out the rate and the time left from those. A build whose
process died is shown as stopped (at once on its machine, else after STALLED_AFTER seconds without a write):
the button offers a new one.
"""

from __future__ import annotations

import time
from pathlib import Path

from kms import progress

_now = time.time  # the readers' clock (a test moves it)

PROGRESS_FILE = "kms-rebuild-progress.json"
STALLED_AFTER = progress.STALLED_AFTER
RebuildProgress = progress.RecordedProgress


class ProgressFile(progress.ProgressFile):
    """A progress(stage, done, total) callable that keeps the build's progress in the index folder."""

    def __init__(self, root: Path, started_by: str, *, clock=time.time):
        super().__init__(Path(root) / PROGRESS_FILE, started_by, clock=clock)


def read_progress(root: Path, *, now: float | None = None) -> RebuildProgress | None:
    """The latest rebuild's progress recorded in the index folder `root`, or None when none was recorded."""
    return progress.read_progress(Path(root) / PROGRESS_FILE, now=_now() if now is None else now)
