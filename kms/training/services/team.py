"""The managers' team view: new hires x assigned modules, with per-module rates, and its CSV export."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import and_, case, distinct, func, or_, select

from kms.auth.models import Role, User
from kms.errors import Invalid
from kms.extensions import db, utcnow
from kms.training.models import (
    Assignment,
    Lesson,
    LessonCompletion,
    Module,
    ModuleCompletion,
    PathModule,
    Question,
    QuizAttempt,
    SessionStatus,
    ShadowSession,
)
from kms.training.services._common import module_percent, onboarding_percent, require_lead

TEAM_PAGE_SIZE = 50  # learners per page of the team view: the grid stays quick to fetch, render and scan


@dataclass
class Cell:
    status: str  # done | expired | overdue | open
    due_on: date | None
    lessons_done: int  # since the last certificate expired, for an expired module
    lessons_total: int
    quiz_required: bool = False
    quiz_passed: bool = False  # since the last certificate expired, for an expired module

    @property
    def complete(self) -> bool:
        return self.status == "done"

    @property
    def percent(self) -> int:
        return module_percent(self)


@dataclass
class Row:
    user: User
    cells: dict[int, Cell] = field(default_factory=dict)
    last_activity: datetime | None = None
    sessions_done: int = 0
    sessions_total: int = 0

    @property
    def overdue(self) -> int:
        return sum(1 for c in self.cells.values() if c.status == "overdue")

    @property
    def done(self) -> int:
        return sum(1 for c in self.cells.values() if c.status == "done")

    @property
    def percent(self) -> int:
        """The same figure the learner sees on My onboarding."""
        return onboarding_percent(list(self.cells.values()), self.sessions_done, self.sessions_total)


@dataclass
class ModuleStat:
    module_id: int
    title: str
    assigned: int = 0
    completed: int = 0
    attempted: int = 0
    passed: int = 0

    @property
    def completion_rate(self) -> int | None:
        return self.completed * 100 // self.assigned if self.assigned else None

    @property
    def pass_rate(self) -> int | None:
        return self.passed * 100 // self.attempted if self.attempted else None


@dataclass
class TeamView:
    rows: list[Row]  # this page's learners only
    modules: list[ModuleStat]  # columns and rates for everyone matching the filters, on every page
    teams: list[str]
    months: list[str]
    team: str | None
    start_month: str | None
    total: int = 0  # learners matching the filters, on every page
    page: int = 1
    pages: int = 1
    per_page: int | None = None  # None: every matching learner on one page (the CSV)

    @property
    def first_number(self) -> int:
        """Position of this page's first learner among all that match (1-based; 0 when nobody matches)."""
        return (self.page - 1) * (self.per_page or 0) + 1 if self.rows else 0

    @property
    def last_number(self) -> int:
        return self.first_number + len(self.rows) - 1 if self.rows else 0


def _month_bounds(month: str) -> tuple[date, date]:
    try:
        first = date.fromisoformat(f"{month}-01")
    except ValueError:
        raise Invalid("Start month must look like 2026-11.", field="start_month") from None
    return first, (first.replace(day=28) + timedelta(days=4)).replace(day=1)


def team_view(
    *,
    actor,
    team: str | None = None,
    start_month: str | None = None,
    page: int | None = None,
    per_page: int = TEAM_PAGE_SIZE,
    now: datetime | None = None,
) -> TeamView:
    """New hires x assigned modules for a lead, in a fixed number of queries whatever the team or page size.

    Managers see their own team; admins every team. Filters: team, start month (YYYY-MM). Learners come newest
    start date first, then by name (a stable order). With `page`, only that page of `per_page` learners gets a
    row, and a page number out of range is clamped to the first or last page; without it (the CSV), everyone
    matching does. The module columns and rates always cover everyone matching the filters.
    """
    require_lead(actor)
    if per_page < 1:
        raise Invalid("A page holds at least one learner.", field="per_page")
    now = now or utcnow()
    base = select(User.id).where(User.active.is_(True), User.id.in_(select(Assignment.user_id)))
    if actor.role == Role.MANAGER:
        base = base.where(User.team == (actor.team or ""))
    teams = sorted(t for t in db.session.scalars(select(User.team).where(User.id.in_(base)).distinct()))
    months = sorted(
        {
            d.strftime("%Y-%m")
            for d in db.session.scalars(
                select(User.start_date).where(User.id.in_(base), User.start_date.is_not(None)).distinct()
            )
        },
        reverse=True,
    )
    scope = base
    if team:
        scope = scope.where(User.team == team)
    if start_month:
        first, following = _month_bounds(start_month)
        scope = scope.where(User.start_date >= first, User.start_date < following)
    total = db.session.scalar(select(func.count(User.id)).where(User.id.in_(scope)))
    paged = page is not None
    pages = max(1, -(-total // per_page)) if paged else 1
    page = min(max(page, 1), pages) if paged else 1
    # Learners without a start date go last on both databases (SQLite and PostgreSQL sort NULL differently).
    query = (
        select(User)
        .where(User.id.in_(scope))
        .order_by(User.start_date.is_(None), User.start_date.desc(), User.name, User.id)
    )
    if paged and per_page < total:
        query = query.limit(per_page).offset((page - 1) * per_page)
    users = list(db.session.scalars(query))
    rows = {u.id: Row(user=u) for u in users}
    shown = list(rows) if paged else scope  # a page's rows need only its own learners' details
    # Time comparisons run in SQL: converting tens of thousands of timestamps in Python dominated the page.
    still_valid = or_(ModuleCompletion.expires_at.is_(None), ModuleCompletion.expires_at > now)
    # Columns and rates count everyone matching, so they are the same on every page; counted in SQL, not per row.
    position = (
        select(PathModule.module_id, func.min(PathModule.position).label("position"))
        .group_by(PathModule.module_id)
        .subquery()
    )
    stats = {
        mid: ModuleStat(module_id=mid, title=title, assigned=assigned, completed=completed)
        for mid, title, assigned, completed in db.session.execute(
            select(Module.id, Module.title, func.count(Assignment.id), func.count(ModuleCompletion.id))
            .join(Assignment, Assignment.module_id == Module.id)
            .outerjoin(
                ModuleCompletion,
                and_(
                    ModuleCompletion.user_id == Assignment.user_id,
                    ModuleCompletion.module_id == Assignment.module_id,
                    still_valid,
                ),
            )
            .outerjoin(position, position.c.module_id == Module.id)
            .where(Assignment.user_id.in_(scope))
            .group_by(Module.id, Module.title, position.c.position)
            .order_by(func.coalesce(position.c.position, 10_000), Module.title)
        )
    }
    lesson_totals = dict(
        db.session.execute(
            select(Lesson.module_id, func.count(Lesson.id))
            .where(Lesson.module_id.in_(list(stats)))
            .group_by(Lesson.module_id)
        ).all()
    )
    for mid, attempted, passed in db.session.execute(
        select(
            QuizAttempt.module_id,
            func.count(distinct(QuizAttempt.user_id)),
            func.count(distinct(case((QuizAttempt.passed.is_(True), QuizAttempt.user_id)))),
        )
        .where(QuizAttempt.user_id.in_(scope))
        .group_by(QuizAttempt.module_id)
    ):
        if mid in stats:
            stats[mid].attempted, stats[mid].passed = attempted, passed
    completions = {
        (uid, mid): bool(valid)
        for uid, mid, valid in db.session.execute(
            select(
                ModuleCompletion.user_id, ModuleCompletion.module_id, case((still_valid, 1), else_=0)
            ).where(ModuleCompletion.user_id.in_(shown))
        )
    }
    # Work done before a certificate expired does not count toward re-certifying (as on My onboarding).
    certificate = and_(
        ModuleCompletion.user_id == LessonCompletion.user_id, ModuleCompletion.module_id == Lesson.module_id
    )
    counts = or_(
        ModuleCompletion.id.is_(None),
        still_valid,
        LessonCompletion.completed_at >= ModuleCompletion.expires_at,
    )
    lessons_done = {}
    for uid, mid, count, latest in db.session.execute(
        select(
            LessonCompletion.user_id,
            Lesson.module_id,
            func.sum(case((counts, 1), else_=0)),
            func.max(LessonCompletion.completed_at),
        )
        .join(Lesson, Lesson.id == LessonCompletion.lesson_id)
        .outerjoin(ModuleCompletion, certificate)
        .where(LessonCompletion.user_id.in_(shown))
        .group_by(LessonCompletion.user_id, Lesson.module_id)
    ):
        lessons_done[(uid, mid)] = count
        _touch(rows[uid], latest)
    quizzes = set(
        db.session.scalars(select(Question.module_id).where(Question.module_id.in_(list(stats))).distinct())
    )
    passed = {
        (uid, mid)
        for uid, mid in db.session.execute(
            select(QuizAttempt.user_id, QuizAttempt.module_id)
            .outerjoin(
                ModuleCompletion,
                and_(
                    ModuleCompletion.user_id == QuizAttempt.user_id,
                    ModuleCompletion.module_id == QuizAttempt.module_id,
                ),
            )
            .where(
                QuizAttempt.user_id.in_(shown),
                QuizAttempt.passed.is_(True),
                or_(
                    ModuleCompletion.id.is_(None),
                    still_valid,
                    QuizAttempt.submitted_at >= ModuleCompletion.expires_at,
                ),
            )
            .distinct()
        )
    }
    for uid, latest in db.session.execute(
        select(QuizAttempt.user_id, func.max(QuizAttempt.submitted_at))
        .where(QuizAttempt.user_id.in_(shown))
        .group_by(QuizAttempt.user_id)
    ):
        _touch(rows[uid], latest)
    for uid, status, count in db.session.execute(
        select(ShadowSession.trainee_id, ShadowSession.status, func.count(ShadowSession.id))
        .where(ShadowSession.trainee_id.in_(shown), ShadowSession.status != SessionStatus.CANCELLED)
        .group_by(ShadowSession.trainee_id, ShadowSession.status)
    ):
        rows[uid].sessions_total += count
        if status == SessionStatus.DONE:
            rows[uid].sessions_done += count
    for uid, mid, due_on, late in db.session.execute(
        select(
            Assignment.user_id,
            Assignment.module_id,
            Assignment.due_on,
            case((Assignment.due_at < now, 1), else_=0),
        ).where(Assignment.user_id.in_(shown))
    ):
        valid = completions.get((uid, mid))
        status = "done" if valid else "expired" if valid is False else "overdue" if late else "open"
        rows[uid].cells[mid] = Cell(
            status=status,
            due_on=due_on,
            lessons_done=lessons_done.get((uid, mid), 0),
            lessons_total=lesson_totals.get(mid, 0),
            quiz_required=mid in quizzes,
            quiz_passed=(uid, mid) in passed,
        )
    return TeamView(
        rows=list(rows.values()),
        modules=list(stats.values()),
        teams=teams,
        months=months,
        team=team or None,
        start_month=start_month or None,
        total=total,
        page=page,
        pages=pages,
        per_page=per_page if paged else None,
    )


def _touch(row: Row, moment: datetime | None) -> None:
    if moment is not None:
        moment = moment if moment.tzinfo else moment.replace(tzinfo=utcnow().tzinfo)
        if row.last_activity is None or moment > row.last_activity:
            row.last_activity = moment


def _cell_text(value) -> str:
    text = "" if value is None else str(value)
    # Spreadsheet apps run cells that start with these as formulas.
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def team_csv(view: TeamView) -> str:
    """The team view as CSV: one row per new hire, one column per module (status and due date)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(
        [
            "Name",
            "Email",
            "Team",
            "Start date",
            *[m.title for m in view.modules],
            "Overdue",
            "Progress %",
            "Shadowing done",
            "Last activity (UTC)",
        ]
    )
    for row in view.rows:
        cells = []
        for module in view.modules:
            cell = row.cells.get(module.module_id)
            cells.append(
                "" if cell is None else f"{cell.status}" + (f" (due {cell.due_on})" if cell.due_on else "")
            )
        writer.writerow(
            [
                _cell_text(v)
                for v in (
                    row.user.name,
                    row.user.email,
                    row.user.team,
                    row.user.start_date,
                    *cells,
                    row.overdue,
                    row.percent,
                    f"{row.sessions_done}/{row.sessions_total}",
                    row.last_activity.strftime("%Y-%m-%d %H:%M") if row.last_activity else "",
                )
            ]
        )
    writer.writerow([])
    writer.writerow(["Module", "Completion rate %", "Quiz pass rate %"])
    for module in view.modules:
        writer.writerow(
            [
                _cell_text(module.title),
                module.completion_rate if module.completion_rate is not None else "",
                module.pass_rate if module.pass_rate is not None else "",
            ]
        )
    return out.getvalue()
