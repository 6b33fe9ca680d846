"""The daily digest: one e-mail per person per day gathering their "digest" notifications."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select, update

from kms.auth.models import User
from kms.extensions import db
from kms.notify.kinds import DIGEST
from kms.notify.models import Notification, OutgoingMessage
from kms.timezones import zone


def _waiting_users(now: datetime) -> list[User]:
    waiting = (
        select(Notification.user_id)
        .where(
            Notification.channel == "digest",
            Notification.digest_message_id.is_(None),
            Notification.created_at <= now,
        )
        .distinct()
    )
    return list(db.session.scalars(select(User).where(User.id.in_(waiting), User.active.is_(True))))


def _has_digest(user_id: int, day) -> bool:
    query = select(OutgoingMessage.id).where(
        OutgoingMessage.user_id == user_id, OutgoingMessage.digest_day == day
    )
    return db.session.scalar(query) is not None


def build_digests(now: datetime, *, from_hour: int = 7, limit: int | None = None) -> int:
    """Queue today's digest for every active person with waiting digest notifications whose local time is past
    `from_hour` and who has no digest for their local today yet. Returns how many digests were queued.

    A notification belongs to exactly one digest (digest_message_id), so nothing is told twice, and the unique
    (user, day) key keeps it to one message a day even if two builders ran at once."""
    built = 0
    for user in _waiting_users(now):
        local = now.astimezone(zone(user.time_zone))
        if local.hour < from_hour or _has_digest(user.id, local.date()):
            continue
        count = db.session.scalar(
            select(db.func.count(Notification.id)).where(
                Notification.user_id == user.id,
                Notification.channel == "digest",
                Notification.digest_message_id.is_(None),
                Notification.created_at <= now,
            )
        )
        message = OutgoingMessage(
            user_id=user.id,
            kind=DIGEST,
            title=f"kms: {count} update{'s' if count != 1 else ''} for {local:%A %d %B}",
            digest_day=local.date(),
            message_token=uuid.uuid4().hex,
            next_attempt_at=now,
            context={"count": count},
        )
        db.session.add(message)
        db.session.flush()
        db.session.execute(
            update(Notification)
            .where(
                Notification.user_id == user.id,
                Notification.channel == "digest",
                Notification.digest_message_id.is_(None),
                Notification.created_at <= now,
            )
            .values(digest_message_id=message.id)
        )
        built += 1
        if limit is not None and built >= limit:
            break
    db.session.flush()
    return built
