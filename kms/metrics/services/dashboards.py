"""Dashboards at three levels (company, team, rep), by week or month, in a fixed number of SQL statements.

Who sees what: everyone sees their own figures beside their team's; a manager sees their own team and its reps;
an admin sees every team and rep. A member or author never sees another rep's individual figures: asking for
one answers NotFound (existence is not revealed). The company level is for managers and admins.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import select

from kms.auth.models import Role, User
from kms.errors import Forbidden, Invalid, NotFound
from kms.extensions import db
from kms.metrics.services import totals as sums
from kms.metrics.services.totals import Totals

PERIODS = ("week", "month")
DEFAULT_SPAN = {"week": 12, "month": 12}  # periods shown when no range is given
MAX_DAYS = 2 * 366


# Figures: key -> (label, how to read it from Totals, format for people, higher is better)
def _pct(value: float) -> str:
    return f"{value * 100:.0f}%"


def _min(value: float) -> str:
    return f"{value:.1f} min"


def _nps(value: float) -> str:
    return f"{value:+.0f}" if round(value) else "0"


def _count(value: float) -> str:
    return f"{value:.0f}"


@dataclass(frozen=True)
class Figure:
    key: str
    label: str
    read: str  # attribute of Totals
    fmt: object
    higher_is_better: bool
    floor: float | None = 0.0
    ceiling: float | None = None


FIGURES = (
    Figure("csat", "CSAT (share of good ratings)", "csat", _pct, True, 0.0, 1.0),
    Figure("fcr", "First-contact resolution", "fcr", _pct, True, 0.0, 1.0),
    Figure("reopened", "Reopen rate", "reopened", _pct, False, 0.0, 1.0),
    Figure("handle", "Median handle time", "handle_median", _min, False, 0.0, None),
    Figure("nps", "NPS", "nps", _nps, True, -100.0, 100.0),
    Figure("volume", "Volume (tickets solved)", "volume", _count, True, 0.0, None),
)
FIGURE_BY_KEY = {f.key: f for f in FIGURES}


def period_start(day: date, period: str) -> date:
    """The first day of the week (Monday) or month holding `day`."""
    return day - timedelta(days=day.weekday()) if period == "week" else day.replace(day=1)


def period_label(start: date, period: str) -> str:
    return f"{start:%d %b}" if period == "week" else f"{start:%b %Y}"


def _next_period(start: date, period: str) -> date:
    if period == "week":
        return start + timedelta(days=7)
    return (start.replace(day=28) + timedelta(days=4)).replace(day=1)


def date_range(period: str, start: date | None, end: date | None, today: date) -> tuple[date, date]:
    """The inclusive day range to show: the given one, else the last DEFAULT_SPAN whole periods to today."""
    if period not in PERIODS:
        raise Invalid("Choose week or month.", field="period")
    end = end or today
    if start is None:
        start = period_start(end, period)
        for _ in range(DEFAULT_SPAN[period] - 1):
            start = period_start(start - timedelta(days=1), period)
    if start > end:
        raise Invalid("The start must be on or before the end.", field="from")
    if (end - start).days > MAX_DAYS:
        raise Invalid("Show at most two years at a time.", field="from")
    return start, end


def periods_between(start: date, end: date, period: str) -> list[date]:
    first = period_start(start, period)
    out = []
    while first <= end:
        out.append(first)
        first = _next_period(first, period)
    return out


# Who may see what ------------------------------------------------------------------------------------------


def is_lead(actor) -> bool:
    return actor is not None and actor.role in (Role.ADMIN, Role.MANAGER)


def require_lead(actor) -> None:
    if not is_lead(actor):
        raise Forbidden("Only managers and admins see team and company dashboards.")


def visible_team(actor, team: str | None) -> str:
    """The team a viewer may look at: admins any (default their own), everyone else only their own."""
    own = actor.team or ""
    if team is None or team == own:
        return own
    if actor.role == Role.ADMIN:
        return team
    raise NotFound("No such team.")


def can_see_rep(actor, user: User) -> bool:
    """A rep's individual figures: themselves, their team's manager, any admin."""
    if actor.id == user.id or actor.role == Role.ADMIN:
        return True
    return actor.role == Role.MANAGER and (actor.team or "") == (user.team or "")


def visible_rep(user_id: int, actor) -> User:
    user = db.session.get(User, user_id)
    if user is None or not can_see_rep(actor, user):
        raise NotFound("No such rep.")
    return user


def teams() -> list[str]:
    """Every team name that has users (one statement)."""
    return [t for t in db.session.scalars(select(User.team).distinct().order_by(User.team))]


def team_members(team: str) -> list[User]:
    return list(db.session.scalars(select(User).where(User.team == team).order_by(User.name)))


# The three levels ---------------------------------------------------------------------------------------------


@dataclass
class Dashboard:
    """What a dashboard page draws: the subject's figures per period, the benchmark per period, and totals."""

    level: str  # company | team | rep
    title: str
    period: str
    start: date
    end: date
    periods: list[date]
    series: list[Totals]
    benchmark: list[Totals]
    benchmark_label: str
    total: Totals
    benchmark_total: Totals
    team: str = ""
    user: User | None = None
    reps: list[tuple[User, Totals]] = field(default_factory=list)  # team level: each rep's totals
    teams: list[tuple[str, Totals]] = field(default_factory=list)  # company level: each team's totals

    @property
    def labels(self) -> list[str]:
        return [period_label(p, self.period) for p in self.periods]

    def values(self, figure: Figure, which: str = "series") -> list[float | None]:
        return [getattr(t, figure.read) for t in getattr(self, which)]


def rep_dashboard(
    user_id: int, *, actor, period: str = "week", start=None, end=None, today: date
) -> Dashboard:
    """A rep's figures per period beside their team's (the benchmark). Five statements at most."""
    user = visible_rep(user_id, actor)
    start, end = date_range(period, start, end, today)
    starts = periods_between(start, end, period)
    series = sums.by_period(period, starts, user_ids=[user.id], start=start, end=end)
    benchmark = sums.by_period(period, starts, team=user.team or "", start=start, end=end)
    return Dashboard(
        level="rep",
        title=user.name,
        period=period,
        start=start,
        end=end,
        periods=starts,
        series=series,
        benchmark=benchmark,
        benchmark_label=f"Team {user.team}" if user.team else "Team",
        total=_sum(series),
        benchmark_total=_sum(benchmark),
        team=user.team or "",
        user=user,
    )


def team_dashboard(
    *, actor, team: str | None = None, period: str = "week", start=None, end=None, today: date
) -> Dashboard:
    """A team's figures per period with the team's own average over the range as the benchmark line, and each
    rep's totals (managers and admins). Five statements at most whatever the team's size or the range; the
    company's rows are not read (that is the company page)."""
    require_lead(actor)
    team = visible_team(actor, team)
    start, end = date_range(period, start, end, today)
    starts = periods_between(start, end, period)
    members = team_members(team)
    per_rep = sums.by_rep(team=team, start=start, end=end)
    series = sums.by_period(period, starts, team=team, start=start, end=end)
    total = _sum(series)
    return Dashboard(
        level="team",
        title=f"Team {team}" if team else "No team",
        period=period,
        start=start,
        end=end,
        periods=starts,
        series=series,
        benchmark=[total] * len(starts),
        benchmark_label="Team average over the range",
        total=total,
        benchmark_total=total,
        team=team,
        # Leads appear only when they handled tickets themselves.
        reps=[
            (u, per_rep.get(u.id, Totals()))
            for u in members
            if u.id in per_rep or (u.active and u.role not in (Role.ADMIN, Role.MANAGER))
        ],
    )


def company_dashboard(*, actor, period: str = "week", start=None, end=None, today: date) -> Dashboard:
    """The whole company per period, and each team's totals (managers and admins). Four statements at most,
    whatever the number of reps or the range."""
    require_lead(actor)
    start, end = date_range(period, start, end, today)
    starts = periods_between(start, end, period)
    series = sums.by_period(period, starts, start=start, end=end)
    by_team = sums.by_team(start=start, end=end)
    total = _sum(series)
    return Dashboard(
        level="company",
        title="Company",
        period=period,
        start=start,
        end=end,
        periods=starts,
        series=series,
        benchmark=[total] * len(starts),
        benchmark_label="Company average over the range",
        total=total,
        benchmark_total=total,
        teams=sorted(by_team.items()),
    )


def _sum(parts: list[Totals]) -> Totals:
    out = Totals()
    for part in parts:
        out.add(part)
    return out
