"""Onboarding: paths, assignments with due dates and "My onboarding" (the team view is in team.py)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import func, or_, select
from sqlalchemy.orm import joinedload

from kms.auth.models import Role, User
from kms.errors import Invalid, NotFound
from kms.extensions import db, utcnow
from kms.training.models import (
    Assignment,
    Lesson,
    LessonCompletion,
    Module,
    ModuleCompletion,
    ModuleStatus,
    Path,
    Question,
    QuizAttempt,
    SessionStatus,
    ShadowSession,
)
from kms.training.services import notices
from kms.training.services._common import (
    assigners_for,
    end_of_local_day,
    learner,
    lock_users,
    managed_learner,
    module_percent,
    onboarding_percent,
    require_lead,
)
from kms.training.services.learning import ReviewFlag, review_flags


def list_paths() -> list[Path]:
    """Every onboarding path, by title."""
    return list(db.session.scalars(select(Path).order_by(Path.title)))


def get_path(path_id: int) -> Path:
    """The onboarding path with this id; NotFound when there is none."""
    path = db.session.get(Path, path_id)
    if path is None:
        raise NotFound("No such onboarding path.")
    return path


def due_dates(start: date, day_offset: int, time_zone: str) -> tuple[date, datetime]:
    """Day `day_offset` after the start date, as the learner's local day and the UTC instant it ends."""
    day = start + timedelta(days=day_offset)
    return day, end_of_local_day(day, time_zone)


def _set_due(assignment: Assignment, due_on: date | None, time_zone: str) -> None:
    due_at = end_of_local_day(due_on, time_zone) if due_on else None
    if assignment.id is not None and (assignment.due_on, assignment.due_at) != (due_on, due_at):
        assignment.sequence += 1
    assignment.due_on, assignment.due_at = due_on, due_at


def assign_path(user_id: int, path_id: int, *, actor) -> list[Assignment]:
    """Assign every module of a path, each due `day` days after the learner's start date in their time zone.

    Modules the learner already has keep their assignment and take the path's due date. Needs a start date.
    """
    user = managed_learner(user_id, actor)
    path = get_path(path_id)
    if user.start_date is None:
        raise Invalid(
            f"{user.name} has no start date yet; set it on their user page first.", field="start_date"
        )
    lock_users(user.id)
    existing = {
        a.module_id: a for a in db.session.scalars(select(Assignment).where(Assignment.user_id == user.id))
    }
    assignments, new = [], []
    for step in path.steps:
        assignment = existing.get(step.module_id)
        if assignment is None:
            assignment = Assignment(user_id=user.id, module_id=step.module_id, assigned_by_id=actor.id)
            new.append(assignment)
        assignment.path_id = path.id
        _set_due(assignment, user.start_date + timedelta(days=step.day_offset), user.time_zone)
        db.session.add(assignment)
        assignments.append(assignment)
    db.session.flush()
    notices.training_assigned(user, new, actor=actor, path=path)
    return assignments


def assign_module(user_id: int, module_id: int, due_on: date | None, *, actor) -> Assignment:
    """Assign one module with an optional due date (the end of that day in the learner's time zone)."""
    user = managed_learner(user_id, actor)
    module = db.session.get(Module, module_id)
    if module is None or module.status != ModuleStatus.PUBLISHED:
        raise Invalid("Choose a published module.", field="module_id")
    lock_users(user.id)
    assignment = db.session.scalar(
        select(Assignment).where(Assignment.user_id == user.id, Assignment.module_id == module.id)
    )
    created = assignment is None
    if created:
        assignment = Assignment(user_id=user.id, module_id=module.id, assigned_by_id=actor.id)
        db.session.add(assignment)
    _set_due(assignment, due_on, user.time_zone)
    db.session.flush()
    if created:
        notices.training_assigned(user, [assignment], actor=actor)
    return assignment


def remove_assignment(assignment_id: int, *, actor) -> int:
    """Take an assignment away (the learner's completions stay); returns the learner's id."""
    assignment = db.session.get(Assignment, assignment_id)
    if assignment is None:
        raise NotFound("No such assignment.")
    managed_learner(assignment.user_id, actor)
    user_id = assignment.user_id
    db.session.delete(assignment)
    db.session.flush()
    return user_id


# My onboarding ---------------------------------------------------------------------------------------------


@dataclass
class Item:
    """One assigned module as the learner sees it."""

    assignment: Assignment
    module: Module
    lessons_total: int = 0
    lessons_done: int = 0
    quiz_required: bool = False
    quiz_passed: bool = False
    complete: bool = False
    expired: bool = False
    completed_at: datetime | None = None
    overdue: bool = False
    next_lesson: tuple[int, str] | None = None

    @property
    def percent(self) -> int:
        return module_percent(self)


@dataclass
class Onboarding:
    user: User
    items: list[Item]
    sessions: list[ShadowSession]
    flags: list[ReviewFlag]
    now: datetime
    assigners: list[User] = field(default_factory=list)  # who will assign training, while nothing is

    @property
    def empty(self) -> bool:
        """Nothing assigned and no shadowing booked: the page says what happens next instead of 0 of 0."""
        return not self.items and not self.sessions

    @property
    def paths(self) -> list[Path]:
        return list(
            {i.assignment.path.id: i.assignment.path for i in self.items if i.assignment.path}.values()
        )

    @property
    def modules_done(self) -> int:
        return sum(1 for i in self.items if i.complete)

    @property
    def sessions_done(self) -> int:
        return sum(1 for s in self.sessions if s.status == SessionStatus.DONE)

    @property
    def upcoming_sessions(self) -> list[ShadowSession]:
        return [s for s in self.sessions if s.status == SessionStatus.SCHEDULED and s.ends_at > self.now]

    @property
    def percent(self) -> int:
        """Modules by their own progress and shadowing sessions done, over everything assigned and booked."""
        return onboarding_percent(self.items, self.sessions_done, len(self.sessions))

    @property
    def overdue(self) -> list[Item]:
        return [i for i in self.items if i.overdue]

    @property
    def next_item(self) -> Item | None:
        return next((i for i in self.items if not i.complete), None)


def onboarding_in_progress(user_id: int, now: datetime | None = None) -> bool:
    """Whether the user has a module from an onboarding path not yet completed (or whose completion expired)."""
    now = now or utcnow()
    completed = select(ModuleCompletion.module_id).where(
        ModuleCompletion.user_id == user_id,
        or_(ModuleCompletion.expires_at.is_(None), ModuleCompletion.expires_at > now),
    )
    pending = (
        select(Assignment.id)
        .where(
            Assignment.user_id == user_id,
            Assignment.path_id.is_not(None),
            Assignment.module_id.not_in(completed),
        )
        .limit(1)
    )
    return db.session.scalar(pending) is not None


def my_onboarding(user_id: int, *, actor, now: datetime | None = None) -> Onboarding:
    """A learner's assignments, progress, overdue items, shadowing and review flags in a fixed number of queries.

    Learners see their own; managers their team's; admins everyone's (NotFound otherwise).
    """
    now = now or utcnow()
    user = learner(user_id, actor)
    assignments = list(
        db.session.scalars(
            select(Assignment)
            .options(joinedload(Assignment.module), joinedload(Assignment.path))
            .where(Assignment.user_id == user.id)
            .order_by(Assignment.due_on.is_(None), Assignment.due_on, Assignment.id)
        )
    )
    completions = {
        c.module_id: c
        for c in db.session.scalars(select(ModuleCompletion).where(ModuleCompletion.user_id == user.id))
    }
    assigned = select(Assignment.module_id).where(Assignment.user_id == user.id)
    lessons: dict[int, list[tuple[int, str]]] = {}
    for lesson_id, module_id, title in db.session.execute(
        select(Lesson.id, Lesson.module_id, Lesson.title)
        .where(Lesson.module_id.in_(assigned))
        .order_by(Lesson.module_id, Lesson.position)
    ):
        lessons.setdefault(module_id, []).append((lesson_id, title))
    done_at = dict(
        db.session.execute(
            select(LessonCompletion.lesson_id, LessonCompletion.completed_at).where(
                LessonCompletion.user_id == user.id
            )
        ).all()
    )
    quizzes = dict(
        db.session.execute(
            select(Question.module_id, func.count(Question.id))
            .where(Question.module_id.in_(assigned))
            .group_by(Question.module_id)
        ).all()
    )
    passed_at = dict(
        db.session.execute(
            select(QuizAttempt.module_id, func.max(QuizAttempt.submitted_at))
            .where(QuizAttempt.user_id == user.id, QuizAttempt.passed.is_(True))
            .group_by(QuizAttempt.module_id)
        ).all()
    )
    sessions = list(
        db.session.scalars(
            select(ShadowSession)
            .options(joinedload(ShadowSession.host))
            .where(ShadowSession.trainee_id == user.id, ShadowSession.status != SessionStatus.CANCELLED)
            .order_by(ShadowSession.starts_at)
        )
    )
    items = [
        _item(
            a,
            completions.get(a.module_id),
            lessons.get(a.module_id, []),
            done_at,
            quizzes.get(a.module_id, 0),
            passed_at.get(a.module_id),
            now,
        )
        for a in assignments
    ]
    return Onboarding(
        user=user,
        items=items,
        sessions=sessions,
        flags=review_flags(user.id),
        now=now,
        assigners=[] if items or sessions else assigners_for(user),
    )


def _item(assignment, completion, lessons, done_at, questions, last_pass, now) -> Item:
    expired = completion is not None and not completion.valid_at(now)
    since = completion.expires_at if expired else None
    done = [lid for lid, _ in lessons if lid in done_at and (since is None or done_at[lid] >= since)]
    complete = completion is not None and not expired
    item = Item(
        assignment=assignment,
        module=assignment.module,
        lessons_total=len(lessons),
        lessons_done=len(done),
        quiz_required=questions > 0,
        quiz_passed=last_pass is not None and (since is None or last_pass >= since),
        complete=complete,
        expired=expired,
        completed_at=completion.completed_at if completion else None,
    )
    item.overdue = not complete and assignment.due_at is not None and assignment.due_at < now
    item.next_lesson = next(((lid, title) for lid, title in lessons if lid not in done), None)
    return item


def managed_people(*, actor) -> list[User]:
    """Active users a lead may assign training to: their team (managers) or everyone (admins)."""
    require_lead(actor)
    query = select(User).where(User.active.is_(True)).order_by(User.name)
    if actor.role == Role.MANAGER:
        query = query.where(User.team == (actor.team or ""))
    return list(db.session.scalars(query))
