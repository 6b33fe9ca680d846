"""The outbox's state changes: claim with a lease, hand over, sent, retry later, give up; admin retry and drop.

Every change is a conditional UPDATE (checked by its row count) on the row's status and lease owner, so two
senders in two processes, on SQLite or PostgreSQL, never both own one message. Callers commit each step in its
own unit of work (the sender does), so a crash loses at most the step in progress.

    pending --claim--> claimed --hand over--> sending --server said 250--> sent
       ^                  |                      |
       +--- retry later --+  (error before the   +-- error or crash while handing over --> unknown
                              text was sent)          (maybe delivered: never resent on its own)

A claimed message whose lease ran out (its sender died before handing it over) is pending again: it was never
given to the server. A "sending" one whose lease ran out is "unknown": the server may have it, so kms does not
send it again by itself (at most once); the admin page lists it with Resend and Drop. Failed messages (a
permanent refusal, or the last try) are listed there too.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import and_, func, select, update

from kms.auth.models import User
from kms.errors import Invalid, NotFound
from kms.extensions import db
from kms.notify.kinds import KINDS
from kms.notify.models import MailStatus, OutgoingMessage

LONGEST_WAIT = timedelta(hours=6)


def due_ids(now: datetime, limit: int) -> list[int]:
    """Ids of pending messages whose next attempt is due, oldest first."""
    query = (
        select(OutgoingMessage.id)
        .where(OutgoingMessage.status == MailStatus.PENDING, OutgoingMessage.next_attempt_at <= now)
        .order_by(OutgoingMessage.next_attempt_at, OutgoingMessage.id)
        .limit(limit)
    )
    return list(db.session.scalars(query))


def recover_expired(now: datetime) -> tuple[int, int]:
    """Leases that ran out: claimed -> pending (never handed over), sending -> unknown. Returns both counts."""
    back = db.session.execute(
        update(OutgoingMessage)
        .where(OutgoingMessage.status == MailStatus.CLAIMED, OutgoingMessage.leased_until < now)
        .values(status=MailStatus.PENDING, lease_owner=None, leased_until=None)
    ).rowcount
    unknown = db.session.execute(
        update(OutgoingMessage)
        .where(OutgoingMessage.status == MailStatus.SENDING, OutgoingMessage.leased_until < now)
        .values(
            status=MailStatus.UNKNOWN,
            lease_owner=None,
            leased_until=None,
            last_error="The sender stopped while handing this message to the mail server: it may or may not "
            "have been delivered. Resend it, or drop it.",
        )
    ).rowcount
    return back, unknown


def claim(message_id: int, owner: str, now: datetime, lease: timedelta) -> bool:
    """Take a due pending message for `owner` until now + lease; False when someone else has it or it is done."""
    result = db.session.execute(
        update(OutgoingMessage)
        .where(
            OutgoingMessage.id == message_id,
            OutgoingMessage.status == MailStatus.PENDING,
            OutgoingMessage.next_attempt_at <= now,
        )
        .values(
            status=MailStatus.CLAIMED,
            lease_owner=owner,
            leased_until=now + lease,
            attempts=OutgoingMessage.attempts + 1,
        )
    )
    return result.rowcount == 1


def _mine(message_id: int, owner: str, status: str):
    return and_(
        OutgoingMessage.id == message_id,
        OutgoingMessage.lease_owner == owner,
        OutgoingMessage.status == status,
    )


def start_handover(message_id: int, owner: str, now: datetime, lease: timedelta, address: str) -> bool:
    """Record that the text is about to go to the server (claimed -> sending); False if the lease was lost."""
    result = db.session.execute(
        update(OutgoingMessage)
        .where(_mine(message_id, owner, MailStatus.CLAIMED))
        .values(status=MailStatus.SENDING, leased_until=now + lease, sent_to=address[:254])
    )
    return result.rowcount == 1


def _scrubbed(message_id: int) -> dict:
    # Mandatory kinds carry a secret link (invite, reset): once sent or dropped it is not kept in the outbox.
    kind = db.session.scalar(select(OutgoingMessage.kind).where(OutgoingMessage.id == message_id))
    spec = KINDS.get(kind or "")
    return {"link_values": None, "context": None} if spec is not None and spec.mandatory else {}


def mark_sent(message_id: int, owner: str, now: datetime) -> bool:
    """The server accepted the message (sending -> sent)."""
    result = db.session.execute(
        update(OutgoingMessage)
        .where(_mine(message_id, owner, MailStatus.SENDING))
        .values(
            status=MailStatus.SENT,
            sent_at=now,
            lease_owner=None,
            leased_until=None,
            last_error="",
            **_scrubbed(message_id),
        )
    )
    return result.rowcount == 1


def backoff(attempts: int, base_seconds: float) -> timedelta:
    """Wait before try number attempts+1: base, 2 x base, 4 x base ..., at most LONGEST_WAIT."""
    seconds = base_seconds * 2 ** min(max(attempts - 1, 0), 30)
    return min(timedelta(seconds=seconds), LONGEST_WAIT)


def mark_retry(
    message_id: int,
    owner: str,
    now: datetime,
    error: str,
    *,
    max_tries: int,
    base_seconds: float,
    permanent: bool = False,
) -> str:
    """Not handed over (claimed, or refused by the server): pending again after a back-off, or failed when
    the error is permanent or this was the last try. Returns the new status ("" if the lease was lost)."""
    attempts = db.session.scalar(select(OutgoingMessage.attempts).where(OutgoingMessage.id == message_id))
    if attempts is None:
        return ""
    give_up = permanent or attempts >= max_tries
    status = MailStatus.FAILED if give_up else MailStatus.PENDING
    result = db.session.execute(
        update(OutgoingMessage)
        .where(
            OutgoingMessage.id == message_id,
            OutgoingMessage.lease_owner == owner,
            OutgoingMessage.status.in_([MailStatus.CLAIMED, MailStatus.SENDING]),
        )
        .values(
            status=status,
            lease_owner=None,
            leased_until=None,
            last_error=error[:2000],
            next_attempt_at=now + backoff(attempts, base_seconds),
        )
    )
    return status if result.rowcount == 1 else ""


def mark_unknown(message_id: int, owner: str, error: str) -> bool:
    """The connection broke while the text was being handed over: maybe delivered; the admin decides."""
    result = db.session.execute(
        update(OutgoingMessage)
        .where(_mine(message_id, owner, MailStatus.SENDING))
        .values(
            status=MailStatus.UNKNOWN,
            lease_owner=None,
            leased_until=None,
            last_error=f"Maybe delivered: the connection broke while handing it over ({error})"[:2000],
        )
    )
    return result.rowcount == 1


def mark_dropped(message_id: int, owner: str, reason: str) -> bool:
    """Nobody to send to (deactivated account): dropped, never sent."""
    result = db.session.execute(
        update(OutgoingMessage)
        .where(_mine(message_id, owner, MailStatus.CLAIMED))
        .values(
            status=MailStatus.DROPPED,
            lease_owner=None,
            leased_until=None,
            last_error=reason[:2000],
            **_scrubbed(message_id),
        )
    )
    return result.rowcount == 1


def message_for_sending(message_id: int) -> tuple[OutgoingMessage, User] | None:
    """The message and its recipient as they are now (the address is read at send time)."""
    row = db.session.execute(
        select(OutgoingMessage, User)
        .join(User, User.id == OutgoingMessage.user_id)
        .where(OutgoingMessage.id == message_id)
        .execution_options(populate_existing=True)
    ).first()
    return (row[0], row[1]) if row else None


# --- the admins' mail page -------------------------------------------------------------------------------


def problem_messages(limit: int = 200) -> list[tuple[OutgoingMessage, User]]:
    """Failed and unknown messages, newest first, with their recipients."""
    rows = db.session.execute(
        select(OutgoingMessage, User)
        .join(User, User.id == OutgoingMessage.user_id)
        .where(OutgoingMessage.status.in_(MailStatus.ADMIN_VISIBLE))
        .order_by(OutgoingMessage.id.desc())
        .limit(limit)
    )
    return [(message, user) for message, user in rows]


def status_counts() -> dict[str, int]:
    """How many messages are in each state."""
    rows = db.session.execute(
        select(OutgoingMessage.status, func.count(OutgoingMessage.id)).group_by(OutgoingMessage.status)
    )
    return dict(rows.all())


def _problem(message_id: int) -> OutgoingMessage:
    message = db.session.get(OutgoingMessage, message_id)
    if message is None:
        raise NotFound("No such message.")
    if message.status not in MailStatus.ADMIN_VISIBLE:
        raise Invalid(f"This message is {message.status}; only failed or unknown messages can be changed.")
    return message


def retry_message(message_id: int, *, actor, now: datetime) -> OutgoingMessage:
    """An admin sends a failed or unknown message again (same Message-ID), with a fresh count of tries."""
    message = _problem(message_id)
    message.status, message.attempts, message.next_attempt_at = MailStatus.PENDING, 0, now
    message.last_error = f"Resent by {getattr(actor, 'name', 'an admin')}; was: {message.last_error}"[:2000]
    db.session.flush()
    return message


def drop_message(message_id: int, *, actor) -> OutgoingMessage:
    """An admin gives up on a failed or unknown message: it is never sent (again)."""
    message = _problem(message_id)
    message.status = MailStatus.DROPPED
    message.last_error = f"Dropped by {getattr(actor, 'name', 'an admin')}; was: {message.last_error}"[:2000]
    message.link_values = (
        None if KINDS.get(message.kind, None) and KINDS[message.kind].mandatory else message.link_values
    )
    db.session.flush()
    return message
