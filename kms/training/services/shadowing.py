"""Shadowing: hosts with weekly availability, sessions with explicit conflict checks, and the planner."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from urllib.parse import urlsplit

from sqlalchemy import or_, select
from sqlalchemy.orm import joinedload, selectinload

from kms.articles.models import Article
from kms.auth.models import User
from kms.errors import Conflict, Forbidden, Invalid, NotFound
from kms.extensions import db, utcnow
from kms.training.models import (
    Assignment,
    Availability,
    ModuleTag,
    SessionFormat,
    SessionStatus,
    ShadowHost,
    ShadowSession,
)
from kms.training.services import notices
from kms.training.services._common import (
    can_see_learner,
    is_lead,
    learner,
    lock_users,
    managed_learner,
    require_lead,
    text,
    zone,
)

# The planner keeps a trainee's sessions inside their own working day.
TRAINEE_DAY = (time(8, 0), time(18, 0))
SLOT_STEP = timedelta(minutes=30)
MAX_WINDOW_DAYS = 90  # how far ahead the planner may look for days with room
WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


def list_hosts(*, include_inactive: bool = False) -> list[ShadowHost]:
    """The people new hires can shadow, by name, with their availability (active ones unless asked)."""
    query = (
        select(ShadowHost).options(selectinload(ShadowHost.windows)).join(User, User.id == ShadowHost.user_id)
    )
    if not include_inactive:
        query = query.where(ShadowHost.active.is_(True), User.active.is_(True))
    return list(db.session.scalars(query.order_by(User.name)))


def set_host(
    user_id: int,
    *,
    active: bool = True,
    note: str = "",
    windows: list[tuple[int, time, time]] | None = None,
    actor,
) -> ShadowHost:
    """Mark (or unmark) a user as a shadowing host; with `windows`, replace their weekly availability in the
    same step, so a refused window leaves the note and the active flag as they were too."""
    require_lead(actor)
    cleaned = _clean_windows(windows) if windows is not None else None
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound("No such user.")
    if active and not user.active:
        raise Invalid(f"{user.name} is deactivated and cannot host shadowing.", field="user_id")
    host = db.session.get(ShadowHost, user.id) or ShadowHost(user_id=user.id)
    host.active, host.note = active, text(note, "note", "Note", 300, required=False)
    if cleaned is not None:
        host.windows = [Availability(weekday=w, start_time=s, end_time=e) for w, s, e in cleaned]
    db.session.add(host)
    db.session.flush()
    return host


def add_host_skills(user_id: int, skills: list[str], *, note: str = "", actor) -> ShadowHost:
    """Confirm a user as a shadowing host for some skills (metric keys, module tags): makes them an active host
    if they were not (keeping any availability), and adds the skills, which the planner prefers."""
    require_lead(actor)
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound("No such user.")
    if not user.active:
        raise Invalid(f"{user.name} is deactivated and cannot host shadowing.", field="user_id")
    host = db.session.get(ShadowHost, user.id) or ShadowHost(user_id=user.id, note="")
    wanted = {s.strip().lower() for s in skills if s and s.strip()}
    merged = " ".join(sorted(set((host.skills or "").split()) | wanted))
    if len(merged) > 300:
        raise Invalid("Too many skills for one host.", field="skills")
    host.active, host.skills = True, merged
    if note and not host.note:
        host.note = text(note, "note", "Note", 300, required=False)
    db.session.add(host)
    db.session.flush()
    return host


def set_availability(user_id: int, windows: list[tuple[int, time, time]], *, actor) -> ShadowHost:
    """Replace a host's weekly availability: (weekday 0=Monday, start, end) in the host's time zone."""
    require_lead(actor)
    cleaned = _clean_windows(windows)
    host = db.session.get(ShadowHost, user_id)
    if host is None:
        raise NotFound("That user is not a shadowing host.")
    host.windows = [Availability(weekday=w, start_time=s, end_time=e) for w, s, e in cleaned]
    db.session.flush()
    return host


def _clean_windows(windows: list[tuple[int, time, time]]) -> list[tuple[int, time, time]]:
    """Checked, sorted weekly windows; refuses a bad weekday, an end before the start and overlaps."""
    cleaned = []
    for weekday, start, end in windows:
        if not 0 <= int(weekday) <= 6:
            raise Invalid("Weekday must be Monday to Sunday.", field="windows")
        if end <= start:
            raise Invalid(
                f"On {WEEKDAYS[weekday]} the end ({end:%H:%M}) must be after the start ({start:%H:%M}).",
                field="windows",
            )
        for other in cleaned:
            if other[0] == weekday and start < other[2] and other[1] < end:
                raise Invalid(f"Two windows overlap on {WEEKDAYS[weekday]}.", field="windows")
        cleaned.append((int(weekday), start, end))
    return sorted(cleaned)


# Conflict checks --------------------------------------------------------------------------------------------


def within_availability(windows, tz_name: str, starts_at: datetime, ends_at: datetime) -> bool:
    """True when the whole session falls inside one weekly window, read in the host's time zone."""
    tz = zone(tz_name)
    start, end = starts_at.astimezone(tz), ends_at.astimezone(tz)
    if start.date() != end.date() and end.time() != time(0):
        return False
    for window in windows:
        if window.weekday != start.weekday():
            continue
        opens = datetime.combine(start.date(), window.start_time, tzinfo=tz).astimezone(UTC)
        closes = datetime.combine(start.date(), window.end_time, tzinfo=tz).astimezone(UTC)
        if opens <= starts_at and ends_at <= closes:
            return True
    return False


def _busy_query(user_ids, starts_at, ends_at, exclude_id=None):
    query = select(ShadowSession).where(
        ShadowSession.status != SessionStatus.CANCELLED,
        ShadowSession.starts_at < ends_at,
        ShadowSession.ends_at > starts_at,
        or_(ShadowSession.host_id.in_(user_ids), ShadowSession.trainee_id.in_(user_ids)),
    )
    if exclude_id is not None:
        query = query.where(ShadowSession.id != exclude_id)
    return query


def check_slot(
    trainee: User, host_user: User, starts_at: datetime, ends_at: datetime, exclude_id: int | None = None
) -> None:
    """Raise an explicit error when a session cannot happen: times, people, availability or an overlap."""
    if starts_at.tzinfo is None or ends_at.tzinfo is None:
        raise Invalid("Times must carry a time zone.", field="starts_at")
    if ends_at <= starts_at:
        raise Invalid("The end must be after the start.", field="ends_at")
    if ends_at - starts_at > timedelta(hours=10):
        raise Invalid("A shadowing session lasts at most 10 hours.", field="ends_at")
    for person, role in ((trainee, "trainee_id"), (host_user, "host_id")):
        if not person.active:
            raise Invalid(f"{person.name} is deactivated.", field=role)
    if trainee.id == host_user.id:
        raise Invalid("A trainee cannot shadow themselves.", field="host_id")
    host = db.session.get(ShadowHost, host_user.id)
    if host is None or not host.active:
        raise Invalid(f"{host_user.name} is not a shadowing host.", field="host_id")
    if not within_availability(host.windows, host_user.time_zone, starts_at, ends_at):
        raise Invalid(
            f"Outside {host_user.name}'s availability ({describe_windows(host)}).", field="starts_at"
        )
    for other in db.session.scalars(_busy_query([trainee.id, host_user.id], starts_at, ends_at, exclude_id)):
        who = host_user if host_user.id in (other.host_id, other.trainee_id) else trainee
        raise Conflict(
            f"Overlaps another session of {who.name} "
            f"({other.starts_at:%Y-%m-%d %H:%M}–{other.ends_at:%H:%M} UTC)."
        )


def describe_windows(host: ShadowHost) -> str:
    """A host's weekly availability as short text in their own time zone."""
    if not host.windows:
        return "no availability set"
    parts = [f"{WEEKDAYS[w.weekday][:3]} {w.start_time:%H:%M}–{w.end_time:%H:%M}" for w in host.windows]
    return ", ".join(parts) + f" {host.user.time_zone}"


def _format(value) -> SessionFormat:
    try:
        return SessionFormat(value)
    except ValueError:
        raise Invalid("Choose live calls, ticket queue or screen share.", field="format") from None


def _focus_article(article_id: int | None) -> int | None:
    if not article_id:
        return None
    if db.session.get(Article, article_id) is None:
        raise Invalid("No such handbook article.", field="focus_article_id")
    return article_id


def meeting_link(value: str | None) -> str:
    """An https address of the meeting ("" for none); Invalid naming the field for anything else."""
    value = (value or "").strip()
    if not value:
        return ""
    parts = urlsplit(value)
    if (
        len(value) > 500
        or parts.scheme.lower() != "https"
        or not parts.hostname
        or any(c.isspace() or ord(c) < 32 for c in value)
    ):
        raise Invalid(
            "The meeting link must be a single https:// address (Zoom, Meet, Teams or any https URL), "
            "at most 500 characters.",
            field="meeting_url",
        )
    return value


def _person(user_id: int, field: str) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        raise Invalid("No such user.", field=field)
    return user


def schedule_session(
    *,
    trainee_id: int,
    host_id: int,
    starts_at: datetime,
    ends_at: datetime,
    focus: str = "",
    format: str = SessionFormat.LIVE_CALLS,
    focus_article_id: int | None = None,
    meeting_url: str = "",
    actor,
) -> ShadowSession:
    """Book a session after every check (see check_slot); the trainee and host rows are locked meanwhile."""
    trainee = managed_learner(trainee_id, actor)
    lock_users(trainee.id, host_id)
    host = _person(host_id, "host_id")
    check_slot(trainee, host, starts_at, ends_at)
    session = ShadowSession(
        trainee_id=trainee.id,
        host_id=host.id,
        starts_at=starts_at,
        ends_at=ends_at,
        focus=text(focus, "focus", "Focus", 200, required=False),
        format=_format(format),
        focus_article_id=_focus_article(focus_article_id),
        created_by_id=actor.id,
        meeting_url=meeting_link(meeting_url),
    )
    db.session.add(session)
    db.session.flush()
    notices.session_booked(session, actor=actor, now=utcnow())
    return session


def get_session(session_id: int, *, actor) -> ShadowSession:
    """A session its trainee, its host, and the leads who see the trainee may open."""
    session = db.session.get(ShadowSession, session_id)
    if session is None or not (
        actor.id in (session.trainee_id, session.host_id)
        or can_see_learner(actor, session.trainee)
        and is_lead(actor)
    ):
        raise NotFound("No such shadowing session.")
    return session


def update_session(
    session_id: int,
    *,
    starts_at: datetime,
    ends_at: datetime,
    host_id: int,
    focus: str,
    format: str,
    meeting_url: str | None = None,
    actor,
) -> ShadowSession:
    """Move or change a scheduled session; its calendar SEQUENCE goes up so calendars replace the old event."""
    session = get_session(session_id, actor=actor)
    require_lead(actor)
    if session.status != SessionStatus.SCHEDULED:
        raise Conflict("Only scheduled sessions can be changed.")
    lock_users(session.trainee_id, host_id)
    host = _person(host_id, "host_id")
    check_slot(session.trainee, host, starts_at, ends_at, exclude_id=session.id)
    previous_host = session.host
    session.host, session.starts_at, session.ends_at = host, starts_at, ends_at
    session.focus = text(focus, "focus", "Focus", 200, required=False)
    session.format = _format(format)
    if meeting_url is not None:
        session.meeting_url = meeting_link(meeting_url)
    session.sequence += 1
    db.session.flush()
    notices.session_moved(session, previous_host=previous_host, actor=actor, now=utcnow())
    return session


def set_session_status(session_id: int, status: str, *, actor) -> ShadowSession:
    """Cancel (leads), or mark done (leads or the host). Cancelling keeps the row for the calendars."""
    try:
        status = SessionStatus(status)
    except ValueError:
        raise Invalid("Unknown status.", field="status") from None
    session = get_session(session_id, actor=actor)
    if status == SessionStatus.CANCELLED and not is_lead(actor):
        raise Forbidden("Only managers cancel sessions.")
    if status == SessionStatus.DONE and not (is_lead(actor) or actor.id == session.host_id):
        raise Forbidden("The host or a manager marks a session done.")
    changed = session.status != status
    if changed:
        session.status = status
        session.sequence += 1
    db.session.flush()
    if changed and status == SessionStatus.CANCELLED:
        notices.session_cancelled(session, actor=actor, now=utcnow())
    return session


def save_session_notes(session_id: int, notes: str, *, actor) -> ShadowSession:
    """The trainee writes what they learned; the host leaves feedback. Each writes only their own part."""
    session = get_session(session_id, actor=actor)
    if actor.id == session.trainee_id:
        session.trainee_notes = text(notes, "notes", "What you learned", 10_000, required=False)
    elif actor.id == session.host_id:
        session.host_feedback = text(notes, "notes", "Feedback", 10_000, required=False)
    else:
        raise Forbidden("Only the trainee and the host write notes on a session.")
    db.session.flush()
    return session


def sessions_for(user_id: int, *, actor) -> list[ShadowSession]:
    """Every session where the user is trainee or host, oldest first."""
    user = learner(user_id, actor)
    return list(
        db.session.scalars(
            select(ShadowSession)
            .options(joinedload(ShadowSession.host), joinedload(ShadowSession.trainee))
            .where(or_(ShadowSession.trainee_id == user.id, ShadowSession.host_id == user.id))
            .order_by(ShadowSession.starts_at)
        )
    )


def team_sessions(*, actor, since: datetime | None = None) -> list[ShadowSession]:
    """Sessions of the trainees a lead manages (admins: all), from `since` on."""
    require_lead(actor)
    query = (
        select(ShadowSession)
        .options(joinedload(ShadowSession.host), joinedload(ShadowSession.trainee))
        .join(User, User.id == ShadowSession.trainee_id)
        .order_by(ShadowSession.starts_at)
    )
    if actor.role.value == "manager":
        query = query.where(User.team == (actor.team or ""))
    if since is not None:
        query = query.where(ShadowSession.ends_at >= since)
    return list(db.session.scalars(query))


# Planner ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class HostPlan:
    """What the planner needs to know about a host."""

    user_id: int
    time_zone: str
    windows: tuple[tuple[int, time, time], ...]
    skills: frozenset[str] = frozenset()  # confirmed top-performer skills (see add_host_skills)


@dataclass(frozen=True)
class Proposal:
    host_id: int
    starts_at: datetime
    ends_at: datetime


def _overlaps(start, end, spans) -> bool:
    return any(start < other_end and other_start < end for other_start, other_end in spans)


def _candidates(day: date, trainee_tz: str, minutes: int, hosts: list[HostPlan]):
    """Every slot on the trainee's local day that fits in some host window and in the trainee's working day."""
    tz = zone(trainee_tz)
    day_start = datetime.combine(day, TRAINEE_DAY[0], tzinfo=tz).astimezone(UTC)
    day_end = datetime.combine(day, TRAINEE_DAY[1], tzinfo=tz).astimezone(UTC)
    length = timedelta(minutes=minutes)
    slots = []
    for host in hosts:
        host_tz = zone(host.time_zone)
        # The trainee's day may touch two of the host's local dates.
        for local_day in {day_start.astimezone(host_tz).date(), day_end.astimezone(host_tz).date()}:
            for weekday, opens, closes in host.windows:
                if weekday != local_day.weekday():
                    continue
                start = datetime.combine(local_day, opens, tzinfo=host_tz).astimezone(UTC)
                close = datetime.combine(local_day, closes, tzinfo=host_tz).astimezone(UTC)
                while start + length <= close:
                    if day_start <= start and start + length <= day_end:
                        slots.append(Proposal(host.user_id, start, start + length))
                    start += SLOT_STEP
    return sorted(set(slots), key=lambda p: (p.starts_at, p.host_id))


@dataclass(frozen=True)
class PlanOutcome:
    """A proposed plan, and how many of the requested sessions did not fit, counted by reason."""

    proposals: list[Proposal]
    requested: int
    window_days: int
    planned_days: int
    short_availability: int = 0  # the hosts' windows hold fewer sessions a day than asked for
    short_booked: int = 0  # free in availability, but the host or trainee already has a session then
    short_window: int = 0  # the window holds too few days with free host time

    @property
    def missing(self) -> int:
        return self.requested - len(self.proposals)

    @property
    def wider_window(self) -> int | None:
        """A longer window worth trying when days were missing from this one (None when none would help)."""
        if self.short_window and self.window_days < MAX_WINDOW_DAYS:
            return min(MAX_WINDOW_DAYS, self.window_days * 2)
        return None


def _fill_day(candidates, sessions_per_day, used, taken, mine, preferred=frozenset()) -> list[Proposal]:
    """Greedily pick up to `sessions_per_day` non-overlapping slots, preferring a host in `preferred` (a
    confirmed top performer for a skill the trainee needs), then the least-used host.

    `used`, `taken` and `mine` are updated with what is picked."""
    picked: list[Proposal] = []
    while len(picked) < sessions_per_day:
        free = [
            c
            for c in candidates
            if not _overlaps(c.starts_at, c.ends_at, mine)
            and not _overlaps(c.starts_at, c.ends_at, taken[c.host_id])
        ]
        if not free:
            break
        choice = min(
            free, key=lambda c: (c.host_id not in preferred, used[c.host_id], c.starts_at, c.host_id)
        )
        picked.append(choice)
        used[choice.host_id] += 1
        taken[choice.host_id].append((choice.starts_at, choice.ends_at))
        mine.append((choice.starts_at, choice.ends_at))
    return sorted(picked, key=lambda p: p.starts_at)


def plan_sessions(
    *,
    trainee_tz: str,
    first_day: date,
    days: int,
    sessions_per_day: int,
    minutes: int,
    hosts: list[HostPlan],
    busy: dict[int, list[tuple[datetime, datetime]]],
    trainee_busy: list[tuple[datetime, datetime]],
    horizon_days: int = 21,
    not_before: datetime | None = None,
    needed_skills: frozenset[str] = frozenset(),
) -> PlanOutcome:
    """Propose up to `sessions_per_day` sessions on each of the trainee's next `days` days that have room,
    looking at most `horizon_days` days ahead, and count why any requested session did not fit.

    Pure function: every slot lies inside a host window and the trainee's 08:00-18:00, never overlaps the
    host's or trainee's existing sessions nor another proposal. Hosts confirmed for a skill in
    `needed_skills` come first; among equals the least-used host is preferred so the plan spreads over hosts.
    """
    preferred = frozenset(h.user_id for h in hosts if h.skills & needed_skills)
    proposals: list[Proposal] = []
    used = {host.user_id: 0 for host in hosts}
    taken = {host.user_id: list(busy.get(host.user_id, [])) for host in hosts}
    mine = list(trainee_busy)
    planned_days = short_availability = short_booked = 0
    for offset in range(horizon_days):
        if planned_days >= days:
            break
        candidates = [
            c
            for c in _candidates(first_day + timedelta(days=offset), trainee_tz, minutes, hosts)
            if not_before is None or c.starts_at >= not_before
        ]
        # What the day would hold if nobody had a session yet: the rest is lost to double booking.
        room = len(_fill_day(candidates, sessions_per_day, dict(used), {h: [] for h in used}, [], preferred))
        day_plan = _fill_day(candidates, sessions_per_day, used, taken, mine, preferred)
        if day_plan:
            planned_days += 1
            proposals.extend(day_plan)
            fits = max(room, len(day_plan))
            short_availability += sessions_per_day - fits
            short_booked += fits - len(day_plan)
    return PlanOutcome(
        proposals,
        requested=days * sessions_per_day,
        window_days=horizon_days,
        planned_days=planned_days,
        short_availability=short_availability,
        short_booked=short_booked,
        short_window=(days - planned_days) * sessions_per_day,
    )


def propose_plan(
    trainee_id: int,
    *,
    days: int,
    sessions_per_day: int,
    minutes: int,
    first_day: date | None = None,
    window_days: int = 21,
    actor,
    now: datetime | None = None,
) -> PlanOutcome:
    """A shadowing plan for a trainee's first days (from their start date, or today if that has passed),
    within `window_days` days from the first day, with the reasons any requested session did not fit."""
    trainee = managed_learner(trainee_id, actor)
    now = now or utcnow()
    today = now.astimezone(zone(trainee.time_zone)).date()
    first_day = first_day or max(trainee.start_date or today, today)
    if not 1 <= days <= 10 or not 1 <= sessions_per_day <= 8 or not 15 <= minutes <= 480:
        raise Invalid("Plan 1-10 days, 1-8 sessions a day, 15-480 minutes each.", field="days")
    if not 1 <= window_days <= MAX_WINDOW_DAYS:
        raise Invalid(f"Look 1-{MAX_WINDOW_DAYS} days ahead.", field="window_days")
    hosts = [
        HostPlan(
            h.user_id,
            h.user.time_zone,
            tuple((w.weekday, w.start_time, w.end_time) for w in h.windows),
            h.skill_set,
        )
        for h in list_hosts()
        if h.user_id != trainee.id
    ]
    if not hosts:
        raise Invalid("No shadowing hosts yet: mark top performers as hosts first.", field="host_id")
    start = datetime.combine(first_day, time(0), tzinfo=zone(trainee.time_zone)).astimezone(UTC)
    busy: dict[int, list] = {}
    trainee_busy = []
    for s in db.session.scalars(
        _busy_query([h.user_id for h in hosts] + [trainee.id], start, start + timedelta(days=window_days + 2))
    ):
        for person in (s.host_id, s.trainee_id):
            busy.setdefault(person, []).append((s.starts_at, s.ends_at))
            if person == trainee.id:
                trainee_busy.append((s.starts_at, s.ends_at))
    return plan_sessions(
        trainee_tz=trainee.time_zone,
        first_day=first_day,
        days=days,
        sessions_per_day=sessions_per_day,
        minutes=minutes,
        hosts=hosts,
        busy=busy,
        trainee_busy=trainee_busy,
        horizon_days=window_days,
        not_before=now,
        needed_skills=path_skills(trainee.id),
    )


def path_skills(user_id: int) -> frozenset[str]:
    """The skills a trainee's onboarding needs: the tags of the modules on their paths (lowercased)."""
    return frozenset(
        tag.lower()
        for tag in db.session.scalars(
            select(ModuleTag.tag)
            .join(Assignment, Assignment.module_id == ModuleTag.module_id)
            .where(Assignment.user_id == user_id, Assignment.path_id.is_not(None))
        )
    )


@dataclass
class PlannedSession:
    host_id: int
    starts_at: datetime
    ends_at: datetime
    focus: str = ""
    format: str = SessionFormat.LIVE_CALLS


def confirm_plan(trainee_id: int, sessions: list[PlannedSession], *, actor) -> list[ShadowSession]:
    """Book every session of an (adjusted) plan, or none: the first conflict names the row and stops."""
    if not sessions:
        raise Invalid("Keep at least one session in the plan.", field="sessions")
    trainee = managed_learner(trainee_id, actor)
    lock_users(trainee.id, *[s.host_id for s in sessions])
    booked = []
    for number, planned in enumerate(sorted(sessions, key=lambda s: s.starts_at), start=1):
        host = _person(planned.host_id, "host_id")
        try:
            db.session.flush()
            check_slot(trainee, host, planned.starts_at, planned.ends_at)
        except Invalid as error:
            raise Invalid(f"Session {number}: {error.message}", field=error.field) from None
        except Conflict as error:
            raise Conflict(f"Session {number}: {error.message}") from None
        session = ShadowSession(
            trainee_id=trainee.id,
            host_id=host.id,
            starts_at=planned.starts_at,
            ends_at=planned.ends_at,
            format=_format(planned.format),
            focus=text(planned.focus, "focus", "Focus", 200, required=False),
            created_by_id=actor.id,
        )
        db.session.add(session)
        booked.append(session)
    db.session.flush()
    notices.sessions_booked(booked, actor=actor, now=utcnow())
    return booked
