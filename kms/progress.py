"""Progress of long work: a bar on a terminal, plain lines otherwise (commands), or a file a page reads (the web).

Services take an optional plain callable `progress(stage, done, total)` and know nothing of terminals; a CLI
command passes a ProgressReporter. On a terminal each stage gets click's progress bar (count, rate, time left);
when output goes to a file or a pipe (CI, cron) each stage prints one line when it ends. A stage starts at its
first call (services call progress(stage, 0, total) as they begin) and ends when done reaches total.
Work a web page started in the background passes a ProgressFile instead, and the page shows read_progress().
Work that a command sets off indirectly (the search index built when an import's transaction commits) reports
to the command's reporter through current(), set with `reporting(reporter)`: None elsewhere (web requests).
"""

from __future__ import annotations

import json
import logging
import os
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path

import click

log = logging.getLogger(__name__)
_CURRENT: ContextVar[Callable[[str, int, int], None] | None] = ContextVar("kms_progress", default=None)


@contextmanager
def reporting(progress: Callable[[str, int, int], None]) -> Iterator[Callable[[str, int, int], None]]:
    """Within the block, current() is `progress` (in this thread or task only)."""
    token = _CURRENT.set(progress)
    try:
        yield progress
    finally:
        _CURRENT.reset(token)


def current() -> Callable[[str, int, int], None] | None:
    """The progress callable of the command running this code, if it set one with reporting()."""
    return _CURRENT.get()


class ProgressReporter:
    """Callable as progress(stage, done, total); call close() (or use `with`) when the work ends."""

    def __init__(self, label: str, *, terminal: bool | None = None, file=None):
        self.label, self.file = label, file
        self.terminal = sys.stdout.isatty() if terminal is None else terminal
        self.stage: str | None = None
        self.ended: str | None = None
        self.done = self.total = 0
        self.started = time.monotonic()
        self.bar = None

    def __call__(self, stage: str, done: int, total: int) -> None:
        if stage == self.ended and done >= total:
            return  # the last call of a stage that already ended
        if stage != self.stage:
            self._end_stage()
            self.stage, self.done, self.started = stage, 0, time.monotonic()
            if self.terminal:
                self.bar = click.progressbar(
                    length=max(total, 1),
                    label=f"{self.label}: {stage}",
                    show_pos=True,
                    show_eta=True,
                    item_show_func=self._rate,
                    file=self.file,
                )
                self.bar.__enter__()
        self.total = total
        if self.bar is not None:
            self.bar.update(max(done - self.done, 0), done)
        self.done = done
        if done >= total:
            self._end_stage()

    def _rate(self, done: int | None) -> str | None:
        seconds = time.monotonic() - self.started
        return f"{done / seconds:,.0f}/s" if done and seconds > 0 else None

    def _end_stage(self) -> None:
        if self.stage is None:
            return
        if self.bar is not None:
            self.bar.__exit__(None, None, None)
            self.bar = None
        else:
            seconds = time.monotonic() - self.started
            rate = f", {self.done / seconds:,.0f}/s" if seconds > 0 and self.done else ""
            click.echo(
                f"{self.label}: {self.stage} {self.done:,}/{self.total:,} in {seconds:.1f} s{rate}",
                file=self.file,
            )
        self.stage, self.ended = None, self.stage

    def close(self) -> None:
        """End the current stage (its bar, or its line)."""
        self._end_stage()

    def __enter__(self) -> ProgressReporter:
        return self

    def __exit__(self, *_exc) -> None:
        self.close()


# --- Progress kept in a file, for work running in the background of a web server ------------------------------
# Any worker process of the server can show it while the work runs (a page that refreshes itself). The file is
# replaced whole (written beside it, then renamed), so a reader never sees half of it. Work is shown as stopped
# when the process running it has died: at once on the machine it ran on (its process id is gone), elsewhere
# once its file has not been written for `stalled_after` seconds.

WRITE_EVERY = 0.5  # seconds between writes of a progress file while counting
STALLED_AFTER = 120.0  # seconds without a write after which running work is taken for dead


class ProgressFile:
    """A progress(stage, done, total) callable that keeps the progress of work in the file `path`, with who
    started it, `details` to show beside it, and at the end its outcome (a message and a JSON-able result)."""

    def __init__(self, path: Path, started_by: str, *, details: dict | None = None, clock=time.time):
        self.path = Path(path)
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
            "details": details or {},
            "result": {},
        }
        self._written = 0.0
        self._write()

    def __call__(self, stage: str, done: int, total: int) -> None:
        now = self.clock()
        started = stage != self.state["stage"]
        if started:
            self.state.update(stage=stage, stage_started_at=now)
        self.state.update(done=done, total=total)
        if started or done >= total or now - self._written >= WRITE_EVERY:
            self._write()

    def finish(self, message: str, result: dict | None = None) -> None:
        self.state.update(state="done", message=message, result=result or {})
        self._write()

    def fail(self, message: str, result: dict | None = None) -> None:
        self.state.update(state="failed", message=message[:2000], result=result or {})
        self._write()

    def _write(self) -> None:
        now = self.clock()
        self.state["updated_at"] = self._written = now
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            spare = self.path.with_name(f"{self.path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
            spare.write_text(json.dumps(self.state))
            os.replace(spare, self.path)
        except OSError:  # progress is a courtesy: a full disk must not stop the work itself
            log.warning("could not write progress to %s", self.path, exc_info=True)


@dataclass(frozen=True)
class RecordedProgress:
    """What a page shows of work recorded by a ProgressFile."""

    state: str  # "running", "done", "failed" or "stopped" (running, but its process stopped writing)
    started_by: str
    stage: str
    done: int
    total: int
    started_at: float
    updated_at: float
    rate: float | None  # items a second in the current stage
    seconds_left: float | None
    started_ago: float  # seconds from the start to when the file was read
    message: str
    details: dict = field(default_factory=dict)
    result: dict = field(default_factory=dict)

    @property
    def running(self) -> bool:
        return self.state == "running"

    @property
    def percent(self) -> int:
        return int(100 * self.done / self.total) if self.total else 0

    @property
    def seconds(self) -> float:
        return max(0.0, self.updated_at - self.started_at)


def _process_gone(data: dict) -> bool:
    """Whether the process that writes this progress has ended (known at once on its own machine)."""
    if data.get("host") != socket.gethostname() or not isinstance(data.get("pid"), int):
        return False
    try:
        os.kill(data["pid"], 0)
    except ProcessLookupError:
        return True
    except OSError:  # it exists, as another user's process
        return False
    return False


def read_progress(
    path: Path, *, now: float | None = None, stalled_after: float = STALLED_AFTER
) -> RecordedProgress | None:
    """The progress recorded in the file `path`, or None when there is none (or it is unreadable)."""
    try:
        data = json.loads(Path(path).read_text())
        now = time.time() if now is None else now
        state = data["state"]
        if state == "running" and (now - data["updated_at"] > stalled_after or _process_gone(data)):
            state = "stopped"
        done, total = int(data["done"]), int(data["total"])
        elapsed = now - data["stage_started_at"]
        rate = done / elapsed if done and elapsed > 0 else None
        left = (total - done) / rate if rate and state == "running" else None
        return RecordedProgress(
            state=state,
            started_by=str(data["started_by"]),
            stage=str(data["stage"]),
            done=done,
            total=total,
            started_at=float(data["started_at"]),
            updated_at=float(data["updated_at"]),
            rate=rate,
            seconds_left=left,
            started_ago=max(0.0, now - float(data["started_at"])),
            message=str(data.get("message") or ""),
            details=dict(data.get("details") or {}),
            result=dict(data.get("result") or {}),
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None  # none yet, or written by another version: nothing to show
