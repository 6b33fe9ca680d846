"""Delivering events to team channels and outgoing webhooks: an outbox with retries, back-off and a log.

The worker job (kms.integrations.worker) runs these steps, each in its own transaction:

1. fan_out: events written by kms.notify.announce become delivery rows, one per interested channel or
   webhook, at most once each (unique per target and event); the body is fixed then, so every retry sends
   the same bytes. A stored position says how far the events were read; the last few minutes are read
   again every time, so an event whose transaction committed late (after a later one was read) is not
   skipped.
2. claim: an attempt is taken by a conditional update (attempts unchanged since read), so two senders never
   send the same attempt; the claim makes the row not due while the attempt may be in flight, so a sender
   that dies mid-call leaves the row to be retried after that, not lost.
3. send: the HTTP call, outside any transaction, with a timeout.
4. record: the outcome; a failure is due again after a doubling pause; after ``max_attempts`` the delivery is failed (kept in the log, can be retried by an
   admin). Each failed attempt counts against its target; after ``disable_after`` failures in a row the
   target is switched off and admins get an in-app notice.

Delivery is at least once: a receiver that answered but whose answer was lost gets the attempt again, with
the same X-Kms-Delivery id to recognise it by."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from sqlalchemy import or_, select, update

from kms.auth.models import Role, User
from kms.extensions import db, utcnow
from kms.integrations.models import Delivery, EventCursor, TeamChannel, Webhook
from kms.integrations.services.chat import slack_escape, slack_link
from kms.integrations.services.secrets import unseal
from kms.integrations.services.signatures import webhook_signature
from kms.notify.kinds import EVENT_KINDS
from kms.notify.models import Event
from kms.notify.services import notify

log = logging.getLogger(__name__)

CURSOR = "deliveries"
LOOKBACK = timedelta(minutes=5)  # events read again each run, in case one committed after a later one
FAN_OUT_BATCH = 500
MAX_BACKOFF = timedelta(hours=6)
REPLY_ATTEMPTS = 3  # a Slack response_url lives 30 minutes
ERROR_CHARS = 500
DISABLED_KIND = "integrations.target_disabled"
USER_AGENT = "kms-webhooks/1"


@dataclass(frozen=True)
class DeliveryConfig:
    """The settings delivery needs, read from the app by the caller (services never read Flask)."""

    site_key: str | bytes
    base_url: str = ""
    timeout: float = 5.0
    retry_seconds: float = 30.0
    max_attempts: int = 6
    disable_after: int = 10
    # (endpoint, values) -> the site path, for events whose payload names a page as {"endpoint", "values"}
    link_path: Callable[[str, dict], str | None] | None = None


def in_flight(config: DeliveryConfig) -> timedelta:
    """How long a claimed attempt is not due again: long enough for it to finish (or time out), so no other
    sender takes it meanwhile; a sender that died is retried after it."""
    return timedelta(seconds=2 * config.timeout + 10)


def backoff(attempt: int, first_seconds: float) -> timedelta:
    """How long to wait after failed attempt number ``attempt`` (1, 2, ...): doubling, at most 6 hours."""
    return min(timedelta(seconds=first_seconds * 2 ** max(attempt - 1, 0)), MAX_BACKOFF)


# -- Bodies ---------------------------------------------------------------------------------------------------


def _absolute(link: str, base_url: str) -> str:
    if link.startswith(("https://", "http://")):
        return link
    if link.startswith("/") and not link.startswith("//") and base_url:
        return base_url.rstrip("/") + link
    return ""


def event_link(payload: dict, config: DeliveryConfig) -> str:
    """The absolute address an event points to: its "link" ({"endpoint", "values"}, built by the app's URL
    map through ``config.link_path``) or a "url"/"path" string; empty when there is none or no base URL."""
    link = payload.get("link")
    if isinstance(link, dict) and isinstance(link.get("endpoint"), str) and config.link_path is not None:
        values = link.get("values") if isinstance(link.get("values"), dict) else {}
        path = config.link_path(link["endpoint"], values)
        return _absolute(path, config.base_url) if path else ""
    for key in ("url", "path", "link"):
        if isinstance(payload.get(key), str):
            found = _absolute(payload[key].strip(), config.base_url)
            if found:
                return found
    return ""


def _words(value, limit: int = 200) -> str:
    return " ".join(str(value).split())[:limit] if value not in (None, "") else ""


def describe(event: Event, config: DeliveryConfig) -> tuple[str, str, str]:
    """(label, text, link) for a person reading the event in a channel; the link is absolute or empty."""
    payload = event.payload if isinstance(event.payload, dict) else {}
    label = EVENT_KINDS.get(event.name, event.name)
    if event.team:
        label = f"{label} ({event.team})"
    if event.name == "hire.started" and payload.get("name"):
        text = _words(payload["name"])
        if payload.get("opening"):
            text += f" joins as {_words(payload['opening'])}"
        if payload.get("start_date"):
            text += f", starting {_words(payload['start_date'], 20)}"
    elif event.name == "training.overdue_summary" and payload.get("overdue") is not None:
        text = f"{_words(payload['overdue'], 10)} overdue modules for {_words(payload.get('learners', '?'), 10)} people"
        modules = payload.get("modules") if isinstance(payload.get("modules"), list) else []
        named = [
            f"{_words(m.get('title'), 80)} ({_words(m.get('overdue'), 10)})"
            for m in modules[:3]
            if isinstance(m, dict) and m.get("title")
        ]
        if named:
            text += ": " + ", ".join(named)
    else:
        text = next(
            (_words(payload[key], 300) for key in ("title", "summary", "name", "text") if payload.get(key)),
            "",
        )
    return label, text, event_link(payload, config)


def slack_channel_body(event: Event, config: DeliveryConfig) -> dict:
    """A Slack incoming-webhook message: one line of text with a link."""
    label, text, link = describe(event, config)
    if text and link:
        line = f"{slack_escape(label)}: {slack_link(link, text)}"
    elif link:
        line = f"{slack_escape(label)}: {slack_link(link, 'open in kms')}"
    else:
        line = slack_escape(f"{label}: {text}" if text else label)
    return {"text": line}


def teams_channel_body(event: Event, config: DeliveryConfig) -> dict:
    """A Teams incoming-webhook (Workflows) message: a minimal Adaptive Card, with a button to open kms."""
    label, text, link = describe(event, config)
    card: dict = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": [{"type": "TextBlock", "text": label, "weight": "Bolder", "wrap": True}],
    }
    if text:
        card["body"].append({"type": "TextBlock", "text": text, "wrap": True})
    if link:
        card["actions"] = [{"type": "Action.OpenUrl", "title": "Open in kms", "url": link}]
    return {
        "type": "message",
        "attachments": [
            {"contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": None, "content": card}
        ],
    }


def webhook_body(event: Event, config: DeliveryConfig) -> dict:
    """An outgoing webhook's JSON: the event name, its id, when it happened (UTC) and its data (with "url", the
    page it is about, when there is one)."""
    data = dict(event.payload) if isinstance(event.payload, dict) else {}
    if event.team:
        data.setdefault("team", event.team)
    url = event_link(data, config)
    if url:
        data.setdefault("url", url)
    created = event.created_at
    return {
        "event": event.name,
        "id": event.id,
        "created_at": created.strftime("%Y-%m-%dT%H:%M:%SZ") if created else None,
        "data": data,
    }


def _dump(body: dict) -> str:
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"), sort_keys=True, default=str)


# -- 1. Fan out --------------------------------------------------------------------------------------------------


def _interested(target: TeamChannel | Webhook, event: Event) -> bool:
    if event.name not in target.event_names:
        return False
    if target.created_at and event.created_at and event.created_at < target.created_at:
        return False  # a target hears what happens after it was added
    if isinstance(target, TeamChannel):
        return not event.team or event.team == target.team
    return True


def fan_out(config: DeliveryConfig, *, now: datetime | None = None, limit: int = FAN_OUT_BATCH) -> int:
    """Turn new events into deliveries for the channels and webhooks that chose them (held for those switched
    off); how many deliveries were created. Runs in the caller's transaction."""
    now = now or utcnow()
    cursor = db.session.get(EventCursor, CURSOR)
    if cursor is None:
        cursor = EventCursor(name=CURSOR, position=0)
        db.session.add(cursor)
        db.session.flush()
    position = cursor.position
    events = list(
        db.session.scalars(
            select(Event)
            .where(or_(Event.id > position, Event.created_at >= now - LOOKBACK))
            .order_by(Event.id)
            .limit(limit)
        )
    )
    if not events:
        return 0
    # Switched-off targets get their deliveries too, held until an admin switches them on again (due()).
    channels = list(db.session.scalars(select(TeamChannel)))
    webhooks = list(db.session.scalars(select(Webhook)))
    ids = [event.id for event in events]
    done = {
        tuple(row)
        for row in db.session.execute(
            select(Delivery.channel_id, Delivery.webhook_id, Delivery.event_id).where(
                Delivery.event_id.in_(ids)
            )
        )
    }
    created = 0
    for event in events:
        for channel in channels:
            if (channel.id, None, event.id) in done or not _interested(channel, event):
                continue
            make = slack_channel_body if channel.kind == "slack" else teams_channel_body
            db.session.add(
                Delivery(
                    target="channel",
                    channel_id=channel.id,
                    event_id=event.id,
                    event=event.name,
                    body=_dump(make(event, config)),
                    next_attempt_at=now,
                    created_at=now,
                )
            )
            created += 1
        for webhook in webhooks:
            if (None, webhook.id, event.id) in done or not _interested(webhook, event):
                continue
            db.session.add(
                Delivery(
                    target="webhook",
                    webhook_id=webhook.id,
                    event_id=event.id,
                    event=event.name,
                    body=_dump(webhook_body(event, config)),
                    next_attempt_at=now,
                    created_at=now,
                )
            )
            created += 1
    newest = max(ids)
    if newest > position:
        # Conditional, so two runs that read the same events cannot both move the position (the second fails
        # and rolls back; the unique constraints would refuse its deliveries anyway).
        moved = db.session.execute(
            update(EventCursor)
            .where(EventCursor.name == CURSOR, EventCursor.position == position)
            .values(position=newest)
            .execution_options(synchronize_session=False)
        )
        if moved.rowcount != 1:
            raise RuntimeError("another sender moved the event position; this run is rolled back")
        db.session.expire(cursor)
    db.session.flush()
    return created


def queue_reply(url_sealed: str, body: dict, *, event: str = "slack.reply") -> Delivery:
    """A reply to post to a chat app's response address (a Slack shortcut answer), sent like a delivery."""
    delivery = Delivery(target="reply", reply_url_sealed=url_sealed, event=event, body=_dump(body))
    db.session.add(delivery)
    db.session.flush()
    return delivery


# -- 2. Claim -------------------------------------------------------------------------------------------------------


def due(*, now: datetime | None = None, limit: int = 100) -> list[int]:
    """Ids of the pending deliveries whose time has come, for targets that are switched on, oldest first."""
    now = now or utcnow()
    return list(
        db.session.scalars(
            select(Delivery.id)
            .outerjoin(TeamChannel, Delivery.channel_id == TeamChannel.id)
            .outerjoin(Webhook, Delivery.webhook_id == Webhook.id)
            .where(
                Delivery.status == "pending",
                Delivery.next_attempt_at <= now,
                or_(Delivery.target == "reply", TeamChannel.active.is_(True), Webhook.active.is_(True)),
            )
            .order_by(Delivery.next_attempt_at, Delivery.id)
            .limit(limit)
        )
    )


@dataclass(frozen=True)
class Attempt:
    delivery_id: int
    number: int
    url: str | None  # None: the target's address could not be opened (see error)
    body: bytes
    headers: dict[str, str]
    error: str = ""


def claim(delivery_id: int, config: DeliveryConfig, *, now: datetime | None = None) -> Attempt | None:
    """Take the next attempt of a delivery, or None when it is not due or another sender took it first.

    Runs in the caller's transaction, which must commit before the attempt is sent."""
    now = now or utcnow()
    delivery = db.session.get(Delivery, delivery_id)
    if delivery is None or delivery.status != "pending" or delivery.next_attempt_at > now:
        return None
    number = delivery.attempts + 1
    taken = db.session.execute(
        update(Delivery)
        .where(
            Delivery.id == delivery_id,
            Delivery.status == "pending",
            Delivery.attempts == delivery.attempts,
        )
        .values(attempts=number, last_attempt_at=now, next_attempt_at=now + in_flight(config))
        .execution_options(synchronize_session=False)
    )
    if taken.rowcount != 1:
        return None
    db.session.expire(delivery)
    body = delivery.body.encode("utf-8")
    headers = {"Content-Type": "application/json; charset=utf-8", "User-Agent": USER_AGENT}
    url: str | None
    error = ""
    if delivery.target == "webhook":
        webhook = db.session.get(Webhook, delivery.webhook_id)
        url = webhook.url
        secret = unseal(webhook.secret_sealed, site_key=config.site_key)
        if secret is None:
            url, error = (
                None,
                "the signing secret cannot be read (the site's secret key changed): add the webhook again",
            )
        else:
            headers.update(
                {
                    "X-Kms-Event": delivery.event,
                    "X-Kms-Delivery": str(delivery.id),
                    "X-Kms-Signature": webhook_signature(body, secret),
                }
            )
    elif delivery.target == "channel":
        channel = db.session.get(TeamChannel, delivery.channel_id)
        url = unseal(channel.url_sealed, site_key=config.site_key)
        if url is None:
            error = (
                "the webhook address cannot be read (the site's secret key changed): add the channel again"
            )
    else:
        url = unseal(delivery.reply_url_sealed, site_key=config.site_key)
        if url is None:
            error = "the reply address cannot be read"
    return Attempt(delivery.id, number, url, body, headers, error)


# -- 3. Send ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Result:
    ok: bool
    code: int | None = None
    error: str = ""


def send(attempt: Attempt, *, timeout: float) -> Result:
    """POST the attempt; a 2xx answer within the timeout is a success, anything else a failure with its
    reason. Redirects are not followed (a receiver that moved must be updated by the admin)."""
    if attempt.url is None:
        return Result(False, None, attempt.error)
    import requests  # at first use: ~50 ms of every start otherwise

    try:
        response = requests.post(
            attempt.url, data=attempt.body, headers=attempt.headers, timeout=timeout, allow_redirects=False
        )
    except requests.Timeout:
        return Result(False, None, f"no answer within {timeout:g} s")
    except requests.ConnectionError as error:
        return Result(False, None, f"could not connect: {type(error).__name__}")
    except requests.RequestException as error:
        return Result(False, None, f"request failed: {type(error).__name__}")
    try:
        if 200 <= response.status_code < 300:
            return Result(True, response.status_code)
        return Result(
            False, response.status_code, f"HTTP {response.status_code} {response.reason or ''}".strip()
        )
    finally:
        response.close()


# -- 4. Record -------------------------------------------------------------------------------------------------------


def _target(delivery: Delivery) -> TeamChannel | Webhook | None:
    if delivery.channel_id is not None:
        return db.session.get(TeamChannel, delivery.channel_id)
    if delivery.webhook_id is not None:
        return db.session.get(Webhook, delivery.webhook_id)
    return None


def target_name(target: TeamChannel | Webhook) -> str:
    """How the admin pages and notices name a channel or webhook."""
    if isinstance(target, TeamChannel):
        app = "Slack" if target.kind == "slack" else "Microsoft Teams"
        return f"{app} channel of team {target.team}"
    return f"webhook to {urlsplit(target.url).hostname}"


def record(
    attempt: Attempt, result: Result, config: DeliveryConfig, *, actor, now: datetime | None = None
) -> str:
    """Store an attempt's outcome: "sent", "retry", "failed" or "disabled" (the target was switched off)."""
    now = now or utcnow()
    delivery = db.session.get(Delivery, attempt.delivery_id)
    if delivery is None:
        return "gone"
    delivery.response_code = result.code
    target = _target(delivery)
    if result.ok:
        delivery.status = "sent"
        delivery.sent_at = now
        delivery.last_error = ""
        if target is not None:
            target.failures = 0
        db.session.flush()
        return "sent"
    delivery.last_error = (result.error or "failed")[:ERROR_CHARS]
    delivery.next_attempt_at = now + backoff(delivery.attempts, config.retry_seconds)
    limit = REPLY_ATTEMPTS if delivery.target == "reply" else config.max_attempts
    outcome = "retry"
    if delivery.attempts >= limit:
        delivery.status = "failed"
        outcome = "failed"
    if target is not None:
        target.failures += 1
        if target.active and target.failures >= config.disable_after:
            _disable(target, now=now, actor=actor)
            outcome = "disabled"
    db.session.flush()
    return outcome


def _disable(target: TeamChannel | Webhook, *, now: datetime, actor) -> None:
    target.active = False
    target.disabled_at = now
    target.disabled_reason = f"switched off after {target.failures} failed deliveries in a row"
    admins = list(db.session.scalars(select(User).where(User.role == Role.ADMIN, User.active.is_(True))))
    name = target_name(target)
    if isinstance(target, TeamChannel):
        link = ("integrations.channel_log", {"channel_id": target.id})
    else:
        link = ("integrations.webhook_log", {"webhook_id": target.id})
    notify(
        admins,
        DISABLED_KIND,
        title=f"The {name} was switched off",
        body=(
            f"kms could not deliver to the {name} {target.failures} times in a row and stopped trying. "
            "Check the receiver, then switch it on again in Integrations; held deliveries will be sent then."
        ),
        actor=actor,
        link=link,
        dedupe_key=f"{type(target).__name__}:{target.id}:{now.isoformat()}",
    )
    log.warning("integrations: %s switched off after %d failures", name, target.failures)
