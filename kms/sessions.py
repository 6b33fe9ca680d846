"""Signed-cookie sessions whose inactivity expiry slides without re-signing the cookie on every response.

Flask re-signs and re-sends a permanent session's cookie on each response so that its expiry follows the
last request (SESSION_REFRESH_EACH_REQUEST). That costs every page a signature and a Set-Cookie header.
Here the cookie is refreshed only once it is older than REFRESH_AFTER, so a login still ends
KMS_SESSION_HOURS after the last activity, give or take that interval; a changed session is always sent.
"""

from __future__ import annotations

import time

from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from itsdangerous import BadSignature

REFRESH_AFTER = 60  # seconds


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
