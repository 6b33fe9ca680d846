"""What training tells people: new assignments, due dates coming and passed, shadowing sessions booked, moved or
cancelled (with the .ics), and a handbook article a learner studied that changed since.

Every function writes through kms.notify in the caller's unit of work: the notice is stored with the change that
caused it, or not at all. Dates are written in each recipient's own time zone, so a notice goes to one person at
a time wherever two people may live in different zones. The time-based ones (due soon, overdue, the weekly team
summary) are run by jobs (kms.training.jobs); their dedupe keys make each go out once.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import aliased

from kms.articles.models import Article, Revision
from kms.auth.models import User
from kms.extensions import db
from kms.notify.services import announce, notify
from kms.timezones import local_label, zone
from kms.training.models import (
    Assignment,
    Lesson,
    LessonCompletion,
    Module,
    ModuleCompletion,
    Path,
    ShadowSession,
    StudiedRevision,
)
from kms.training.services._common import LEADS, assigners_for, local_today
from kms.training.services.ical import INVITE_FILENAME, INVITE_MIMETYPE, invitation

DUE_SOON_DAYS = 2  # "due in 2 days": the reminder goes out on the learner's local day two days before
OVERDUE_LOOKBACK = timedelta(days=30)  # older overdue items are on the team view; no late notice for them


def _day(value: date) -> str:
    return f"{value:%a} {value.day} {value:%b %Y}"


def _others(people, actor) -> list[User]:
    """The people to tell, without the one who did it (they know) and without duplicates."""
    seen, result = set(), []
    for person in people:
        if person is not None and person.id != getattr(actor, "id", None) and person.id not in seen:
            seen.add(person.id)
            result.append(person)
    return result


# Assignments -----------------------------------------------------------------------------------------------


def training_assigned(user: User, assignments: list[Assignment], *, actor, path: Path | None = None) -> int:
    """Tell a learner about modules newly assigned to them: one notice for a whole path, one for a module."""
    if not assignments or not _others([user], actor):
        return 0
    items = [
        {"module": a.module.title, "due_on": a.due_on.isoformat() if a.due_on else None, "due": _due_text(a)}
        for a in sorted(assignments, key=lambda a: (a.due_on or date.max, a.module.title))
    ]
    if path is not None or len(assignments) > 1:
        title = f"Your onboarding: {path.title}" if path else f"{len(assignments)} training modules assigned"
        body = "\n".join(f"{item['module']}{' — ' + item['due'] if item['due'] else ''}" for item in items)
        link = ("training.my_onboarding", {})
    else:
        assignment = assignments[0]
        title = f"Training assigned: {assignment.module.title}"
        body = f"Due {_day(assignment.due_on)}." if assignment.due_on else "No due date."
        link = ("training.module", {"module_id": assignment.module_id})
    return notify(
        [user],
        "training.assigned",
        title=title,
        body=body,
        actor=actor,
        link=link,
        context={"modules": items, "path": path.title if path else None},
        dedupe_key=f"assigned:{min(a.id for a in assignments)}",
    )


def _due_text(assignment: Assignment) -> str:
    return f"due {_day(assignment.due_on)}" if assignment.due_on else ""


@dataclass
class Open:
    """An assignment that is not complete, with its learner."""

    assignment: Assignment
    user: User
    module: Module


def open_assignments(*, due_after: datetime | None, due_before: datetime, now: datetime) -> list[Open]:
    """Assignments of active learners due in (due_after, due_before] (no lower bound for None) without a
    completion valid at `now`."""
    valid = aliased(ModuleCompletion)
    rows = db.session.execute(
        select(Assignment, User, Module)
        .join(User, User.id == Assignment.user_id)
        .join(Module, Module.id == Assignment.module_id)
        .outerjoin(
            valid,
            and_(
                valid.user_id == Assignment.user_id,
                valid.module_id == Assignment.module_id,
                or_(valid.expires_at.is_(None), valid.expires_at > now),
            ),
        )
        .where(
            User.active.is_(True),
            Assignment.due_at.is_not(None),
            Assignment.due_at > due_after if due_after is not None else Assignment.due_at.is_not(None),
            Assignment.due_at <= due_before,
            valid.id.is_(None),
        )
        .order_by(Assignment.due_at, Assignment.id)
    ).all()
    return [Open(*row) for row in rows]


def send_due_soon(now: datetime, *, actor) -> int:
    """Remind learners of modules due in two days (on their own calendar), once per assignment and due date.
    A module assigned inside that window is not reminded of: its assignment notice named the date."""
    sent = 0
    # The learner's local day two days before the due day starts at most three days before due_at.
    for item in open_assignments(due_after=now, due_before=now + timedelta(days=DUE_SOON_DAYS + 1), now=now):
        assignment, user = item.assignment, item.user
        days_left = (assignment.due_on - local_today(user.time_zone, now)).days
        if days_left > DUE_SOON_DAYS or assignment.created_at > assignment.due_at - timedelta(
            days=DUE_SOON_DAYS + 1
        ):
            continue
        when = {0: "today", 1: "tomorrow"}.get(days_left, f"in {days_left} days")
        sent += notify(
            [user],
            "training.due_soon",
            title=f"Due {when}: {item.module.title}",
            body=f"Complete “{item.module.title}” by the end of {_day(assignment.due_on)}.",
            actor=actor,
            link=("training.module", {"module_id": item.module.id}),
            context={"module": item.module.title, "due_on": assignment.due_on.isoformat(), "when": when},
            dedupe_key=f"assignment:{assignment.id}:due:{assignment.due_on.isoformat()}",
        )
    return sent


def send_overdue(now: datetime, *, actor) -> tuple[int, int]:
    """Tell each learner once that a module is overdue, and their managers once per learner and module.
    Returns (learner notices, manager notices)."""
    learners = managers = 0
    leads: dict[tuple[str, int], list[User]] = {}
    for item in open_assignments(due_after=now - OVERDUE_LOOKBACK, due_before=now, now=now):
        assignment, user, module = item.assignment, item.user, item.module
        key = f"assignment:{assignment.id}:overdue:{assignment.due_on.isoformat()}"
        learners += notify(
            [user],
            "training.overdue",
            title=f"Overdue: {module.title}",
            body=f"“{module.title}” was due {_day(assignment.due_on)}. Finish it as soon as you can.",
            actor=actor,
            link=("training.module", {"module_id": module.id}),
            context={"module": module.title, "due_on": assignment.due_on.isoformat()},
            dedupe_key=key,
        )
        # How kms finds who leads a learner; the same for a whole team, unless the learner is on that list.
        team = (user.team or "", user.id if not user.team or user.role in LEADS else 0)
        if team not in leads:
            leads[team] = assigners_for(user)
        recipients = [lead for lead in leads[team] if lead.id != user.id]
        if recipients:
            managers += notify(
                recipients,
                "training.team_overdue",
                title=f"{user.name} is overdue: {module.title}",
                body=f"{user.name} ({user.team or 'no team'}) has not finished “{module.title}”, due "
                f"{_day(assignment.due_on)}.",
                actor=actor,
                link=("training.person", {"user_id": user.id}),
                context={
                    "learner": user.name,
                    "module": module.title,
                    "due_on": assignment.due_on.isoformat(),
                },
                dedupe_key=key,
            )
    return learners, managers


def announce_overdue_summaries(now: datetime, *, actor) -> int:
    """The weekly "training.overdue_summary" event for each team with overdue modules (for team channels and
    webhooks): counts per module, and no names, since a channel is read by the whole team."""
    per_team: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    learners: dict[str, set[int]] = defaultdict(set)
    for item in open_assignments(due_after=None, due_before=now, now=now):
        if item.user.team:
            per_team[item.user.team][item.module.title] += 1
            learners[item.user.team].add(item.user.id)
    year, week, _ = now.isocalendar()
    for team, modules in sorted(per_team.items()):
        announce(
            "training.overdue_summary",
            {
                "team": team,
                "week": f"{year}-W{week:02d}",
                "overdue": sum(modules.values()),
                "learners": len(learners[team]),
                "modules": [
                    {"title": title, "overdue": count}
                    for title, count in sorted(modules.items(), key=lambda kv: (-kv[1], kv[0]))
                ],
            },
            team=team,
            actor=actor,
        )
    return len(per_team)


# Shadowing -------------------------------------------------------------------------------------------------


def _session_text(session: ShadowSession, person: User) -> str:
    other = session.host if person.id == session.trainee_id else session.trainee
    role = "host" if person.id == session.trainee_id else "trainee"
    lines = [
        f"When: {local_label(session.starts_at, person.time_zone)}, until "
        f"{session.ends_at.astimezone(zone(person.time_zone)):%H:%M}",
        f"Your {role}: {other.name}",
        f"Format: {session.format.value}",
    ]
    if session.focus:
        lines.append(f"Focus: {session.focus}")
    if session.meeting_url:
        lines.append(f"Join: {session.meeting_url}")
    return "\n".join(lines)


def _invite(sessions: list[ShadowSession], method: str, now: datetime) -> list[tuple[str, str, bytes]]:
    return [(INVITE_FILENAME, INVITE_MIMETYPE, invitation(sessions, method=method, stamp=now))]


def _session_notice(session, person, kind, title, *, method, actor, now, extra: str = "") -> int:
    body = _session_text(session, person) + (f"\n\n{extra}" if extra else "")
    return notify(
        [person],
        kind,
        title=f"{title}: {local_label(session.starts_at, person.time_zone)}",
        body=body,
        actor=actor,
        link=("training.session", {"session_id": session.id}),
        context={
            "starts_at": session.starts_at.isoformat(),
            "ends_at": session.ends_at.isoformat(),
            "when": local_label(session.starts_at, person.time_zone),
            "host": session.host.name,
            "trainee": session.trainee.name,
            "format": session.format.value,
            "focus": session.focus,
            "meeting_url": session.meeting_url,
            "role": "trainee" if person.id == session.trainee_id else "host",
        },
        dedupe_key=f"session:{session.id}:{session.sequence}:{method}",
        attachments=_invite([session], method, now),
    )


def session_booked(session: ShadowSession, *, actor, now: datetime) -> int:
    """Tell the trainee and the host a session is booked, with the calendar invitation (METHOD:REQUEST)."""
    return sum(
        _session_notice(
            session, person, "shadowing.booked", "Shadowing booked", method="REQUEST", actor=actor, now=now
        )
        for person in (session.trainee, session.host)
    )


def sessions_booked(sessions: list[ShadowSession], *, actor, now: datetime) -> int:
    """A confirmed plan: one notice for the trainee listing every session, one for each host listing theirs,
    each with one invitation file per session (one iTIP message holds one event)."""
    if not sessions:
        return 0
    by_person: dict[int, tuple[User, list[ShadowSession]]] = {}
    for session in sessions:
        for person in (session.trainee, session.host):
            by_person.setdefault(person.id, (person, []))[1].append(session)
    sent = 0
    for person, mine in by_person.values():
        if len(mine) == 1:
            sent += _session_notice(
                mine[0],
                person,
                "shadowing.booked",
                "Shadowing booked",
                method="REQUEST",
                actor=actor,
                now=now,
            )
            continue
        lines = [
            f"{local_label(s.starts_at, person.time_zone)} with "
            f"{(s.host if person.id == s.trainee_id else s.trainee).name} ({s.format.value})"
            for s in mine
        ]
        sent += notify(
            [person],
            "shadowing.booked",
            title=f"{len(mine)} shadowing sessions booked",
            body="\n".join(lines),
            actor=actor,
            link=("training.my_onboarding", {})
            if person.id == mine[0].trainee_id
            else ("training.session", {"session_id": mine[0].id}),
            context={"sessions": lines},
            dedupe_key="sessions:" + ",".join(str(s.id) for s in mine),
            attachments=[
                (f"shadowing-{number}.ics", INVITE_MIMETYPE, invitation([s], method="REQUEST", stamp=now))
                for number, s in enumerate(mine, start=1)
            ],
        )
    return sent


def session_moved(session: ShadowSession, *, previous_host: User | None, actor, now: datetime) -> int:
    """A changed session: trainee and host get the updated invitation (same UID, higher SEQUENCE); a new host
    hears of it as booked, and a host taken off it gets a cancellation."""
    new_host = previous_host is not None and previous_host.id != session.host_id
    sent = _session_notice(
        session, session.trainee, "shadowing.moved", "Shadowing moved", method="REQUEST", actor=actor, now=now
    )
    if new_host:  # for the new host the session is new
        sent += _session_notice(
            session,
            session.host,
            "shadowing.booked",
            "Shadowing booked",
            method="REQUEST",
            actor=actor,
            now=now,
        )
    else:
        sent += _session_notice(
            session,
            session.host,
            "shadowing.moved",
            "Shadowing moved",
            method="REQUEST",
            actor=actor,
            now=now,
        )
    if new_host is not None and previous_host.id != session.host_id:
        sent += notify(
            [previous_host],
            "shadowing.cancelled",
            title=f"Shadowing cancelled: {local_label(session.starts_at, previous_host.time_zone)}",
            body=f"{session.trainee.name} will shadow {session.host.name} instead of you.",
            actor=actor,
            context={"trainee": session.trainee.name, "host": session.host.name, "role": "former host"},
            dedupe_key=f"session:{session.id}:{session.sequence}:CANCEL",
            attachments=[
                (
                    INVITE_FILENAME,
                    INVITE_MIMETYPE,
                    invitation([session], method="CANCEL", stamp=now, host=previous_host),
                )
            ],
        )
    return sent


def session_cancelled(session: ShadowSession, *, actor, now: datetime) -> int:
    """Tell trainee and host a session is off, with a METHOD:CANCEL file that removes it from their calendar."""
    return sum(
        _session_notice(
            session,
            person,
            "shadowing.cancelled",
            "Shadowing cancelled",
            method="CANCEL",
            actor=actor,
            now=now,
        )
        for person in (session.trainee, session.host)
    )


# Handbook changes ------------------------------------------------------------------------------------------


def article_changed(article: Article, revision: Revision, *, actor) -> int:
    """A new revision of `article` is published: every active learner who studied an older one with a lesson
    hears of it once per revision, with a link to that lesson's changes (their first such lesson)."""
    rows = db.session.execute(
        select(User, Lesson.id, Lesson.title)
        .select_from(StudiedRevision)
        .join(LessonCompletion, LessonCompletion.id == StudiedRevision.completion_id)
        .join(Lesson, Lesson.id == LessonCompletion.lesson_id)
        .join(User, User.id == LessonCompletion.user_id)
        .where(
            StudiedRevision.article_id == article.id,
            StudiedRevision.revision_number < revision.number,
            User.active.is_(True),
        )
        .order_by(User.id, Lesson.module_id, Lesson.position, Lesson.id)
    ).all()
    first_lesson: dict[int, tuple[User, int, str]] = {}
    for user, lesson_id, lesson_title in rows:
        first_lesson.setdefault(user.id, (user, lesson_id, lesson_title))
    by_lesson: dict[int, tuple[str, list[User]]] = {}
    for user, lesson_id, lesson_title in first_lesson.values():
        by_lesson.setdefault(lesson_id, (lesson_title, []))[1].append(user)
    sent = 0
    for lesson_id, (lesson_title, users) in sorted(by_lesson.items()):
        recipients = _others(users, actor)
        if not recipients:
            continue
        sent += notify(
            recipients,
            "training.article_changed",
            title=f"Changed since you studied it: {revision.title}",
            body=f"“{revision.title}”, which you studied in the lesson “{lesson_title}”, has a new version. "
            "See what changed.",
            actor=actor,
            link=("training.lesson_changes", {"lesson_id": lesson_id}),
            context={"article": revision.title, "lesson": lesson_title, "revision": revision.number},
            dedupe_key=f"article:{article.id}:revision:{revision.number}",
        )
    return sent
