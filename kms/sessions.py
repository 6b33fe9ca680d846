"""Signed-cookie sessions whose inactivity expiry slides without re-signing the cookie on every response.

Flask re-signs and re-sends a permanent session's cookie on each response so that its expiry follows the
last request (SESSION_REFRESH_EACH_REQUEST). That costs every page a signature and a Set-Cookie header.
Here the cookie is refreshed only once it is older than REFRESH_AFTER, so a login still ends
KMS_SESSION_HOURS after the last activity, give or take that interval; a changed session is always sent.
"""

from __future__ import annotations

import time

from flask import current_app, g, session
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from flask_wtf.csrf import generate_csrf
from itsdangerous import BadSignature

REFRESH_AFTER = 60  # seconds
_SIGNED_TOKENS: dict[tuple, tuple[str, float]] = {}
SIGNED_TOKENS_KEPT = 4096


class SlidingSession(SecureCookieSession):
    issued_at: float | None = None  # when the cookie this session came from was signed (None: new session)


class SlidingSessionInterface(SecureCookieSessionInterface):
    session_class = SlidingSession

    def open_session(self, app, request):
        serializer = self.get_signing_serializer(app)
        if serializer is None:
            return None
        cookie = request.cookies.get(self.get_cookie_name(app))
        if not cookie:
            return self.session_class()
        try:
            data, signed_at = serializer.loads(
                cookie, max_age=int(app.permanent_session_lifetime.total_seconds()), return_timestamp=True
            )
        except BadSignature:
            return self.session_class()
        session = self.session_class(data)
        session.issued_at = signed_at.timestamp()
        return session

    def should_set_cookie(self, app, session) -> bool:
        if session.modified:
            return True
        if not (session.permanent and app.config["SESSION_REFRESH_EACH_REQUEST"]):
            return False
        issued_at = getattr(session, "issued_at", None)
        return issued_at is None or time.time() - issued_at >= REFRESH_AFTER


def csrf_token() -> str:
    """This request's CSRF token for a form (flask-wtf's generate_csrf), the signed form of the session's raw
    token reused for up to REFRESH_AFTER seconds: signing it costs a page more than the rest of its forms.

    A reused token is as valid as a fresh one: it signs the same raw token of the same session with the same
    key (both in the cache key), and tokens carry no time limit here (WTF_CSRF_TIME_LIMIT is None; were one
    set, a reused token would expire at most REFRESH_AFTER seconds early)."""
    config = current_app.config
    field = config.get("WTF_CSRF_FIELD_NAME", "csrf_token")
    if field in g:
        return g.get(field)
    raw = session.get(field)
    key = (config.get("WTF_CSRF_SECRET_KEY") or current_app.secret_key, field, raw)
    kept = _SIGNED_TOKENS.get(key) if raw else None
    now = time.monotonic()
    if kept is not None and now - kept[1] < REFRESH_AFTER:
        setattr(g, field, kept[0])
        return kept[0]
    token = generate_csrf()
    if len(_SIGNED_TOKENS) >= SIGNED_TOKENS_KEPT:
        _SIGNED_TOKENS.clear()
    _SIGNED_TOKENS[(*key[:2], session[field])] = (token, now)
    return token
