"""KMS_SMTP_URL: where e-mail goes, and how to open a connection there.

    smtp://host[:port]                     plain SMTP (port 25 by default)
    smtp://user:password@host:587?starttls=1   plain connection upgraded with STARTTLS (required: a server that
                                           does not offer it is an error, never a silent plain-text login)
    smtps://user:password@host[:465]      TLS from the first byte (implicit TLS)
    ...?timeout=20                         seconds to wait for the server at each step (default 10)

User and password are URL-encoded (`%40` for `@`). TLS certificates are checked against the system's CAs.
"""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass
from urllib.parse import parse_qs, unquote, urlsplit

DEFAULT_TIMEOUT = 10.0


class SmtpConfigError(ValueError):
    """KMS_SMTP_URL cannot be used; the message says what to fix."""


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    implicit_tls: bool
    starttls: bool
    username: str
    password: str
    timeout: float

    def describe(self) -> str:
        """Where mail goes, for the admin page (never the password)."""
        mode = "TLS" if self.implicit_tls else ("STARTTLS" if self.starttls else "plain")
        who = f"{self.username}@" if self.username else ""
        return f"{who}{self.host}:{self.port} ({mode}, timeout {self.timeout:g} s)"


def _flag(values: dict, name: str) -> bool:
    return (values.get(name, ["0"])[0]).strip().lower() in {"1", "true", "yes", "on"}


def parse_smtp_url(url: str) -> SmtpSettings | None:
    """SmtpSettings from KMS_SMTP_URL; None when it is empty (e-mail is off)."""
    url = (url or "").strip()
    if not url:
        return None
    parts = urlsplit(url)
    if parts.scheme not in {"smtp", "smtps"}:
        raise SmtpConfigError(
            f"KMS_SMTP_URL must start with smtp:// or smtps://, not {parts.scheme or '?'}://"
        )
    if not parts.hostname:
        raise SmtpConfigError("KMS_SMTP_URL names no host, e.g. smtp://mail.example.com:587?starttls=1")
    query = parse_qs(parts.query)
    try:
        timeout = float(query.get("timeout", [DEFAULT_TIMEOUT])[0])
        port = parts.port
    except ValueError as error:
        raise SmtpConfigError(f"KMS_SMTP_URL: {error}") from None
    implicit = parts.scheme == "smtps"
    return SmtpSettings(
        host=parts.hostname,
        port=port or (465 if implicit else 25),
        implicit_tls=implicit,
        starttls=not implicit and _flag(query, "starttls"),
        username=unquote(parts.username or ""),
        password=unquote(parts.password or ""),
        timeout=timeout if timeout > 0 else DEFAULT_TIMEOUT,
    )


def connect(settings: SmtpSettings) -> smtplib.SMTP:
    """An open, greeted (and, when configured, encrypted and logged-in) connection; raises OSError or
    smtplib.SMTPException."""
    context = ssl.create_default_context()
    if settings.implicit_tls:
        conn: smtplib.SMTP = smtplib.SMTP_SSL(
            settings.host, settings.port, timeout=settings.timeout, context=context
        )
    else:
        conn = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout)
    try:
        conn.ehlo()
        if settings.starttls:
            conn.starttls(context=context)  # raises SMTPNotSupportedError when the server does not offer it
            conn.ehlo()
        if settings.username:
            conn.login(settings.username, settings.password)
    except BaseException:
        conn.close()
        raise
    return conn
