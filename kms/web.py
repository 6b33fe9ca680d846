"""App-wide glue: CSRF checking, security headers, error pages and template helpers."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from datetime import date, datetime
from zoneinfo import ZoneInfo

from flask import Request, current_app, has_request_context, jsonify, render_template, request, url_for
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from markupsafe import Markup
from sqlalchemy.exc import OperationalError
from werkzeug.datastructures import ImmutableMultiDict, MultiDict
from werkzeug.exceptions import HTTPException
from werkzeug.routing import IntegerConverter

from kms import markdown, navigation
from kms.errors import Invalid, KmsError
from kms.extensions import csrf, database_busy, db
from kms.markdown_video import FRAME_ORIGINS
from kms.sessions import csrf_token
from kms.timezones import known_zones, local_to_utc
from kms.validate import DB_INT_MAX, clean_json, clean_text, whole_number

log = logging.getLogger("kms")
TOKEN_CHECK = "kms.token_request"  # app.extensions key: the check auth registers (see register_token_check)
SIGNED_ENDPOINTS = (
    "kms.signed_endpoints"  # app.extensions key: endpoints that check a signature instead of CSRF
)

# frame-src: only the video players kms.markdown_video embeds (YouTube's privacy-enhanced domain, Vimeo, Loom,
# Microsoft Stream); every other frame is refused.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
    f"frame-src {' '.join(FRAME_ORIGINS)}; "
    "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)
SECRET_FIELDS = ("password", "confirm", "csrf_token", "current_password", "token")
TITLES = {
    400: "Bad request",
    401: "Please log in",
    403: "Not allowed",
    404: "Not found",
    405: "Method not allowed",
    409: "Changed by someone else",
    413: "Too large",
    429: "Too many requests",
    500: "Something went wrong",
    503: "Temporarily unavailable",
}
EXPLANATIONS = {
    403: "Your role does not allow this page. Ask an admin if you think it should.",
    404: "There is nothing here. The link may be old, or the page was moved.",
    405: "This address does not accept that kind of request.",
    413: "What you sent is larger than this site accepts. Shorten it, or split it in parts, and try again.",
    429: "Too many attempts in a short time. Wait a little and try again.",
    500: "The error has been logged. Try again; if it keeps happening, tell your admin what you were doing.",
}


class CleanParams(ImmutableMultiDict):
    """Query and form parameters with control characters taken out of every name and text value (files are
    left alone), so no NUL or escape sequence a client sends reaches a form, a service or the database."""

    def __init__(self, mapping=None):
        pairs = MultiDict(mapping).items(multi=True) if mapping is not None else ()
        super().__init__(
            [
                (clean_text(key), clean_text(value, field=key) if isinstance(value, str) else value)
                for key, value in pairs
            ]
        )


class CleanRequest(Request):
    """The app's request: parameters and JSON bodies arrive without control characters."""

    parameter_storage_class = CleanParams

    def get_json(self, force: bool = False, silent: bool = False, cache: bool = True):
        """The parsed body with clean_text applied to every string in it (keys included)."""
        return clean_json(super().get_json(force=force, silent=silent, cache=cache))


def _wants_json() -> bool:
    return request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json"


def register_token_check(app, check: Callable[[], bool]) -> None:
    """Say how to recognise a request that authenticates with a token rather than the session cookie: such a
    request carries no cookie a forged page could ride on, so it skips the CSRF check, and it is never cached.
    Without a registered check every request counts as a cookie request (checked)."""
    app.extensions[TOKEN_CHECK] = check


def register_signed_endpoints(app, *endpoints: str) -> None:
    """Say which endpoints authenticate each request by a signature over its body (a chat app calling in with
    its signing secret): they carry no cookie that gives them power, so a CSRF token would only stop the
    legitimate caller. Such a view must check the signature before it does anything."""
    app.extensions.setdefault(SIGNED_ENDPOINTS, set()).update(endpoints)


def _bearer_request() -> bool:
    check = current_app.extensions.get(TOKEN_CHECK)
    return bool(check and check())


def check_csrf() -> None:
    # Token-authenticated API calls carry no cookie a forged page could ride on; everything else is checked.
    if request.method in {"GET", "HEAD", "OPTIONS"} or _bearer_request():
        return
    if request.endpoint in current_app.extensions.get(SIGNED_ENDPOINTS, ()):
        return
    # An API call with no login at all can change nothing: let it reach its 401, which says what to send.
    if request.path.startswith("/api/") and not current_user.is_authenticated:
        return
    if request.endpoint == "static" or not current_app.config.get("WTF_CSRF_ENABLED", True):
        return
    csrf.protect()


def security_headers(response):
    response.headers.setdefault("Content-Security-Policy", CSP)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
    if current_app.config.get("SESSION_COOKIE_SECURE"):
        response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
    if _bearer_request():
        response.headers["Cache-Control"] = "no-store"
    return response


def _error_response(status: int, message: str | None = None, extra: dict | None = None):
    if _wants_json():
        body = {"error": message or TITLES.get(status, "Error"), "status": status}
        body.update(extra or {})
        return jsonify(body), status
    return render_template(
        "errors/error.html",
        status=status,
        title=TITLES.get(status, "Error"),
        message=message or EXPLANATIONS.get(status, ""),
        **(extra or {}),
    ), status


def handle_http_error(error: HTTPException):
    if error.code is None or error.code < 400:
        return error
    response = _error_response(
        error.code,
        EXPLANATIONS.get(error.code)
        if error.code in EXPLANATIONS
        else (error.description if error.code == 400 else None),
    )
    if error.code == 429:
        response = current_app.make_response(response)
        response.headers.setdefault("Retry-After", "60")
    return response


def handle_domain_error(error: KmsError):
    response = current_app.make_response(_error_response(error.status, error.message))
    if getattr(error, "retry_after", None):
        response.headers["Retry-After"] = str(error.retry_after)
    return response


def _typed() -> tuple[list[tuple[str, str]], str]:
    """What the user typed into the form of this request (no secrets), and the page to open again."""
    kept = [
        (name, value)
        for name, value in request.form.items(multi=True)
        if value.strip() and not any(secret in name for secret in SECRET_FIELDS)
    ]
    # "//host/x" or "/\\host/x" as a path would make the link leave the site.
    return kept, "/" + request.path.lstrip("/\\")


def handle_csrf_error(error: CSRFError):
    """Never lose what the user typed: show it back so it can be copied, with a way to retry."""
    if _wants_json():
        return jsonify(error=f"CSRF check failed: {error.description}", status=400), 400
    kept, back = _typed()
    log.info("CSRF check failed on %s: %s", request.path, error.description)
    return render_template("errors/csrf.html", kept=kept, back=back), 400


BUSY_RETRY_SECONDS = 30
BUSY_MESSAGE = (
    "kms is busy saving a large import, so this change could not be saved; nothing of it was kept. "
    "Try again in a minute."
)


def handle_database_error(error: OperationalError):
    """SQLite takes one writer at a time: a save that waited its busy timeout behind a long write (an import)
    gets a 503 with Retry-After, and what the user typed is shown back; any other database error is a 500."""
    if not database_busy(error):
        return handle_unexpected(error)
    db.session.rollback()
    log.warning("database busy on %s %s: %s", request.method, request.path, error.orig)
    if _wants_json():
        response = jsonify(error=BUSY_MESSAGE, status=503)
    else:
        kept, back = _typed()
        response = current_app.make_response(render_template("errors/busy.html", kept=kept, back=back))
    response.status_code = 503
    response.headers["Retry-After"] = str(BUSY_RETRY_SECONDS)
    return response


def handle_unexpected(error: Exception):
    log.exception("unhandled error on %s %s", request.method, request.path)
    return _error_response(500)


def local_time(value: datetime | date | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """Format a UTC time in the viewer's time zone."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        zone = getattr(current_user, "time_zone", None) or "UTC"
        try:
            value = value.astimezone(ZoneInfo(zone))
        except Exception:  # noqa: BLE001 - an unknown zone in old data falls back to UTC
            value = value.astimezone(ZoneInfo("UTC"))
        return value.strftime(fmt)
    return value.strftime("%Y-%m-%d")


PAGE_MAX = 10**6  # "very far": views and services clamp a page number to their last page


class BoundedIntConverter(IntegerConverter):
    """`<int:...>` in a route: a number no row could have is a 404, not a database error."""

    def __init__(self, map, *args, **kwargs):  # noqa: A002 - werkzeug's parameter name
        kwargs.setdefault("max", DB_INT_MAX)
        super().__init__(map, *args, **kwargs)


def int_arg(name: str, default: int | None = None, *, low: int = 0, high: int = DB_INT_MAX) -> int | None:
    """A whole number from the query string, clamped to low..high; `default` when absent or not plain digits.

    Plain ASCII digits only: "²", "1e3", "-1" or " 7" are not numbers a link of ours would carry.
    """
    value = request.args.get(name, "")
    if not (value.isascii() and value.isdigit()):
        return default
    return max(low, min(high, int(value) if len(value) <= 18 else high))


def id_arg(name: str) -> int | None:
    """A row id from the query string; None when absent, malformed or beyond any id (no clamping)."""
    value = request.args.get(name, "")
    if value.isascii() and value.isdigit() and len(value) <= 10 and 1 <= int(value) <= DB_INT_MAX:
        return int(value)
    return None


def api_int_arg(name: str, default: int, *, low: int, high: int) -> int:
    """For JSON APIs: a whole number from the query string in low..high, `default` when absent; anything else
    is refused (Invalid naming the parameter), never clamped or ignored behind the caller's back."""
    raw = request.args.get(name)
    if raw is None:
        return default
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 10 and low <= int(raw) <= high):
        raise Invalid(f"{name} must be a whole number from {low} to {high}.", field=name)
    return int(raw)


def api_id_arg(name: str) -> int | None:
    """For JSON APIs: a row id filter from the query string; None when absent or empty, Invalid when malformed."""
    if not request.args.get(name):
        return None
    return api_int_arg(name, 0, low=1, high=DB_INT_MAX)


def form_int(
    name: str, label: str, *, low: int = 0, high: int = DB_INT_MAX, required: bool = True
) -> int | None:
    """A whole number from a posted field that is not part of a WTForm; Invalid (400) naming it otherwise."""
    return whole_number(request.form.get(name), name, label, low=low, high=high, required=required)


def page_arg(name: str = "page") -> int:
    """?page= as 1..PAGE_MAX (anything else is page 1); the caller clamps it to its last page."""
    return int_arg(name, 1, low=1, high=PAGE_MAX)


_LINKS: dict[tuple, str] = {}
LINKS_KEPT = 4096


def page_url(endpoint: str, **values) -> str:
    """url_for for templates, remembered per host, scheme and script root: a page builds the same two dozen
    links (menu, assets, its own actions) on every view, and building one costs more than looking it up."""
    if not has_request_context():
        return url_for(endpoint, **values)
    environ = request.environ
    try:
        key = (
            id(current_app.url_map),
            environ.get("HTTP_HOST") or environ.get("SERVER_NAME"),
            environ.get("wsgi.url_scheme"),
            environ.get("SCRIPT_NAME"),
            request.blueprint if endpoint[:1] == "." else None,
            endpoint,
            *sorted(values.items()),
        )
        link = _LINKS.get(key)
    except TypeError:  # a list or other unhashable value: build it every time
        return url_for(endpoint, **values)
    if link is None:
        link = url_for(endpoint, **values)
        if len(_LINKS) >= LINKS_KEPT:
            _LINKS.clear()
        _LINKS[key] = link
    return link


def url_for_safe(endpoint: str, **values) -> str | None:
    """url_for for an endpoint a later feature may not have registered yet; None when it is absent."""
    if endpoint not in current_app.view_functions:
        return None
    return page_url(endpoint, **values)


def viewer_to_utc(naive: datetime, field: str) -> datetime:
    """A wall-clock time the viewer typed, in UTC (Invalid in a daylight-saving gap or repeat)."""
    return local_to_utc(naive, getattr(current_user, "time_zone", None), field)


@functools.cache
def time_zone_names() -> tuple[str, ...]:
    return tuple(sorted(zone for zone in known_zones() if "/" in zone and not zone.startswith("Etc/")))


def plural(count: int, word: str, many: str | None = None) -> str:
    """The word for `count` things: plural(1, "question") is "question", plural(3, "question") "questions"."""
    return word if count == 1 else (many or word + "s")


def counted(count: int, word: str, many: str | None = None) -> str:
    """A count with its word: counted(1, "question") is "1 question"."""
    return f"{count} {plural(count, word, many)}"


UPLOAD_URL = "/media/upload"


def markdown_editor(owner: str, draft_key: str, preview_target: str | None = None) -> dict:
    """The attributes that turn a <textarea> into the Markdown editor (static/kms-editor.js): where it previews,
    uploads and finds articles, and the key of its local draft (the page and the version it started from)."""
    attrs = {
        "data-markdown-editor": "",
        "data-upload-url": UPLOAD_URL,
        "data-upload-owner": owner,
        "data-draft-key": draft_key,
        "data-preview-url": url_for_safe("articles.preview") or "",
        "data-articles-url": url_for_safe("articles.api_articles") or "",
    }
    if preview_target:
        attrs["data-preview-target"] = preview_target
    return attrs


def template_helpers() -> dict:
    return {
        "url_for_safe": url_for_safe,
        "time_zone_names": time_zone_names,
        "markdown_editor": markdown_editor,
    }


def init_app(app) -> None:
    app.request_class = CleanRequest
    app.url_map.converters["int"] = BoundedIntConverter  # before any blueprint adds its routes
    app.before_request(check_csrf)
    app.after_request(security_headers)
    app.register_error_handler(HTTPException, handle_http_error)
    app.register_error_handler(KmsError, handle_domain_error)
    app.register_error_handler(CSRFError, handle_csrf_error)
    app.register_error_handler(OperationalError, handle_database_error)
    app.register_error_handler(Exception, handle_unexpected)
    app.context_processor(template_helpers)
    navigation.init_app(app)
    app.jinja_env.globals["url_for"] = page_url
    app.jinja_env.globals["csrf_token"] = csrf_token  # flask-wtf's, with the signed token reused a minute
    app.add_template_filter(local_time, "local_time")
    app.add_template_filter(counted, "counted")
    app.add_template_filter(plural, "plural")
    app.add_template_filter(lambda text: Markup(markdown.render(text or "")), "markdown")
