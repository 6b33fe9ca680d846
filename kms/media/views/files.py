"""Upload (JSON for the editor, a plain form without JavaScript) and serving with the owner's permission."""

from __future__ import annotations

from flask import current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user
from markupsafe import Markup
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from kms import web
from kms.auth.permissions import requires
from kms.errors import KmsError
from kms.extensions import unit_of_work
from kms.media import services
from kms.media.forms import UploadForm
from kms.media.hooks import storage
from kms.media.storage import length_of
from kms.media.views import bp

UPLOAD_ENDPOINTS = frozenset({"media.upload", "media.api_upload"})
SANDBOX = "default-src 'none'; sandbox"
FOREVER = 31536000


def upload_limit() -> int:
    """KMS_MAX_UPLOAD_MB in bytes."""
    return int(current_app.config["KMS_MAX_UPLOAD_MB"]) * 1024 * 1024


def wants_html() -> bool:
    """A browser's plain form post gets a page back; the editor's fetch() and API clients get JSON."""
    return (
        not request.path.startswith("/api/")
        and request.accept_mimetypes.best_match(["application/json", "text/html"]) == "text/html"
    )


def _safe_next(value: str | None) -> str | None:
    value = value or ""
    return value if value.startswith("/") and not value.startswith(("//", "/\\")) else None


def attachment_json(attachment) -> dict:
    blob = attachment.blob
    return {
        "id": attachment.id,
        "url": services.url_of(attachment),
        "page_url": services.page_url_of(attachment),
        "markdown": services.markdown_of(attachment),
        "kind": blob.kind,
        "name": attachment.name,
        "size": blob.size,
        "width": blob.width,
        "height": blob.height,
        "alt": attachment.alt,
        "mime": blob.mime,
    }


def _form_page(form, status: int = 200, done=None, error: str | None = None):
    return render_template(
        "media/upload.html", form=form, done=done, error=error, limit_mb=upload_limit() // (1024 * 1024)
    ), status


def _refused(message: str, status: int):
    if wants_html():
        form = UploadForm(
            formdata=None,
            owner=request.form.get("owner", "draft"),
            alt=request.form.get("alt", ""),
            next=request.form.get("next", ""),
        )
        return _form_page(form, status, error=message)
    return jsonify(error=message, status=status), status


@bp.get("/media/upload")
@requires("media.upload")
def upload_form():
    form = UploadForm(
        formdata=None,
        owner=request.args.get("owner", "draft"),
        next=_safe_next(request.args.get("next")) or "",
    )
    return _form_page(form)


@bp.post("/media/upload")
@requires("media.upload")
def upload():
    file = request.files.get("file")
    if file is None or not file.filename and file.stream.read(1) == b"":
        return _refused("Choose a file to upload (the form field is named file).", 400)
    try:
        with unit_of_work():
            attachment = services.upload(
                file.stream,
                file.filename,
                owner=request.form.get("owner"),
                alt=request.form.get("alt"),
                actor=current_user,
                store=storage(),
                max_bytes=upload_limit(),
            )
            data = attachment_json(attachment)
    except KmsError as error:
        return _refused(error.message, error.status)
    if not wants_html():
        return jsonify(data), 201
    back = _safe_next(request.form.get("next"))
    if back:
        flash(f"Attached {data['name']}.", "success")
        return redirect(back)
    return _form_page(UploadForm(formdata=None, owner=request.form.get("owner", "draft")), 201, done=data)


@bp.post("/api/media")
@requires("media.upload")
def api_upload():
    """The same upload for API clients with a bearer token."""
    return upload()


@bp.post("/media/attachments/<int:attachment_id>/remove")
@requires("media.upload")
def remove(attachment_id: int):
    with unit_of_work():
        row = services.remove_attachment(attachment_id, actor=current_user)
        name = row.name
    flash(f"Removed {name}.", "success")
    return redirect(_safe_next(request.form.get("next")) or url_for("media.upload_form"))


@bp.get("/media/<digest>/<name>")
@requires("media.read")
def serve(digest: str, name: str):
    served = services.open_media(digest, viewer=current_user, size=request.args.get("size", ""))
    if served.candidate_id is not None:
        with unit_of_work():
            services.record_download(served, actor=current_user)
    elif request.if_none_match.contains_weak(served.digest):
        response = current_app.response_class(status=304)
        return _media_headers(response, served)
    store = storage()
    direct = store.download_url(served.digest, name=served.name, mime=served.blob.mime, inline=served.inline)
    if direct:
        # KMS_S3_PRESIGN: the permission was checked above; the browser fetches the bytes from the object
        # storage with a link that expires. The redirect itself is never cached (the link would outlive it).
        response = redirect(direct, 302)
        response.headers["Cache-Control"] = "private, no-store"
        return response
    handle = store.open(served.digest)
    response = current_app.response_class(_chunks(handle), mimetype=served.blob.mime, direct_passthrough=True)
    response.call_on_close(handle.close)  # also when the body is never read (HEAD, a client gone)
    response.headers["Content-Length"] = str(length_of(handle))
    disposition = "inline" if served.inline else "attachment"
    response.headers.set("Content-Disposition", disposition, filename=served.name)
    return _media_headers(response, served)


def _chunks(handle, size: int = 64 * 1024):
    with handle:
        while chunk := handle.read(size):
            yield chunk


def _media_headers(response, served):
    response.headers["Content-Security-Policy"] = SANDBOX
    response.headers["X-Content-Type-Options"] = "nosniff"
    if served.candidate_id is not None:
        # Confidential: never kept in a browser's cache, so every download reaches the server and its audit.
        response.headers["Cache-Control"] = "private, no-store"
    else:
        response.set_etag(served.digest)
        response.headers["Cache-Control"] = f"private, max-age={FOREVER}, immutable"
    return response


@bp.errorhandler(RequestEntityTooLarge)
def too_large(error):
    if request.endpoint in UPLOAD_ENDPOINTS:
        return _refused(services.limit_message(upload_limit()), 413)
    return web.handle_http_error(error)


@bp.errorhandler(HTTPException)
def upload_http_error(error):
    if request.endpoint in UPLOAD_ENDPOINTS and error.code in (400, 403, 404, 405) and not wants_html():
        return jsonify(
            error=web.EXPLANATIONS.get(error.code) or error.description, status=error.code
        ), error.code
    return web.handle_http_error(error)


def upload_form_block(owner: str, next_url: str = "") -> Markup:
    """The no-JavaScript upload form, for any page template to include: `{{ media_upload_form('article:3') }}`."""
    form = UploadForm(formdata=None, owner=owner, next=next_url)
    return Markup(render_template("media/_upload_form.html", form=form))


def attachments_panel(owner: str, next_url: str = "", title: str = "Files") -> Markup:
    """The owner's files with remove buttons and an upload form (the candidate page uses it)."""
    rows = services.attachments_for(owner, viewer=current_user)
    form = UploadForm(formdata=None, owner=owner, next=next_url)
    return Markup(
        render_template(
            "media/_attachments.html",
            rows=rows,
            form=form,
            title=title,
            next_url=next_url,
            url_of=services.url_of,
            can_upload=services.may_upload(owner, actor=current_user),
        )
    )


def raise_upload_limit() -> None:
    """Let upload routes take bodies up to KMS_MAX_UPLOAD_MB (plus the form around the file); every other route
    keeps KMS_MAX_REQUEST_KB. Runs before the CSRF check, which is what first reads the body."""
    if request.endpoint in UPLOAD_ENDPOINTS:
        request.max_content_length = upload_limit() + 256 * 1024
