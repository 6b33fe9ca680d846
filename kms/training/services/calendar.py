"""Calendars: one .ics event per shadowing session, and a private, revocable feed per user (icalendar)."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import joinedload

from kms.auth.models import User
from kms.errors import NotFound
from kms.extensions import db, utcnow
from kms.training.models import Assignment, CalendarFeed, ShadowSession
from kms.training.services.ical import new_calendar, new_event, session_event
from kms.training.services.shadowing import get_session


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _due_event(assignment: Assignment, stamp: datetime):
    event = new_event()
    event.add("uid", f"assignment-{assignment.id}@kms")
    event.add("dtstamp", stamp)
    event.add("sequence", assignment.sequence)
    event.add("dtstart", assignment.due_on)
    event.add("dtend", assignment.due_on + timedelta(days=1))
    event.add("summary", f"Training due: {assignment.module.title}")
    event.add("transp", "TRANSPARENT")
    return event


def session_ics(session_id: int, *, actor, now: datetime | None = None) -> bytes:
    """One session as an iCalendar file, for its trainee, host, or their lead."""
    session = get_session(session_id, actor=actor)
    cal = new_calendar("kms shadowing")
    cal.add("method", "PUBLISH")
    cal.add_component(session_event(session, now or utcnow()))
    return cal.to_ical()


def feed_ics(token: str, *, now: datetime | None = None) -> bytes:
    """The feed behind a secret URL: the owner's sessions (as trainee or host) and due dates. NotFound if revoked."""
    feed = db.session.scalar(
        select(CalendarFeed).where(
            CalendarFeed.token_hash == _digest(token or ""), CalendarFeed.revoked_at.is_(None)
        )
    )
    user = db.session.get(User, feed.user_id) if feed else None
    if user is None or not user.active:
        raise NotFound("No such calendar.")
    stamp = now or utcnow()
    cal = new_calendar(f"kms training — {user.name}")
    for session in db.session.scalars(
        select(ShadowSession)
        .options(joinedload(ShadowSession.host), joinedload(ShadowSession.trainee))
        .where(or_(ShadowSession.trainee_id == user.id, ShadowSession.host_id == user.id))
        .order_by(ShadowSession.starts_at)
    ):
        cal.add_component(session_event(session, stamp))
    for assignment in db.session.scalars(
        select(Assignment)
        .options(joinedload(Assignment.module))
        .where(Assignment.user_id == user.id, Assignment.due_on.is_not(None))
    ):
        cal.add_component(_due_event(assignment, stamp))
    return cal.to_ical()


def active_feed(*, actor) -> CalendarFeed | None:
    """The person's working calendar feed (link), or None when they have none."""
    return db.session.scalar(
        select(CalendarFeed).where(CalendarFeed.user_id == actor.id, CalendarFeed.revoked_at.is_(None))
    )


def create_feed(*, actor) -> str:
    """A new secret feed token for the actor (shown once); any older feed URL stops working."""
    token = secrets.token_urlsafe(32)
    _revoke(actor.id)
    db.session.add(CalendarFeed(user_id=actor.id, token_hash=_digest(token)))
    db.session.flush()
    return token


def revoke_feed(*, actor) -> int:
    """Turn off the actor's feed URL; returns how many were revoked."""
    count = _revoke(actor.id)
    db.session.flush()
    return count


def _revoke(user_id: int) -> int:
    feeds = list(
        db.session.scalars(
            select(CalendarFeed).where(CalendarFeed.user_id == user_id, CalendarFeed.revoked_at.is_(None))
        )
    )
    for feed in feeds:
        feed.revoked_at = utcnow()
    return len(feeds)
