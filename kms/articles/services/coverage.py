"""Documentation coverage: the progress bar numbers, daily snapshots for the trend, and what to write next."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import aliased, contains_eager, joinedload

from kms.articles.models import Article, ArticleStatus, CoverageSnapshot, Process, ProcessStatus, Revision
from kms.articles.services.substance import MIN_OWN_WORDS
from kms.auth.models import User
from kms.extensions import db, utcnow

# A process counts as documented once its article is published (readers can see it) with real content:
# at least MIN_OWN_WORDS words of its own (kms.articles.services.substance). Each query that uses these
# joins the published revision as `Published`.
Published = aliased(Revision, name="published")
PUBLISHED_JOIN = (Published, Published.id == Article.published_revision_id)
DOCUMENTED = and_(
    Article.id.is_not(None),
    Article.status == ArticleStatus.PUBLISHED,
    Published.id.is_not(None),
    Published.own_words >= MIN_OWN_WORDS,
)
NOT_DOCUMENTED = or_(
    Article.id.is_(None),
    Article.status != ArticleStatus.PUBLISHED,
    Published.id.is_(None),
    Published.own_words < MIN_OWN_WORDS,
)
# Published, but too little of its own text to count: a stub to finish.
STUB = and_(Article.status == ArticleStatus.PUBLISHED, Published.own_words < MIN_OWN_WORDS)


def _percent(part: int, whole: int) -> float:
    return round(100.0 * part / whole, 1) if whole else 0.0


@dataclass
class Bucket:
    """Coverage of one group of processes (all of them, a category, or an owner's)."""

    label: str
    documented: int = 0
    total: int = 0
    weighted_documented: int = 0
    weighted_total: int = 0
    key: str | int | None = None

    @property
    def percent(self) -> float:
        return _percent(self.documented, self.total)

    @property
    def weighted_percent(self) -> float:
        return _percent(self.weighted_documented, self.weighted_total)

    def add(self, documented: int, total: int, weighted_documented: int, weighted_total: int) -> None:
        self.documented += documented
        self.total += total
        self.weighted_documented += weighted_documented
        self.weighted_total += weighted_total

    def as_dict(self) -> dict:
        return {
            "documented": self.documented,
            "total": self.total,
            "percent": self.percent,
            "weighted_documented": self.weighted_documented,
            "weighted_total": self.weighted_total,
            "weighted_percent": self.weighted_percent,
        }


@dataclass
class Coverage:
    overall: Bucket
    target: int
    by_category: list[Bucket] = field(default_factory=list)
    by_owner: list[Bucket] = field(default_factory=list)

    @property
    def reached(self) -> bool:
        return self.overall.percent >= self.target

    @property
    def processes_to_target(self) -> int:
        """How many more processes must be documented to reach the target."""
        needed = -(-self.target * self.overall.total // 100)  # ceiling without floats
        return max(0, needed - self.overall.documented)


def coverage(target: int = 80) -> Coverage:
    """Coverage of all processes that are not retired: plain, weighted by frequency, per category and owner.

    One grouped query, whatever the number of processes.
    """
    documented = case((DOCUMENTED, 1), else_=0)
    rows = db.session.execute(
        select(
            Process.category,
            Process.owner_id,
            User.name,
            func.sum(documented),
            func.count(Process.id),
            func.sum(documented * Process.frequency),
            func.sum(Process.frequency),
        )
        .outerjoin(Article, Article.process_id == Process.id)
        .outerjoin(*PUBLISHED_JOIN)
        .outerjoin(User, User.id == Process.owner_id)
        .where(Process.status != ProcessStatus.RETIRED)
        .group_by(Process.category, Process.owner_id, User.name)
    ).all()
    overall = Bucket("All processes")
    categories: dict[str, Bucket] = {}
    owners: dict[int | None, Bucket] = {}
    for category, owner_id, owner_name, done, total, weighted_done, weighted_total in rows:
        numbers = (int(done or 0), int(total or 0), int(weighted_done or 0), int(weighted_total or 0))
        overall.add(*numbers)
        categories.setdefault(category, Bucket(category, key=category)).add(*numbers)
        owners.setdefault(owner_id, Bucket(owner_name or "Unassigned", key=owner_id)).add(*numbers)
    return Coverage(
        overall=overall,
        target=target,
        by_category=sorted(categories.values(), key=lambda b: (b.percent, b.label)),
        by_owner=sorted(owners.values(), key=lambda b: (b.key is None, b.label)),
    )


def record_snapshot(day: date | None = None) -> None:
    """Store today's coverage (one row per day, last write of the day wins). Call inside a write transaction."""
    numbers = coverage().overall
    values = {
        "day": day or utcnow().date(),
        "documented": numbers.documented,
        "total": numbers.total,
        "weighted_documented": numbers.weighted_documented,
        "weighted_total": numbers.weighted_total,
    }
    if db.session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    statement = insert(CoverageSnapshot).values(**values)
    statement = statement.on_conflict_do_update(
        index_elements=[CoverageSnapshot.day],
        set_={name: statement.excluded[name] for name in values if name != "day"},
    )
    db.session.execute(statement)


@dataclass
class TrendPoint:
    day: date
    percent: float
    weighted_percent: float


def trend(days: int = 90, today: date | None = None, current: Coverage | None = None) -> list[TrendPoint]:
    """One point per day for the last `days` days, carrying the last known snapshot forward over gaps."""
    today = today or utcnow().date()
    start = today - timedelta(days=days - 1)
    snapshots = list(
        db.session.scalars(
            select(CoverageSnapshot).where(CoverageSnapshot.day >= start).order_by(CoverageSnapshot.day)
        )
    )
    before = db.session.scalar(
        select(CoverageSnapshot)
        .where(CoverageSnapshot.day < start)
        .order_by(CoverageSnapshot.day.desc())
        .limit(1)
    )
    by_day = {s.day: s for s in snapshots}
    points: list[TrendPoint] = []
    last = before
    first_day = snapshots[0].day if snapshots and before is None else start
    for offset in range((today - first_day).days + 1):
        day = first_day + timedelta(days=offset)
        last = by_day.get(day, last)
        if day == today and current is not None:
            points.append(TrendPoint(day, current.overall.percent, current.overall.weighted_percent))
        elif last is not None:
            points.append(
                TrendPoint(
                    day,
                    _percent(last.documented, last.total),
                    _percent(last.weighted_documented, last.weighted_total),
                )
            )
    return points


@dataclass
class Chart:
    """Coordinates for a server-rendered SVG line chart of coverage over time."""

    width: int
    height: int
    line: str
    weighted_line: str
    target_y: float
    y_ticks: list[tuple[float, str]]
    x_labels: list[tuple[float, str]]
    points: list[TrendPoint]


def trend_chart(points: list[TrendPoint], target: int, width: int = 640, height: int = 200) -> Chart | None:
    """The coverage trend as an SVG line chart for the handbook home, or None without points."""
    if not points:
        return None
    left, right, top, bottom = 36, 8, 8, 24
    plot_w, plot_h = width - left - right, height - top - bottom
    step = plot_w / max(1, len(points) - 1)

    def y(percent: float) -> float:
        return round(top + plot_h * (1 - percent / 100), 1)

    def x(index: int) -> float:
        return round(left + index * step, 1) if len(points) > 1 else left + plot_w / 2

    line = " ".join(f"{x(i)},{y(p.percent)}" for i, p in enumerate(points))
    weighted = " ".join(f"{x(i)},{y(p.weighted_percent)}" for i, p in enumerate(points))
    ticks = [(y(v), f"{v}%") for v in (0, 25, 50, 75, 100)]
    every = max(1, len(points) // 5)
    labels = [(x(i), p.day.strftime("%b %d")) for i, p in enumerate(points) if i % every == 0]
    return Chart(width, height, line, weighted, y(target), ticks, labels, points)


def document_next(limit: int = 10) -> list[Process]:
    """Processes not yet documented (and not retired), most frequent first."""
    return list(
        db.session.scalars(
            select(Process)
            .outerjoin(Article, Article.process_id == Process.id)
            .outerjoin(*PUBLISHED_JOIN)
            .options(contains_eager(Process.article))
            .where(Process.status != ProcessStatus.RETIRED, NOT_DOCUMENTED)
            .order_by(Process.frequency.desc(), Process.name)
            .limit(limit)
        ).unique()
    )


def my_queue(user_id: int, limit: int = 20) -> list[Process]:
    """A person's own processes still to document: earliest target date first, then most frequent."""
    return list(
        db.session.scalars(
            select(Process)
            .outerjoin(Article, Article.process_id == Process.id)
            .outerjoin(*PUBLISHED_JOIN)
            .options(contains_eager(Process.article))
            .where(Process.owner_id == user_id, Process.status != ProcessStatus.RETIRED, NOT_DOCUMENTED)
            .order_by(
                Process.target_date.is_(None), Process.target_date, Process.frequency.desc(), Process.name
            )
            .limit(limit)
        ).unique()
    )


def stale_filter(now: datetime):
    """Published articles never verified or past their verification date."""
    return and_(
        Article.status == ArticleStatus.PUBLISHED,
        or_(Article.verify_due_at.is_(None), Article.verify_due_at <= now),
    )


def stale_count(now: datetime | None = None) -> int:
    """How many articles are past their verification date, for the handbook home."""
    return db.session.scalar(select(func.count(Article.id)).where(stale_filter(now or utcnow()))) or 0


def stale_articles(now: datetime | None = None, limit: int | None = None) -> list[Article]:
    """Articles due for review, the most overdue first (never verified ones lead)."""
    query = (
        select(Article)
        .options(joinedload(Article.owner), joinedload(Article.verified_by))
        .where(stale_filter(now or utcnow()))
        .order_by(Article.verify_due_at.is_not(None), Article.verify_due_at, Article.title)
    )
    if limit:
        query = query.limit(limit)
    return list(db.session.scalars(query))
