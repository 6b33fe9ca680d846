"""Who outperforms, honestly: reps ranked per metric on small-sample-aware scores, with the reason in words.

Shares (CSAT, FCR, reopen rate) rank on the pessimistic end of their Wilson interval: the lower bound where
higher is better, the upper bound for the reopen rate. Means (handle minutes, NPS) rank on the rep's mean
shrunk toward the team's by empirical Bayes. Reps with fewer measured tickets than the minimum volume are
listed after the ranked ones, with the reason, and never suggested as top performers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select

from kms.auth.models import Role, User
from kms.errors import Invalid
from kms.extensions import db
from kms.metrics import stats
from kms.metrics.buckets import HANDLE_BUCKETS
from kms.metrics.services import totals as sums
from kms.metrics.services.dashboards import date_range, team_members, visible_team
from kms.metrics.services.totals import Totals

DEFAULT_MIN_VOLUME = 30
EDGES = (0.0, *HANDLE_BUCKETS, math.inf)


@dataclass(frozen=True)
class Metric:
    key: str
    label: str
    kind: str  # "share" | "mean"
    noun: str  # what the count counts, singular
    higher_is_better: bool


METRICS = {
    "csat": Metric("csat", "CSAT", "share", "rated ticket", True),
    "fcr": Metric("fcr", "FCR", "share", "FCR-tracked ticket", True),
    "reopened": Metric("reopened", "Reopen rate", "share", "ticket", False),
    "handle_minutes": Metric("handle_minutes", "Handle time", "mean", "timed ticket", False),
    "nps": Metric("nps", "NPS", "mean", "NPS answer", True),
}


def metric(key: str) -> Metric:
    try:
        return METRICS[key]
    except KeyError:
        raise Invalid(f"Choose a metric: {', '.join(METRICS)}.", field="metric") from None


def _share(m: Metric, t: Totals) -> tuple[int, int]:
    """(successes, count) of a share metric."""
    return {
        "csat": (t.csat_good, t.csat_rated),
        "fcr": (t.fcr_yes, t.fcr_known),
        "reopened": (t.reopened_yes, t.reopened_known),
    }[m.key]


def _mean(m: Metric, t: Totals) -> stats.Group | None:
    """The rep's sample of a mean metric, with its within-rep variance."""
    if m.key == "handle_minutes":
        if not t.handle_count:
            return None
        spread = stats.histogram_mean_variance(t.hist, EDGES)
        return stats.Group(t.handle_sum / t.handle_count, t.handle_count, spread[1] if spread else 0.0)
    if not t.nps_count:
        return None
    return stats.Group(t.nps, t.nps_count, stats.nps_variance(t.nps_promoters, t.nps_detractors, t.nps_count))


def count_of(m: Metric, t: Totals) -> int:
    if m.kind == "share":
        return _share(m, t)[1]
    return t.handle_count if m.key == "handle_minutes" else t.nps_count


def value_of(m: Metric, t: Totals) -> float | None:
    if m.kind == "share":
        good, count = _share(m, t)
        return good / count if count else None
    group = _mean(m, t)
    return group.mean if group else None


def _fmt(m: Metric):
    return stats.minutes if m.key == "handle_minutes" else stats.signed


@dataclass
class Row:
    """One rep in a ranking. `score` is what the rank is decided on (bound or shrunk value)."""

    user: User
    value: float | None
    score: float | None
    count: int
    why: str
    ranked: bool
    beats_team: bool = False

    def as_json(self, m: Metric) -> dict:
        out = {
            "email": self.user.email,
            "name": self.user.name,
            "value": self.value,
            "count": self.count,
            "ranked": self.ranked,
            "why": self.why,
        }
        out[
            "lower_bound"
            if m.kind == "share" and m.higher_is_better
            else "upper_bound"
            if m.kind == "share"
            else "shrunk"
        ] = self.score
        return out


@dataclass
class Ranking:
    metric: Metric
    team: str
    start: date
    end: date
    team_value: float | None
    min_volume: int
    rows: list[Row]

    @property
    def outperformers(self) -> list[Row]:
        """Ranked reps whose pessimistic score still beats the team figure: the top performers."""
        return [r for r in self.rows if r.ranked and r.beats_team]


def rank(
    m: Metric, reps: list[tuple[User, Totals]], *, min_volume: int = DEFAULT_MIN_VOLUME, team_total: Totals
) -> tuple[float | None, list[Row]]:
    """Rank reps on one metric (pure: no database). Returns the team figure and the rows, best first."""
    team_value = value_of(m, team_total)
    rows: list[Row] = []
    if m.kind == "share":
        for user, t in reps:
            good, count = _share(m, t)
            if not count:
                continue
            value = good / count
            bound = stats.wilson_lower(good, count) if m.higher_is_better else stats.wilson_upper(good, count)
            ranked = stats.meets_minimum(count, min_volume)
            why = (
                stats.why_share(
                    m.label, value, bound, count, m.noun, team_value, lower_is_better=not m.higher_is_better
                )
                if ranked
                else stats.why_too_few(m.label, count, m.noun, min_volume)
            )
            beats = team_value is not None and (
                bound > team_value if m.higher_is_better else bound < team_value
            )
            rows.append(Row(user, value, bound, count, why, ranked, beats))
    else:
        groups = {user.id: _mean(m, t) for user, t in reps}
        prior = stats.eb_prior([g for g in groups.values() if g is not None])
        fmt = _fmt(m)
        for user, _ in reps:
            group = groups[user.id]
            if group is None:
                continue
            shrunk = stats.shrink(group.mean, group.count, prior)
            ranked = stats.meets_minimum(group.count, min_volume)
            why = (
                stats.why_mean(m.label, group.mean, shrunk, group.count, m.noun, team_value, fmt)
                if ranked
                else stats.why_too_few(m.label, group.count, m.noun, min_volume)
            )
            # Outperforming needs the pessimistic end of the rep's posterior (shrunk value minus, or plus, 1.96
            # posterior standard deviations) to beat the team, as the Wilson bound does for shares.
            weight = group.count + (prior.weight if prior else 0.0)
            margin = stats.Z95 * (group.variance / weight) ** 0.5 if weight > 0 else 0.0
            pessimistic = shrunk - margin if m.higher_is_better else shrunk + margin
            beats = team_value is not None and (
                pessimistic > team_value if m.higher_is_better else pessimistic < team_value
            )
            rows.append(Row(user, group.mean, shrunk, group.count, why, ranked, beats))
    sign = -1 if m.higher_is_better else 1
    rows.sort(key=lambda r: (not r.ranked, sign * r.score if r.ranked else -r.count, r.user.name))
    return team_value, rows


def rank_reps(
    metric_key: str,
    *,
    actor,
    team: str | None = None,
    start: date | None = None,
    end: date | None = None,
    today: date,
    min_volume: int = DEFAULT_MIN_VOLUME,
) -> Ranking:
    """The ranking of a team's reps on one metric over a day range (default: the last 12 weeks).

    Same permissions as the dashboards: managers their own team, admins any team; a member or author gets
    only their own row (the team figure is shared, other reps' rows are not). Two statements."""
    m = metric(metric_key)
    team = visible_team(actor, team)
    start, end = date_range("week", start, end, today)
    members = {u.id: u for u in team_members(team)}
    per_rep = sums.by_rep(team=team, start=start, end=end, with_hist=m.key == "handle_minutes")
    team_total = Totals()
    for value in per_rep.values():
        team_total.add(value)
    reps = [(members[uid], t) for uid, t in per_rep.items() if uid in members]
    team_value, rows = rank(m, reps, min_volume=min_volume, team_total=team_total)
    if actor.role not in (Role.ADMIN, Role.MANAGER):
        rows = [r for r in rows if r.user.id == actor.id]
    return Ranking(m, team, start, end, team_value, min_volume, rows)


# Top performers -> shadowing hosts ---------------------------------------------------------------------------

# The module tags each metric stands for: a host confirmed for CSAT is preferred for trainees whose path has
# modules tagged empathy or positivity (the starter de-escalation module), and so on.
SKILL_TAGS = {
    "csat": ("empathy", "positivity"),
    "fcr": ("troubleshooting", "escalation"),
    "reopened": ("troubleshooting",),
    "handle_minutes": ("efficiency",),
    "nps": ("empathy", "drive"),
}
TOP_PER_METRIC = 3


def skills_for(metric_key: str) -> list[str]:
    """What confirming a top performer for a metric records on their host row: the metric and its tags."""
    return [metric(metric_key).key, *SKILL_TAGS.get(metric_key, ())]


@dataclass
class HostSuggestion:
    row: Row
    metric: Metric
    confirmed: bool  # already a host for this skill


def host_suggestions(
    *, actor, team: str | None = None, today: date, min_volume: int = DEFAULT_MIN_VOLUME
) -> list[HostSuggestion]:
    """The outperformers of a team per metric (up to three each), suggested as shadowing hosts for that skill.
    Managers and admins only. Four statements for all five metrics together."""
    from kms.metrics.services.dashboards import require_lead
    from kms.training.models import ShadowHost

    require_lead(actor)
    team = visible_team(actor, team)
    start, end = date_range("week", None, None, today)
    members = {u.id: u for u in team_members(team) if u.active}
    per_rep = sums.by_rep(team=team, start=start, end=end)
    team_total = Totals()
    for value in per_rep.values():
        team_total.add(value)
    reps = [(members[uid], t) for uid, t in per_rep.items() if uid in members]
    skills = {
        h.user_id: h.skill_set
        for h in db.session.scalars(select(ShadowHost).where(ShadowHost.user_id.in_(list(members))))
        if h.active
    }
    out = []
    for m in METRICS.values():
        _, rows = rank(m, reps, min_volume=min_volume, team_total=team_total)
        for row in [r for r in rows if r.ranked and r.beats_team][:TOP_PER_METRIC]:
            out.append(HostSuggestion(row, m, m.key in skills.get(row.user.id, frozenset())))
    return out


def confirm_host(user_id: int, metric_key: str, *, actor):
    """A manager confirms a suggested top performer as a shadowing host for that metric's skill."""
    from kms.metrics.services.dashboards import require_lead, visible_rep
    from kms.training import services as training

    require_lead(actor)
    user = visible_rep(user_id, actor)
    m = metric(metric_key)
    return training.add_host_skills(user.id, skills_for(m.key), note=f"Top performer: {m.label}", actor=actor)
