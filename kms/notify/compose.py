"""One outbox row -> one e-mail: multipart text + HTML from templates, rendered at send time.

Rendered when sent, not when queued, so the address, the name, the time zone and the links are those of the
moment of sending. Header values never carry a line break (each run of whitespace is one space) and are set
through email.message.EmailMessage, whose policy refuses CR/LF in a header: a name or title cannot add headers.
"""

from __future__ import annotations

import email.policy
import email.utils
from datetime import date, datetime
from email.headerregistry import Address
from email.message import EmailMessage
from urllib.parse import urlsplit

from flask import current_app, render_template
from itsdangerous import BadSignature, URLSafeSerializer
from jinja2 import TemplateNotFound

from kms.notify.kinds import DIGEST, KINDS
from kms.timezones import zone

DEFAULT_BASE_URL = "http://localhost:5000"
UNSUBSCRIBE_SALT = "kms.notify.unsubscribe"


def one_line(text: str, limit: int = 300) -> str:
    """Text safe for a header: control characters and line breaks become spaces, runs of spaces one space."""
    cleaned = "".join(ch if ch.isprintable() else " " for ch in (text or ""))
    return " ".join(cleaned.split())[:limit]


def base_url() -> str:
    return (current_app.config.get("KMS_BASE_URL") or DEFAULT_BASE_URL).rstrip("/")


def sender_address() -> Address:
    """KMS_MAIL_FROM as an Address (display name and addr-spec)."""
    name, addr = email.utils.parseaddr(current_app.config.get("KMS_MAIL_FROM") or "")
    if "@" not in addr:
        name, addr = "kms", "kms@localhost"
    user, _, domain = addr.rpartition("@")
    return Address(display_name=one_line(name, 120), username=user, domain=domain)


def message_id(token: str) -> str:
    """The stable Message-ID of an outbox row: the same on every try and every resend."""
    return f"<{token}@{sender_address().domain}>"


def unsubscribe_token(user_id: int, kind: str) -> str:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=UNSUBSCRIBE_SALT).dumps([user_id, kind])


def read_unsubscribe_token(token: str) -> tuple[int, str] | None:
    """(user id, kind) from an unsubscribe link, or None when it was not made by this site."""
    try:
        user_id, kind = URLSafeSerializer(current_app.config["SECRET_KEY"], salt=UNSUBSCRIBE_SALT).loads(
            token
        )
    except (BadSignature, ValueError, TypeError):
        return None
    if not isinstance(user_id, int) or not isinstance(kind, str):
        return None
    return user_id, kind


def _local(user):
    tz = zone(user.time_zone)

    def local(value, fmt: str = "%Y-%m-%d %H:%M %Z") -> str:
        """A time (datetime or ISO text) in the recipient's time zone."""
        if value is None or value == "":
            return ""
        if isinstance(value, str):
            try:
                value = datetime.fromisoformat(value)
            except ValueError:
                return value
        if isinstance(value, datetime):
            if value.tzinfo is None:
                return value.strftime(fmt.replace(" %Z", ""))
            return value.astimezone(tz).strftime(fmt)
        if isinstance(value, date):
            return value.isoformat()
        return str(value)

    return local


def _render(kind: str, suffix: str, values: dict) -> str:
    for name in (f"notify/mail/{kind}.{suffix}", f"notify/mail/generic.{suffix}"):
        try:
            return render_template(name, **values)
        except TemplateNotFound:
            continue
    raise TemplateNotFound(f"notify/mail/generic.{suffix}")


def _url_builder():
    """url_for's twin for e-mails: absolute links on KMS_BASE_URL, whatever host a request or SERVER_NAME names."""
    parts = urlsplit(base_url())
    adapter = current_app.url_map.bind(
        parts.netloc, script_name=parts.path or "/", url_scheme=parts.scheme or "http"
    )

    def url_for(endpoint: str, _external: bool = True, **values) -> str:
        return adapter.build(endpoint, values, force_external=True)

    return url_for


def compose(message, user, *, items=(), now: datetime) -> EmailMessage:
    """The e-mail for outbox row `message` to `user` as they are now; `items` are a digest's notifications."""
    spec = KINDS.get(message.kind)
    url_for = _url_builder()
    link = None
    if message.link_endpoint:
        link = url_for(message.link_endpoint, _external=True, **(message.link_values or {}))
    preferences = url_for("notify.preferences", _external=True)
    unsubscribe = None
    if spec is None or not spec.mandatory:
        unsubscribe = url_for(
            "notify.unsubscribe", token=unsubscribe_token(user.id, message.kind), _external=True
        )
    digest_items = [
        {
            "title": item.title,
            "body": item.body,
            "kind": KINDS[item.kind].label if item.kind in KINDS else item.kind,
            "created_at": item.created_at,
            "link": url_for(item.link_endpoint, _external=True, **(item.link_values or {}))
            if item.link_endpoint
            else None,
        }
        for item in items
    ]
    values = {
        "user": user,
        "title": message.title,
        "body": message.body,
        "link": link,
        "context": message.context or {},
        "actor_name": message.actor_name,
        "kind": spec,
        "items": digest_items,
        "local": _local(user),
        "now": now,
        "preferences_url": preferences,
        "unsubscribe_url": unsubscribe,
        "site_url": base_url() + "/",
        "mandatory": bool(spec and spec.mandatory),
        "is_digest": message.kind == DIGEST,
    }
    text = _render(message.kind, "txt", values)
    html = _render(message.kind, "html", values)

    mail = EmailMessage(policy=email.policy.SMTP)
    mail["Subject"] = one_line(message.title) or "kms"
    mail["From"] = sender_address()
    mail["To"] = Address(display_name=one_line(user.name, 120), addr_spec=user.email)
    mail["Date"] = email.utils.format_datetime(now)
    mail["Message-ID"] = message_id(message.message_token)
    mail["Auto-Submitted"] = "auto-generated"
    if unsubscribe:
        mail["List-Unsubscribe"] = f"<{unsubscribe}>"
        mail["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    mail.set_content(text)
    mail.add_alternative(html, subtype="html")
    for attachment in message.attachments:
        maintype, _, subtype = (attachment.mimetype or "application/octet-stream").partition("/")
        mail.add_attachment(
            attachment.content,
            maintype=maintype or "application",
            subtype=subtype or "octet-stream",
            filename=one_line(attachment.filename, 200) or "attachment",
        )
    return mail
