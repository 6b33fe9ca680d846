"""The daily digest: one e-mail per person per day gathering their "digest" notifications."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import func, select, update

from kms.auth.models import User
from kms.extensions import db
from kms.notify.kinds import DIGEST
from kms.notify.models import Notification, OutgoingMessage
from kms.timezones import zone


def _waiting() -> tuple:
    return (
        Notification.channel == "digest",
        Notification.digest_message_id.is_(None),
    )


def build_digests(now: datetime, *, from_hour: int = 7) -> int:
    """Queue today's digest for every active person with waiting digest notifications whose local time is past
    `from_hour` and who has no digest for their local today yet. Returns how many digests were queued.

    A notification belongs to exactly one digest (digest_message_id), so nothing is told twice, and the unique
    (user, day) key keeps it to one message a day. A handful of statements for any number of people: one to
    find who is waiting (with counts), one for today's digests already queued, one insert, one update each."""
    waiting = db.session.execute(
        select(User.id, User.time_zone, func.count(Notification.id))
        .join(Notification, Notification.user_id == User.id)
        .where(*_waiting(), Notification.created_at <= now, User.active.is_(True))
        .group_by(User.id, User.time_zone)
    ).all()
    due = {}
    for user_id, time_zone, count in waiting:
        local = now.astimezone(zone(time_zone))
        if local.hour >= from_hour:
            due[user_id] = (local, count)
    if not due:
        return 0
    days = {local.date() for local, _ in due.values()}
    done = set(
        db.session.execute(
            select(OutgoingMessage.user_id, OutgoingMessage.digest_day).where(
                OutgoingMessage.user_id.in_(list(due)), OutgoingMessage.digest_day.in_(days)
            )
        ).all()
    )
    messages = [
        OutgoingMessage(
            user_id=user_id,
            kind=DIGEST,
            title=f"kms: {count} update{'s' if count != 1 else ''} for {local:%A %d %B}",
            digest_day=local.date(),
            message_token=uuid.uuid4().hex,
            next_attempt_at=now,
            context={"count": count},
        )
        for user_id, (local, count) in due.items()
        if (user_id, local.date()) not in done
    ]
    db.session.add_all(messages)
    db.session.flush()
    for message in messages:
        db.session.execute(
            update(Notification)
            .execution_options(synchronize_session=False)
            .where(*_waiting(), Notification.user_id == message.user_id, Notification.created_at <= now)
            .values(digest_message_id=message.id)
        )
    return len(messages)
