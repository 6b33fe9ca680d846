"""The sender: drains the e-mail outbox over SMTP (a `kms worker` job, also callable as send_pending(now)).

Delivery promise: a message is handed to the mail server at most once, and none is silently lost.
Each message goes through its own short transactions (see kms.notify.services.outbox for the states):

1. claim it with a lease (conditional UPDATE, committed): no other sender, in this process or another, may
   take it while the lease runs;
2. open or reuse the connection, MAIL FROM and RCPT TO: a refusal or an error here happens before the server
   has the text, so the message is safely tried again later (back-off), or fails at once on a permanent 5xx;
3. mark it "sending" (committed), then send DATA;
4. on 250, mark it "sent" (committed).

If the process dies (kill -9, power cut) between 3 and 4, nobody can tell whether the server kept the message.
kms then prefers "at most once": when the lease runs out the message becomes "unknown" and is listed on
Admin -> Mail, where an admin resends it (same Message-ID, so a receiving system may spot a duplicate) or
drops it. Dying anywhere else is harmless: a claimed message whose lease ran out is simply pending again.
The window of step 3-4 is one DATA exchange, a fraction of a second.

The address is read when sending; a deactivated account's messages are dropped unsent. No web request ever
waits for this: notify() only writes rows.
"""

from __future__ import annotations

import logging
import os
import smtplib
import socket
import time
import uuid
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import select

from kms.extensions import db, unit_of_work
from kms.notify.compose import compose, sender_address
from kms.notify.kinds import DIGEST
from kms.notify.models import MailStatus, Notification
from kms.notify.services import outbox
from kms.notify.smtp import SmtpConfigError, connect, parse_smtp_url

log = logging.getLogger(__name__)
BATCH = 200


def smtp_settings(app=None):
    """SmtpSettings from KMS_SMTP_URL, or None when e-mail is off; SmtpConfigError when it is unusable."""
    return parse_smtp_url((app or current_app).config.get("KMS_SMTP_URL", ""))


def mail_off_reason(app=None) -> str | None:
    """Why no e-mail goes out, for the admin page and the job summary; None when SMTP is configured."""
    try:
        settings = smtp_settings(app)
    except SmtpConfigError as error:
        return str(error)
    if settings is None:
        return "KMS_SMTP_URL is not set, so kms sends no e-mail: notifications are shown in kms only."
    return None


def _owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class _Clock:
    """`now` as given by the caller, advancing with real time while the batch runs (leases stay honest)."""

    def __init__(self, now: datetime):
        self.start, self.wall = now, time.monotonic()

    def __call__(self) -> datetime:
        return self.start + timedelta(seconds=time.monotonic() - self.wall)


def _permanent(code: int) -> bool:
    return 500 <= code < 600


def _error(code, reply) -> str:
    text = reply.decode(errors="replace") if isinstance(reply, bytes) else str(reply)
    return f"{code} {text}".strip()


def _close(conn) -> None:
    if conn is None:
        return
    try:
        conn.quit()
    except (OSError, smtplib.SMTPException):
        conn.close()


def send_pending(now: datetime, *, limit: int = BATCH) -> str | None:
    """Send the due messages of the outbox (at most `limit`); returns a one-line summary for the job log."""
    reason = mail_off_reason()
    if reason:
        return f"no e-mail sent: {reason}"
    settings = smtp_settings()
    config = current_app.config
    max_tries = int(config.get("KMS_MAIL_MAX_TRIES", 8))
    base_seconds = float(config.get("KMS_MAIL_RETRY_SECONDS", 60))
    lease = timedelta(seconds=settings.timeout * 3 + 30)
    clock, owner = _Clock(now), _owner()
    with unit_of_work():
        back, unknown = outbox.recover_expired(clock())
    with unit_of_work():
        ids = outbox.due_ids(clock(), limit)
    counts = {"sent": 0, "retry": 0, "failed": 0, "unknown": unknown, "dropped": 0}
    conn = None
    try:
        for message_id in ids:
            with unit_of_work():
                if not outbox.claim(message_id, owner, clock(), lease):
                    continue  # another sender has it, or it is done
            outcome, conn = _send_one(
                message_id, owner, conn, settings, clock, lease, max_tries, base_seconds
            )
            counts[outcome] = counts.get(outcome, 0) + 1
            if outcome == "unreachable":
                break  # the server is down: the rest wait for the next run without spending a try
    finally:
        _close(conn)
    parts = [f"{n} {name}" for name, n in counts.items() if n]
    if back:
        parts.append(f"{back} released from a dead sender")
    return "e-mail: " + (", ".join(parts) if parts else "nothing due")


def _retry(message_id, owner, clock, error, max_tries, base_seconds, permanent=False) -> str:
    with unit_of_work():
        status = outbox.mark_retry(
            message_id,
            owner,
            clock(),
            error,
            max_tries=max_tries,
            base_seconds=base_seconds,
            permanent=permanent,
        )
    return "failed" if status == MailStatus.FAILED else "retry"


def _send_one(message_id, owner, conn, settings, clock, lease, max_tries, base_seconds):
    """Steps 2-4 for one claimed message; returns (outcome, the connection to reuse or None)."""
    with unit_of_work():
        found = outbox.message_for_sending(message_id)
        if found is None:
            return "dropped", conn
        message, user = found
        if not user.active or not user.email:
            outbox.mark_dropped(message_id, owner, "Not sent: the account is deactivated.")
            return "dropped", conn
        items = []
        if message.kind == DIGEST:
            items = list(
                db.session.scalars(
                    select(Notification)
                    .where(Notification.digest_message_id == message.id)
                    .order_by(Notification.created_at, Notification.id)
                )
            )
        try:
            mail = compose(message, user, items=items, now=clock())
        except Exception as error:  # noqa: BLE001 - a template or link error must not stop the batch
            log.exception("e-mail %s could not be composed", message_id)
            composed_error = f"Could not build the message: {type(error).__name__}: {error}"
        else:
            composed_error = None
        address = user.email
    if composed_error:
        return _retry(message_id, owner, clock, composed_error, max_tries, base_seconds), conn

    # Step 2: talk to the server up to RCPT TO. Nothing of the message is with the server yet.
    try:
        if conn is None:
            conn = connect(settings)
        code, reply = conn.mail(sender_address().addr_spec)
        if code != 250:
            conn.rset()
            return _retry(
                message_id, owner, clock, _error(code, reply), max_tries, base_seconds, _permanent(code)
            ), conn
        code, reply = conn.rcpt(address)
        if code not in (250, 251):
            conn.rset()
            return _retry(
                message_id, owner, clock, _error(code, reply), max_tries, base_seconds, _permanent(code)
            ), conn
    except (OSError, smtplib.SMTPException) as error:
        _close(conn)
        outcome = _retry(
            message_id, owner, clock, f"{type(error).__name__}: {error}", max_tries, base_seconds
        )
        return ("unreachable" if outcome == "retry" else outcome), None

    # Step 3: from here a crash leaves the message "unknown" (maybe delivered), never resent by itself.
    with unit_of_work():
        if not outbox.start_handover(message_id, owner, clock(), lease, address):
            conn.rset()
            return "lost-lease", conn
    try:
        code, reply = conn.data(mail.as_bytes())
    except smtplib.SMTPDataError as error:  # the server refused the text: it did not keep it
        return _retry(
            message_id,
            owner,
            clock,
            _error(error.smtp_code, error.smtp_error),
            max_tries,
            base_seconds,
            _permanent(error.smtp_code),
        ), conn
    except (OSError, smtplib.SMTPException) as error:
        with unit_of_work():
            outbox.mark_unknown(message_id, owner, f"{type(error).__name__}: {error}")
        _close(conn)
        return "unknown", None
    if code != 250:
        return _retry(
            message_id, owner, clock, _error(code, reply), max_tries, base_seconds, _permanent(code)
        ), conn
    # Step 4.
    with unit_of_work():
        outbox.mark_sent(message_id, owner, clock())
    return "sent", conn
