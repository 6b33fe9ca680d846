"""Progress of long commands (import, export, reindex, search-check): a bar on a terminal, plain lines otherwise.

Services take an optional plain callable `progress(stage, done, total)` and know nothing of terminals; a CLI
command passes a ProgressReporter. On a terminal each stage gets click's progress bar (count, rate, time left);
when output goes to a file or a pipe (CI, cron) each stage prints one line when it ends. A stage starts at its
first call (services call progress(stage, 0, total) as they begin) and ends when done reaches total.
"""

from __future__ import annotations

import sys
import time

import click


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
