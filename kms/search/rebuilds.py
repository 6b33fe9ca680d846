"""Search index rebuilds started from the web (and on start, and by `kms reindex`), with their progress kept in
the index folder so that any worker of this server can show it on /search/health while the build runs.

The progress file holds the stage, done and total counts, when the stage started and when the file was last
written; the page works out the rate and the time left from those. The file is replaced whole (written beside
it, then renamed), so a reader never sees half of it. A build whose file has not been written for STALLED_AFTER
seconds is shown as stopped (its process died): the button offers a new one.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)
_now = time.time  # the readers' clock (a test moves it)

PROGRESS_FILE = "kms-rebuild-progress.json"
WRITE_EVERY = 0.5  # seconds between writes of the progress file while counting
STALLED_AFTER = 120.0  # seconds without a write after which a running build is taken for dead


class ProgressFile:
    """A progress(stage, done, total) callable that keeps the build's progress in the index folder."""

    def __init__(self, root: Path, started_by: str, *, clock=time.time):
        self.path = Path(root) / PROGRESS_FILE
        self.clock = clock
        now = clock()
        self.state = {
            "state": "running",
            "started_by": started_by,
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "started_at": now,
            "stage": "starting",
            "stage_started_at": now,
            "done": 0,
            "total": 0,
            "updated_at": now,
            "message": "",
        }
        self._written = 0.0
        self._write()

    def __call__(self, stage: str, done: int, total: int) -> None:
        now = self.clock()
        if stage != self.state["stage"]:
            self.state.update(stage=stage, stage_started_at=now)
        self.state.update(done=done, total=total)
        if done >= total or now - self._written >= WRITE_EVERY:
            self._write()

    def finish(self, message: str) -> None:
        self.state.update(state="done", message=message)
        self._write()

    def fail(self, message: str) -> None:
        self.state.update(state="failed", message=message[:500])
        self._write()

    def _write(self) -> None:
        now = self.clock()
        self.state["updated_at"] = self._written = now
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            spare = self.path.with_name(f"{self.path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
            spare.write_text(json.dumps(self.state))
            os.replace(spare, self.path)
        except OSError:  # progress is a courtesy: a full disk must not stop the build itself
            log.warning("could not write the search rebuild progress to %s", self.path, exc_info=True)


@dataclass(frozen=True)
class RebuildProgress:
    """What /search/health shows of the latest rebuild on this server."""

    state: str  # "running", "done", "failed" or "stopped" (running, but its process stopped writing)
    started_by: str
    stage: str
    done: int
    total: int
    started_at: float
    updated_at: float
    rate: float | None  # items a second in the current stage
    seconds_left: float | None
    message: str

    @property
    def running(self) -> bool:
        return self.state == "running"

    @property
    def percent(self) -> int:
        return int(100 * self.done / self.total) if self.total else 0

    @property
    def seconds(self) -> float:
        return max(0.0, self.updated_at - self.started_at)


def read_progress(root: Path, *, now: float | None = None) -> RebuildProgress | None:
    """The latest rebuild's progress recorded in the index folder `root`, or None when none was recorded."""
    try:
        data = json.loads((Path(root) / PROGRESS_FILE).read_text())
        now = _now() if now is None else now
        state = data["state"]
        if state == "running" and now - data["updated_at"] > STALLED_AFTER:
            state = "stopped"
        done, total = int(data["done"]), int(data["total"])
        elapsed = now - data["stage_started_at"]
        rate = done / elapsed if done and elapsed > 0 else None
        left = (total - done) / rate if rate and state == "running" else None
        return RebuildProgress(
            state=state,
            started_by=str(data["started_by"]),
            stage=str(data["stage"]),
            done=done,
            total=total,
            started_at=float(data["started_at"]),
            updated_at=float(data["updated_at"]),
            rate=rate,
            seconds_left=left,
            message=str(data.get("message") or ""),
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None  # none yet, or written by another version: nothing to show
