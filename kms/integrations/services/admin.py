"""Admin use cases: chat app secrets, team channels and outgoing webhooks (add, switch on again, remove).

Secrets are sealed before they are stored (services.secrets) and never returned by these functions, except
a new webhook's signing secret, returned once by add_webhook for the admin to copy."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from urllib.parse import urlsplit

from sqlalchemy import select

from kms.auth.models import Role
from kms.errors import Forbidden, Invalid, NotFound
from kms.extensions import db, utcnow
from kms.integrations.models import CHANNEL_KINDS, ChatSettings, Delivery, TeamChannel, Webhook
from kms.integrations.services.secrets import new_webhook_secret, seal, unseal
from kms.notify.kinds import EVENT_KINDS

URL_CHARS = 500


def _require_admin(actor) -> None:
    if getattr(actor, "role", None) != Role.ADMIN:
        raise Forbidden("Only admins manage integrations.")


def _check_url(url: str, field: str) -> str:
    url = (url or "").strip()
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname or len(url) > URL_CHARS:
        raise Invalid("Give the full address, starting with https://", field=field)
    if any(ch.isspace() for ch in url):
        raise Invalid("An address has no spaces.", field=field)
    return url


def _check_events(events: list[str]) -> str:
    chosen = [name for name in EVENT_KINDS if name in set(events or ())]
    if not chosen:
        raise Invalid("Choose at least one event.", field="events")
    return " ".join(chosen)


def _hint(url: str) -> str:
    """A part of a channel's webhook address that tells it apart without giving it away: host and the last
    four characters."""
    parts = urlsplit(url)
    return f"{parts.hostname}/…{url[-4:]}"


# -- Chat app secrets -----------------------------------------------------------------------------------------


def chat_settings() -> ChatSettings:
    """The chat settings row (created on first use, not stored until the caller's transaction commits)."""
    row = db.session.get(ChatSettings, 1)
    if row is None:
        row = ChatSettings(id=1)
        db.session.add(row)
        db.session.flush()
    return row


@dataclass
class ChatSecrets:
    slack_signing_secret: str | None
    slack_bot_token: str | None
    teams_security_token: str | None


def chat_secrets(*, site_key: str | bytes) -> ChatSecrets:
    """The chat secrets opened, for checking requests and calling Slack (never for display)."""
    row = db.session.get(ChatSettings, 1)
    if row is None:
        return ChatSecrets(None, None, None)
    return ChatSecrets(
        unseal(row.slack_signing_secret, site_key=site_key),
        unseal(row.slack_bot_token, site_key=site_key),
        unseal(row.teams_security_token, site_key=site_key),
    )


def chat_status(*, site_key: str | bytes) -> dict[str, str]:
    """For the settings page: per secret "set", "not set" or "unreadable" (sealed under an older site key)."""
    row = db.session.get(ChatSettings, 1)
    status = {}
    for name in ("slack_signing_secret", "slack_bot_token", "teams_security_token"):
        sealed = getattr(row, name) if row is not None else None
        if not sealed:
            status[name] = "not set"
        else:
            status[name] = "set" if unseal(sealed, site_key=site_key) is not None else "unreadable"
    return status


def save_chat_secrets(
    *, values: dict[str, str | None], clear: set[str], site_key: str | bytes, actor
) -> None:
    """Store the secrets given (an empty value keeps the stored one), and remove those in ``clear``."""
    _require_admin(actor)
    row = chat_settings()
    for name in ("slack_signing_secret", "slack_bot_token", "teams_security_token"):
        value = (values.get(name) or "").strip()
        if name in clear:
            setattr(row, name, None)
        elif value:
            if name == "teams_security_token":
                _check_base64(value)
            setattr(row, name, seal(value, site_key=site_key))
    row.updated_at = utcnow()
    db.session.flush()


def _check_base64(value: str) -> None:
    try:
        base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise Invalid(
            "Paste the security token exactly as Teams showed it (base64 text).", field="teams_security_token"
        ) from None


# -- Team channels --------------------------------------------------------------------------------------------


def list_channels() -> list[TeamChannel]:
    return list(db.session.scalars(select(TeamChannel).order_by(TeamChannel.team, TeamChannel.id)))


def add_channel(
    *, team: str, kind: str, url: str, events: list[str], site_key: str | bytes, actor
) -> TeamChannel:
    """A team's incoming webhook in Slack or Teams, receiving the chosen events from now on."""
    _require_admin(actor)
    team = " ".join((team or "").split())
    if not team or len(team) > 80:
        raise Invalid("Name the team, as written on its members' accounts.", field="team")
    if kind not in CHANNEL_KINDS:
        raise Invalid("Choose Slack or Microsoft Teams.", field="kind")
    url = _check_url(url, "url")
    channel = TeamChannel(
        team=team,
        kind=kind,
        url_sealed=seal(url, site_key=site_key),
        url_hint=_hint(url),
        events=_check_events(events),
    )
    db.session.add(channel)
    db.session.flush()
    return channel


def get_channel(channel_id: int) -> TeamChannel:
    channel = db.session.get(TeamChannel, channel_id)
    if channel is None:
        raise NotFound("No such team channel.")
    return channel


# -- Outgoing webhooks ------------------------------------------------------------------------------------------


def list_webhooks() -> list[Webhook]:
    return list(db.session.scalars(select(Webhook).order_by(Webhook.id)))


def add_webhook(
    *, url: str, events: list[str], description: str = "", site_key: str | bytes, actor
) -> tuple[Webhook, str]:
    """An integrator's endpoint and its new signing secret; the secret is returned here once, then only
    kept sealed for signing."""
    _require_admin(actor)
    secret = new_webhook_secret()
    webhook = Webhook(
        url=_check_url(url, "url"),
        events=_check_events(events),
        description=" ".join((description or "").split())[:200],
        secret_sealed=seal(secret, site_key=site_key),
        created_by_id=actor.id,
    )
    db.session.add(webhook)
    db.session.flush()
    return webhook, secret


def get_webhook(webhook_id: int) -> Webhook:
    webhook = db.session.get(Webhook, webhook_id)
    if webhook is None:
        raise NotFound("No such webhook.")
    return webhook


# -- Shared -------------------------------------------------------------------------------------------------------


def enable_target(target: TeamChannel | Webhook, *, actor) -> None:
    """Switch a channel or webhook on again (after it was disabled for failing): held deliveries resume."""
    _require_admin(actor)
    target.active = True
    target.failures = 0
    target.disabled_at = None
    target.disabled_reason = ""
    db.session.flush()


def remove_target(target: TeamChannel | Webhook, *, actor) -> None:
    """Delete a channel or webhook with its delivery log."""
    _require_admin(actor)
    column = Delivery.channel_id if isinstance(target, TeamChannel) else Delivery.webhook_id
    for delivery in db.session.scalars(select(Delivery).where(column == target.id)):
        db.session.delete(delivery)
    db.session.delete(target)
    db.session.flush()


def delivery_log(target: TeamChannel | Webhook, *, limit: int = 100) -> list[Delivery]:
    """The latest deliveries to a channel or webhook, newest first."""
    column = Delivery.channel_id if isinstance(target, TeamChannel) else Delivery.webhook_id
    return list(
        db.session.scalars(
            select(Delivery).where(column == target.id).order_by(Delivery.id.desc()).limit(limit)
        )
    )


def retry_delivery(delivery_id: int, *, actor) -> Delivery:
    """Send a failed delivery again at the next run (attempts start over)."""
    _require_admin(actor)
    delivery = db.session.get(Delivery, delivery_id)
    if delivery is None or delivery.target == "reply":
        raise NotFound("No such delivery.")
    if delivery.status != "failed":
        raise Invalid("Only a failed delivery can be sent again.")
    delivery.status = "pending"
    delivery.attempts = 0
    delivery.next_attempt_at = utcnow()
    db.session.flush()
    return delivery
