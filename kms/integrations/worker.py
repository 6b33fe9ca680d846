"""The delivery job and the immediate send of a Slack shortcut reply: they read the app's settings and run the
delivery steps of services.delivery, each step in its own transaction, as the system actor."""

from __future__ import annotations

import logging
import threading
import time
from datetime import datetime

from flask import current_app
from werkzeug.routing import BuildError

from kms.auth import SYSTEM
from kms.extensions import unit_of_work
from kms.integrations.services import delivery

log = logging.getLogger(__name__)

JOB_NAME = "integrations-deliver"
RUN_SECONDS = (
    50.0  # a run stops taking new deliveries after this long (a hanging receiver costs a timeout each)
)
BATCH = 100


def _link_path(app):
    def build(endpoint: str, values: dict) -> str | None:
        try:
            return app.url_map.bind("kms").build(endpoint, values)
        except (BuildError, TypeError, ValueError):
            return None

    return build


def delivery_config(app=None) -> delivery.DeliveryConfig:
    """The delivery settings of the app (KMS_WEBHOOK_*, the base URL for links, the key that seals secrets)."""
    app = app or current_app._get_current_object()
    config = app.config
    return delivery.DeliveryConfig(
        link_path=_link_path(app),
        site_key=config["SECRET_KEY"],
        base_url=config.get("KMS_BASE_URL") or "",
        timeout=float(config.get("KMS_WEBHOOK_TIMEOUT", "5")),
        retry_seconds=float(config.get("KMS_WEBHOOK_RETRY_SECONDS", "30")),
        max_attempts=int(config.get("KMS_WEBHOOK_MAX_ATTEMPTS", "6")),
        disable_after=int(config.get("KMS_WEBHOOK_DISABLE_AFTER", "10")),
    )


def deliver_one(delivery_id: int, config: delivery.DeliveryConfig) -> str | None:
    """Claim, send and record one attempt of one delivery; its outcome, or None if it was not ours to send."""
    with unit_of_work():
        attempt = delivery.claim(delivery_id, config)
    if attempt is None:
        return None
    result = delivery.send(attempt, timeout=config.timeout)
    with unit_of_work():
        return delivery.record(attempt, result, config, actor=SYSTEM)


def run(now: datetime | None = None) -> str:
    """The job: new events to deliveries, then the deliveries that are due; a one-line summary."""
    config = delivery_config()
    with unit_of_work():
        created = delivery.fan_out(config)
    with unit_of_work():
        ids = delivery.due(limit=BATCH)
    counts: dict[str, int] = {}
    started = time.monotonic()
    for delivery_id in ids:
        if time.monotonic() - started > RUN_SECONDS:
            break
        outcome = deliver_one(delivery_id, config)
        if outcome:
            counts[outcome] = counts.get(outcome, 0) + 1
    done = ", ".join(f"{n} {what}" for what, n in sorted(counts.items())) or "nothing due"
    return f"{created} new deliveries; {done}"


def send_soon(delivery_id: int) -> threading.Thread:
    """Send a reply at once in a background thread (the request has already answered Slack); if that
    fails, the delivery job retries it."""
    app = current_app._get_current_object()
    config = delivery_config(app)

    def work() -> None:
        with app.app_context():
            try:
                deliver_one(delivery_id, config)
            except Exception:  # noqa: BLE001 - the job retries; the thread must not die noisily
                log.exception("integrations: immediate reply %s failed; the job will retry", delivery_id)

    thread = threading.Thread(target=work, name=f"kms-reply-{delivery_id}", daemon=True)
    thread.start()
    return thread
