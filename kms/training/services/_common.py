"""Helpers shared by the training services: who may do what, time zones, text checks."""

from __future__ import annotations

import calendar
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import select

from kms.auth.models import Role, User
from kms.errors import Forbidden, Invalid, NotFound
from kms.extensions import db
from kms.timezones import local_to_utc, zone  # noqa: F401 - training's services use both by these names
from kms.validate import text  # noqa: F401 - catalog.py imports it from here

LEADS = frozenset({Role.ADMIN, Role.MANAGER})
EDITORS = frozenset({Role.ADMIN, Role.MANAGER, Role.AUTHOR})


def is_lead(actor) -> bool:
    """Whether this person leads learners (managers and admins)."""
    return actor is not None and actor.role in LEADS


def is_editor(actor) -> bool:
    """Whether this person may change training modules (authors, managers, admins)."""
    return actor is not None and actor.role in EDITORS


def require_editor(actor) -> None:
    """Refuse anyone who may not change training modules (Forbidden)."""
    if not is_editor(actor):
        raise Forbidden("Only authors, managers and admins change training modules.")


def require_lead(actor) -> None:
    """Refuse anyone but a manager or admin (Forbidden)."""
    if not is_lead(actor):
        raise Forbidden("Only managers and admins do that.")


def can_see_learner(actor, user: User) -> bool:
    """A learner sees themselves; an admin sees everyone; a manager sees their own team."""
    if actor is None:
        return False
    if actor.id == user.id or actor.role == Role.ADMIN:
        return True
    return actor.role == Role.MANAGER and (actor.team or "") == (user.team or "")


def learner(user_id: int, actor) -> User:
    """The user, if the actor may see their training; NotFound otherwise (existence is not revealed)."""
    user = db.session.get(User, user_id)
    if user is None or not can_see_learner(actor, user):
        raise NotFound("No such learner.")
    return user


def managed_learner(user_id: int, actor) -> User:
    """The user, if the actor is a lead who manages them; the user must be active."""
    require_lead(actor)
    user = learner(user_id, actor)
    if not user.active:
        raise Invalid(f"{user.name} is deactivated.", field="user_id")
    return user


def assigners_for(user: User) -> list[User]:
    """Who leads this person's training (assigns it, hears when it is late): the active managers of their team,
    or else the active admins."""
    people = select(User).where(User.active.is_(True), User.id != user.id).order_by(User.name)
    managers = list(
        db.session.scalars(
            people.where(User.role == Role.MANAGER, User.team != "", User.team == (user.team or ""))
        )
    )
    return managers or list(db.session.scalars(people.where(User.role == Role.ADMIN)))


def lock_users(*user_ids: int) -> None:
    """Serialise writes about these people (PostgreSQL row locks; SQLite already holds the write lock)."""
    ids = sorted({i for i in user_ids if i is not None})
    if ids:
        db.session.execute(select(User.id).where(User.id.in_(ids)).order_by(User.id).with_for_update())


def end_of_local_day(day: date, tz_name: str) -> datetime:
    """The UTC instant a local calendar day ends (midnight of the next day in that zone)."""
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone(tz_name)).astimezone(UTC)


def local_today(tz_name: str, now: datetime) -> date:
    """The date it is in this time zone at that moment."""
    return now.astimezone(zone(tz_name)).date()


def add_months(moment: datetime, months: int) -> datetime:
    """The same moment some months later, on the month's last day when the day does not exist."""
    month_index = moment.month - 1 + months
    year, month = moment.year + month_index // 12, month_index % 12 + 1
    return moment.replace(year=year, month=month, day=min(moment.day, calendar.monthrange(year, month)[1]))


def whole(value, field: str, label: str, low: int, high: int) -> int:
    """A typed whole number checked to lie between low and high; Invalid naming the field otherwise."""
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise Invalid(f"{label} must be a whole number.", field=field) from None
    if not low <= number <= high:
        raise Invalid(f"{label} must be between {low} and {high}.", field=field)
    return number


def module_percent(progress) -> int:
    """A module's progress in percent: its lessons plus the quiz as one step; 100 only once complete."""
    if progress.complete:
        return 100
    steps = progress.lessons_total + (1 if progress.quiz_required else 0)
    done = progress.lessons_done + (1 if progress.quiz_passed else 0)
    return min(99, done * 100 // steps) if steps else 0


def onboarding_percent(modules, sessions_done: int, sessions_total: int) -> int:
    """A learner's whole onboarding in percent: the average of their module bars (so every lesson moves it) with
    each booked shadowing session as a bar at 0 or 100; 100 only once every module and session is done."""
    parts = len(modules) + sessions_total
    return (sum(module_percent(m) for m in modules) + 100 * sessions_done) // parts if parts else 0
