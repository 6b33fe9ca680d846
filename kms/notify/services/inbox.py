"""A person's own notifications: the bell's count, the page, marking read."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select, update

from kms.errors import NotFound
from kms.extensions import db
from kms.notify.models import Notification

PAGE_SIZE = 30


def unread_count(user_id: int) -> int:
    """How many of a person's notifications are unread (one COUNT on an index)."""
    query = select(func.count(Notification.id)).where(
        Notification.user_id == user_id, Notification.read_at.is_(None)
    )
    return db.session.scalar(query) or 0


def page_of(user_id: int, page: int, size: int = PAGE_SIZE) -> tuple[list[Notification], int, int]:
    """(notifications on `page`, newest first; the page actually shown, clamped; how many pages)."""
    total = db.session.scalar(select(func.count(Notification.id)).where(Notification.user_id == user_id)) or 0
    pages = max(1, -(-total // size))
    page = min(max(page, 1), pages)
    rows = db.session.scalars(
        select(Notification)
        .where(Notification.user_id == user_id)
        .order_by(Notification.created_at.desc(), Notification.id.desc())
        .offset((page - 1) * size)
        .limit(size)
    )
    return list(rows), page, pages


def mark_read(notification_id: int, *, actor, now: datetime) -> Notification:
    """Mark one of the actor's own notifications read; someone else's is NotFound (existence not revealed)."""
    item = db.session.get(Notification, notification_id)
    if item is None or item.user_id != actor.id:
        raise NotFound("No such notification.")
    if item.read_at is None:
        item.read_at = now
    db.session.flush()
    return item


def mark_all_read(*, actor, now: datetime) -> int:
    """Mark every unread notification of the actor read; returns how many."""
    result = db.session.execute(
        update(Notification)
        .where(Notification.user_id == actor.id, Notification.read_at.is_(None))
        .values(read_at=now)
    )
    return result.rowcount
