"""A CSV import started from the web page and run in a thread of this server's process, so a file of millions of
rows neither holds the request open for minutes nor leaves the person staring at a page that does not answer.

Its progress (bytes read of the file's size), and at the end its outcome, are kept in a file beside the stored
upload (kms.progress.ProgressFile): every worker process of this server can show them, and the upload's token
names the run. The import itself is the same all-or-nothing use case as the page's and the command's, in a
unit of work of its own, so an import that fails, or whose process dies, leaves the database as it was.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from kms.errors import KmsError
from kms.extensions import database_busy, unit_of_work
from kms.metrics.services.csvfile import BadRows
from kms.metrics.services.imports import import_csv
from kms.metrics.services.ingest import UnknownReps
from kms.metrics.services.presets import Mapping
from kms.progress import ProgressFile, RecordedProgress, read_progress

log = logging.getLogger(__name__)

PROGRESS_SUFFIX = ".progress.json"
_starting = threading.Lock()  # one check-then-start at a time in this process


def progress_path(upload: Path) -> Path:
    return upload.with_name(upload.stem + PROGRESS_SUFFIX)


def run_progress(upload: Path) -> RecordedProgress | None:
    """The recorded progress of the import of the stored file `upload` (None when none was started)."""
    return read_progress(progress_path(upload))


def running_import(folder: Path) -> tuple[str, RecordedProgress] | None:
    """(token, progress) of an import still running on this server from the uploads `folder`, if any."""
    for path in folder.glob("*" + PROGRESS_SUFFIX):
        recorded = read_progress(path)
        if recorded is not None and recorded.running:
            return path.name.removesuffix(PROGRESS_SUFFIX), recorded
    return None


def start_csv_import(
    upload: Path,
    mapping: Mapping,
    *,
    app,
    actor,
    started_by: str,
    max_bytes: int,
    time_zone: str,
    skip_unknown: bool,
    skip_hint: str,
    details: dict,
) -> threading.Thread | None:
    """Import the stored file `upload` in a background thread of `app`; None when another import is running on this
    server (two at once would wait on each other's rows). `details` (the choices made on the form) are kept
    with the progress, so a failed run can offer the same form again. The file is removed once imported."""
    folder = upload.parent
    with _starting:
        if running_import(folder) is not None:
            return None
        size = upload.stat().st_size
        recorded = ProgressFile(progress_path(upload), started_by, details=details)
        recorded("import", 0, size)  # the page shows the size at once

    def run() -> None:
        with app.app_context():
            try:
                with upload.open("rb") as raw, unit_of_work():
                    report = import_csv(
                        raw,
                        mapping,
                        actor=actor,
                        max_bytes=max_bytes,
                        time_zone=time_zone,
                        skip_unknown=skip_unknown,
                        skip_hint=skip_hint,
                        progress=recorded,
                        total=size,
                    )
            except UnknownReps as error:
                recorded.fail(error.message, {"unknown": dict(error.unknown)})
            except BadRows as error:
                recorded.fail(error.message, {"errors": error.errors[1:]})
            except KmsError as error:
                recorded.fail(error.message)
            except Exception as error:  # noqa: BLE001 - recorded for the page (and the log)
                if database_busy(error):
                    recorded.fail(
                        "Nothing was imported: another save held the database for too long (SQLite takes one "
                        "at a time). Press Import again."
                    )
                else:
                    log.exception("metrics import of %s failed", upload.name)
                    recorded.fail(
                        "The import failed unexpectedly, so nothing was imported; the server's log says why."
                    )
            else:
                upload.unlink(missing_ok=True)
                recorded.finish(
                    f"Imported {mapping.label}: {report.summary()}",
                    {"summary": report.summary(), "skipped_unknown": report.skipped_unknown},
                )

    thread = threading.Thread(target=run, name="kms-metrics-web-import", daemon=True)
    thread.start()
    return thread
