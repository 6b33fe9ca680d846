"""Hiring and ramp-up side by side: for people hired through kms, their interview trait scores beside their
first-month onboarding progress and first-90-days metrics, so a manager can see whether the rubric predicts
anything.

Privacy: a team's table is shown only when at least MIN_GROUP people of that team were hired through kms;
below that, individual interview scores could be matched to people too easily, so only the count is given.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import func, select

from kms.auth.models import User
from kms.extensions import db
from kms.hiring.models import Candidate, Rating, Scorecard, ScorecardStatus, Stage
from kms.metrics.models import RepDay
from kms.metrics.services.dashboards import require_lead, visible_team
from kms.metrics.services.totals import Totals, sum_columns
from kms.training.models import Assignment, ModuleCompletion

MIN_GROUP = 5
FIRST_MONTH_DAYS = 30
FIRST_METRIC_DAYS = 90


@dataclass
class Hire:
    user: User
    traits: dict[str, float]  # trait key -> mean rating 1-4 over submitted scorecards
    first_month_percent: int | None  # modules due in the first month done by its end, in percent
    metrics: Totals

    @property
    def mean_score(self) -> float | None:
        return sum(self.traits.values()) / len(self.traits) if self.traits else None


@dataclass
class Ramp:
    team: str
    count: int
    shown: bool
    hires: list[Hire] = field(default_factory=list)
    trait_keys: list[str] = field(default_factory=list)

    def correlation(self, trait: str, read: str = "csat") -> float | None:
        """Pearson correlation between a trait's mean score and a first-90-days figure over the hires that have
        both (None below MIN_GROUP pairs or without spread): a hint, not proof, with so few people."""
        pairs = [
            (h.traits[trait], getattr(h.metrics, read))
            for h in self.hires
            if trait in h.traits and getattr(h.metrics, read) is not None
        ]
        if len(pairs) < MIN_GROUP:
            return None
        xs, ys = zip(*pairs, strict=True)
        mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
        sx = math.sqrt(sum((x - mx) ** 2 for x in xs))
        sy = math.sqrt(sum((y - my) ** 2 for y in ys))
        if not sx or not sy:
            return None
        return sum((x - mx) * (y - my) for x, y in pairs) / (sx * sy)


def team_ramp(*, actor, team: str | None = None) -> Ramp:
    """The team's hires through kms with scores, first-month progress and first-90-days metrics, or only their
    number when fewer than MIN_GROUP (managers their team, admins any). A fixed number of statements."""
    require_lead(actor)
    team = visible_team(actor, team)
    hired = list(
        db.session.execute(
            select(Candidate.id, User)
            .join(User, User.id == Candidate.hired_user_id)
            .where(Candidate.stage == Stage.HIRED, User.team == team)
            .order_by(User.start_date, User.name)
        ).all()
    )
    by_user: dict[int, tuple[list[int], User]] = {}
    for candidate_id, user in hired:
        by_user.setdefault(user.id, ([], user))[0].append(candidate_id)
    ramp = Ramp(team=team, count=len(by_user), shown=len(by_user) >= MIN_GROUP)
    if not ramp.shown:
        return ramp
    candidate_ids = [c for ids, _ in by_user.values() for c in ids]
    traits: dict[int, dict[str, list[int]]] = {}
    for candidate_id, key, rating in db.session.execute(
        select(Scorecard.candidate_id, Rating.trait_key, Rating.rating)
        .join(Rating, Rating.scorecard_id == Scorecard.id)
        .where(
            Scorecard.candidate_id.in_(candidate_ids),
            Scorecard.status == ScorecardStatus.SUBMITTED,
            Rating.rating.is_not(None),
        )
    ):
        traits.setdefault(candidate_id, {}).setdefault(key, []).append(rating)
    user_ids = list(by_user)
    starts = {uid: u.start_date for uid, (_, u) in by_user.items()}
    first_month = _first_month(user_ids, starts)
    metrics = _first_metrics(user_ids, starts)
    keys = sorted({k for scores in traits.values() for k in scores})
    for user_id, (ids, user) in by_user.items():
        scores: dict[str, list[int]] = {}
        for candidate_id in ids:
            for key, values in traits.get(candidate_id, {}).items():
                scores.setdefault(key, []).extend(values)
        ramp.hires.append(
            Hire(
                user=user,
                traits={k: sum(v) / len(v) for k, v in scores.items()},
                first_month_percent=first_month.get(user_id),
                metrics=metrics.get(user_id, Totals()),
            )
        )
    ramp.trait_keys = keys
    return ramp


def _first_month(user_ids: list[int], starts: dict[int, date | None]) -> dict[int, int]:
    """Per hire: modules due in their first month that were completed by the end of it, in percent."""
    due: dict[int, list[tuple[int, date]]] = {}
    for user_id, module_id, due_on in db.session.execute(
        select(Assignment.user_id, Assignment.module_id, Assignment.due_on).where(
            Assignment.user_id.in_(user_ids), Assignment.due_on.is_not(None)
        )
    ):
        start = starts.get(user_id)
        if start is not None and due_on <= start + timedelta(days=FIRST_MONTH_DAYS):
            due.setdefault(user_id, []).append((module_id, due_on))
    done = {
        (user_id, module_id): at
        for user_id, module_id, at in db.session.execute(
            select(ModuleCompletion.user_id, ModuleCompletion.module_id, ModuleCompletion.completed_at).where(
                ModuleCompletion.user_id.in_(user_ids)
            )
        )
    }
    out = {}
    for user_id, items in due.items():
        end = starts[user_id] + timedelta(days=FIRST_MONTH_DAYS)
        finished = sum(
            1 for module_id, _ in items if (at := done.get((user_id, module_id))) and at.date() <= end
        )
        out[user_id] = round(100 * finished / len(items))
    return out


def _first_metrics(user_ids: list[int], starts: dict[int, date | None]) -> dict[int, Totals]:
    """Per hire: sums over their first 90 days from their start date (one statement for everyone)."""
    earliest = min((s for s in starts.values() if s), default=None)
    if earliest is None:
        return {}
    rows = db.session.execute(
        select(RepDay.user_id, RepDay.day, *sum_columns())
        .where(RepDay.user_id.in_(user_ids), RepDay.day >= earliest)
        .group_by(RepDay.user_id, RepDay.day)
    )
    out: dict[int, Totals] = {}
    for row in rows:
        user_id, day = row[0], row[1]
        start = starts.get(user_id)
        if start is not None and start <= day < start + timedelta(days=FIRST_METRIC_DAYS):
            out.setdefault(user_id, Totals()).add(Totals.from_row(row[2:]))
    return out


def hires_count(team: str) -> int:
    """How many people of a team were hired through kms (for the privacy note)."""
    return (
        db.session.scalar(
            select(func.count(func.distinct(Candidate.hired_user_id)))
            .join(User, User.id == Candidate.hired_user_id)
            .where(Candidate.stage == Stage.HIRED, User.team == team)
        )
        or 0
    )
