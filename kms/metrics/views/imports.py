"""The CSV import page (/metrics/import: choose a format, preview, import; a large file is imported in the
background and /metrics/import/runs/<token> shows its progress) and saved mappings (admins)."""

from __future__ import annotations

import secrets
import shutil
import time
from pathlib import Path

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.exceptions import RequestEntityTooLarge

from kms.auth.permissions import allowed, requires
from kms.errors import Invalid, KmsError
from kms.extensions import unit_of_work
from kms.forms import field_error
from kms.metrics import services
from kms.metrics.forms import ImportForm, MappingForm
from kms.metrics.services import background
from kms.metrics.services.presets import FIELDS
from kms.metrics.views import bp

IMPORT_ENDPOINTS = frozenset({"metrics.import_page"})
UPLOAD_DAYS = 1  # a previewed file not imported is deleted after this long
SKIP_HINT = "tick “Import without the reps kms does not know” to import the others"
# A file this large (about 25,000 tickets, a second or two of work) or larger is imported in the background
# while a page shows its progress; a smaller one in the request, its report on the same page.
BACKGROUND_BYTES = 2 * 1024 * 1024
REFRESH_SECONDS = 2  # how often the progress page reloads itself while the import runs


def _limit() -> int:
    return int(current_app.config["KMS_METRICS_MAX_MB"]) * 1024 * 1024


def raise_import_limit() -> None:
    """The import page takes bodies up to KMS_METRICS_MAX_MB (other routes keep KMS_MAX_REQUEST_KB); runs
    before the CSRF check, which is what first reads the body."""
    if request.endpoint in IMPORT_ENDPOINTS:
        request.max_content_length = _limit() + 64 * 1024


def _uploads() -> Path:
    folder = Path(current_app.config["KMS_INSTANCE_DIR"]) / "metrics-uploads"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _forget_old_uploads(folder: Path) -> None:
    cutoff = time.time() - UPLOAD_DAYS * 86400
    for old in [*folder.glob("*.csv"), *folder.glob("*" + background.PROGRESS_SUFFIX)]:
        if old.stat().st_mtime < cutoff:
            old.unlink(missing_ok=True)


def _stored_upload(form: ImportForm) -> Path:
    """The file of this request, kept under the instance folder so "Import" after "Preview" needs no second
    upload; or the one kept by an earlier preview."""
    folder = _uploads()
    upload = request.files.get(form.file.name)
    if upload and upload.filename:
        _forget_old_uploads(folder)
        token = secrets.token_hex(16)
        path = folder / f"{token}.csv"
        with path.open("wb") as out:
            shutil.copyfileobj(upload.stream, out, 1024 * 1024)
        form.upload.data = token
        return path
    if form.upload.data:
        path = folder / f"{form.upload.data}.csv"
        if path.exists():
            return path
        form.upload.data = ""
        raise Invalid("The previewed file is no longer kept: choose it again.", field="file")
    raise Invalid("Choose a CSV file.", field="file")


def _format_choices() -> list[tuple[str, str]]:
    choices = [(preset.name, preset.label) for preset in services.PRESETS.values()]
    choices += [(f"mapping:{m.name}", f"Saved mapping: {m.name}") for m in services.list_mappings()]
    return choices


def _chosen_mapping(value: str):
    if value.startswith("mapping:"):
        return services.mapping_for(mapping=value.removeprefix("mapping:"))
    return services.mapping_for(preset=value)


def _render(form, status: int = 200, **context):
    running = background.running_import(_uploads())  # shown with a link to its progress
    return render_template(
        "metrics/import.html",
        form=form,
        limit_mb=current_app.config["KMS_METRICS_MAX_MB"],
        presets=services.PRESETS.values(),
        field_labels=services.FIELD_LABELS,
        may_map=allowed(current_user, "metrics.mapping"),
        running=running,
        **context,
    ), status


@bp.errorhandler(RequestEntityTooLarge)
def too_large(_error):
    form = ImportForm(formdata=None)
    form.source.choices = _format_choices()
    message = (
        f"The file is larger than {current_app.config['KMS_METRICS_MAX_MB']} MiB (KMS_METRICS_MAX_MB), so kms "
        "stopped reading it and imported nothing. Split it into smaller files (e.g. one per month), or ask "
        "the admin to raise the limit."
    )
    return _render(form, 413, error=message)


@bp.route("/metrics/import", methods=["GET", "POST"])
@requires("metrics.import")
def import_page():
    form = ImportForm()
    form.source.choices = _format_choices()
    if request.method == "GET":
        form.time_zone.data = current_app.config["KMS_METRICS_TIME_ZONE"]
    if not form.validate_on_submit():
        return _render(form, 400 if request.method == "POST" else 200)
    zone = form.time_zone.data or current_app.config["KMS_METRICS_TIME_ZONE"]
    try:
        path = _stored_upload(form)
        mapping = _chosen_mapping(form.source.data)
        if form.preview.data:
            with path.open("rb") as raw:
                preview = services.preview_csv(
                    raw, mapping, actor=current_user, max_bytes=_limit(), time_zone=zone
                )
            return _render(form, preview=preview, mapping=mapping)
        if path.stat().st_size >= BACKGROUND_BYTES:
            return _start_in_background(form, path, mapping, zone)
        with path.open("rb") as raw, unit_of_work():
            report = services.import_csv(
                raw,
                mapping,
                actor=current_user,
                max_bytes=_limit(),
                time_zone=zone,
                skip_unknown=form.skip_unknown.data,
                skip_hint=SKIP_HINT,
            )
    except services.UnknownReps as error:
        return _render(form, 400, error=error.message, unknown=error.unknown)
    except KmsError as error:
        if isinstance(error, services.FileTooLarge) or not getattr(error, "field", None):
            return _render(
                form, error.status, error=error.message, errors=error.details.get("errors", [])[1:]
            )
        field_error(form, error)
        return _render(form, 400)
    path.unlink(missing_ok=True)
    form.upload.data = ""
    flash(f"Imported {mapping.label}: {report.summary()}", "success")
    return _render(form, summary=report.summary(), skipped=report.skipped_unknown)


def _start_in_background(form: ImportForm, path: Path, mapping, zone: str):
    running = background.running_import(path.parent)
    if running is not None:
        token, recorded = running
        link = url_for("metrics.import_run", token=token)
        return _render(
            form,
            409,
            error=f"An import started by {recorded.started_by} is still running on this server; it must finish "
            "before another starts (two at once would wait on each other). Your file is kept: press Import "
            "again when it is done.",
            running_link=link,
        )
    started = background.start_csv_import(
        path,
        mapping,
        app=current_app._get_current_object(),
        actor=current_user._get_current_object(),
        started_by=current_user.name,
        max_bytes=_limit(),
        time_zone=zone,
        skip_unknown=form.skip_unknown.data,
        skip_hint=SKIP_HINT,
        details={"source": form.source.data, "time_zone": zone, "skip_unknown": bool(form.skip_unknown.data)},
    )
    if started is None:  # another request started one between the check and now
        return _start_in_background(form, path, mapping, zone)
    return redirect(url_for("metrics.import_run", token=path.stem)), 303


@bp.get("/metrics/import/runs/<token>")
@requires("metrics.import")
def import_run(token: str):
    """An import running in the background: its progress (the page reloads itself), then its outcome, with the
    form again (the file kept) when it was refused."""
    if len(token) != 32 or any(c not in "0123456789abcdef" for c in token):
        abort(404)
    upload = _uploads() / f"{token}.csv"
    recorded = background.run_progress(upload)
    if recorded is None:
        abort(404)
    if recorded.running:
        return render_template("metrics/import_run.html", run=recorded, refresh=REFRESH_SECONDS)
    details = recorded.details
    form = ImportForm(formdata=None)
    form.source.choices = _format_choices()
    form.source.data = details.get("source")
    form.time_zone.data = details.get("time_zone")
    form.skip_unknown.data = bool(details.get("skip_unknown"))
    form.upload.data = token if upload.exists() else ""
    if recorded.state == "done":
        result = recorded.result
        return _render(
            form, summary=result.get("summary"), skipped=result.get("skipped_unknown"), run=recorded
        )
    if recorded.state == "stopped":
        message = (
            "The import stopped before it finished (the server process running it ended), so nothing was "
            "imported. Press Import to run it again."
        )
        return _render(form, error=message, run=recorded)
    result = recorded.result
    return _render(
        form, error=recorded.message, errors=result.get("errors"), unknown=result.get("unknown"), run=recorded
    )


@bp.route("/metrics/mappings", methods=["GET", "POST"])
@requires("metrics.mapping")
def mappings():
    form = MappingForm()
    if form.validate_on_submit():
        columns = {name: getattr(form, f"col_{name}").data or "" for name in FIELDS}
        try:
            with unit_of_work():
                saved = services.save_mapping(
                    form.name.data,
                    columns,
                    csat_scale=form.csat_scale.data,
                    handle_unit=form.handle_unit.data,
                    time_zone=(form.time_zone.data or "UTC").strip(),
                    actor=current_user,
                )
            flash(f"Saved the mapping “{saved.name}”: choose it as the format on the import page.", "success")
            return redirect(url_for("metrics.mappings"))
        except KmsError as error:
            field_error(form, error)
    status = 400 if request.method == "POST" else 200
    return render_template(
        "metrics/mappings.html", form=form, saved=services.list_mappings(), fields=FIELDS
    ), status
