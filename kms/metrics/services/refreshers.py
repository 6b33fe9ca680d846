"""Training that reacts: refresher rules, the suggestions they make for a team, one-click assignment, and each
team's re-certification cadence.

A rule maps a metric, a threshold and a window of days to a training module. For every rep of the team whose
figure over the last window crosses the threshold (with at least `min_count` measured tickets), the manager
sees a suggestion to assign that module, unless the rep already has it assigned and not yet done, or completed
it within the window. Assigning goes through training's own service (due in two weeks).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import select

from kms.auth.models import User
from kms.errors import Invalid, NotFound
from kms.extensions import db
from kms.metrics import stats
from kms.metrics.models_coaching import RefresherRule, TeamCadence
from kms.metrics.services import totals as sums
from kms.metrics.services.dashboards import require_lead, team_members, visible_team
from kms.metrics.services.ranking import METRICS, count_of, value_of
from kms.metrics.services.totals import Totals
from kms.training import services as training
from kms.training.models import Assignment, Module, ModuleCompletion, ModuleStatus
from kms.training.services._common import add_months

RULE_METRICS = {**{k: m.label for k, m in METRICS.items()}, "angry_rise": "Angry-tagged tickets rising"}
DUE_IN_DAYS = 14

# The starter rules (module slugs from content/training); added by `kms demo` or the rules page's button.
STARTER_RULES = (
    ("csat", 0.80, 28, 20, "de-escalating-an-angry-customer"),
    ("angry_rise", 0.05, 28, 20, "de-escalating-an-angry-customer"),
    ("fcr", 0.70, 28, 20, "working-the-ticket-queue"),
    ("reopened", 0.12, 28, 20, "troubleshooting-to-a-first-contact-fix"),
)


def higher_is_better(metric: str) -> bool:
    return metric != "angry_rise" and METRICS[metric].higher_is_better


def describe(rule: RefresherRule) -> str:
    """'CSAT below 85% over 28 days' in words."""
    if rule.metric == "angry_rise":
        return f"angry-tagged tickets up {rule.threshold * 100:.0f} points over {rule.window_days} days"
    side = "below" if higher_is_better(rule.metric) else "above"
    return f"{METRICS[rule.metric].label} {side} {_fmt(rule.metric, rule.threshold)} over {rule.window_days} days"


def _fmt(metric: str, value: float) -> str:
    if metric in ("csat", "fcr", "reopened"):
        return stats.percent(value)
    if metric == "handle_minutes":
        return stats.minutes(value)
    return stats.signed(value)


def list_rules(*, actor, team: str | None = None) -> list[RefresherRule]:
    """The rules that apply to a team (its own and the all-teams ones); admins without a team see all."""
    require_lead(actor)
    query = select(RefresherRule).order_by(RefresherRule.metric, RefresherRule.id)
    if team is not None:
        query = query.where(RefresherRule.team.in_(["", team]))
    return list(db.session.scalars(query))


def create_rule(
    *, metric: str, threshold: float, window_days: int, min_count: int, module_id: int, team: str = "", actor
) -> RefresherRule:
    """Add a refresher rule (managers for their own team; admins for any team or all teams)."""
    require_lead(actor)
    if metric not in RULE_METRICS:
        raise Invalid(f"Choose a metric: {', '.join(RULE_METRICS)}.", field="metric")
    if actor.role.value != "admin":
        team = actor.team or ""
    if not 1 <= window_days <= 365:
        raise Invalid("The window is 1 to 365 days.", field="window_days")
    if not 1 <= min_count <= 100_000:
        raise Invalid("The minimum is 1 to 100000 tickets.", field="min_count")
    if metric in ("csat", "fcr", "reopened", "angry_rise") and not 0 <= threshold <= 1:
        raise Invalid("Give a share between 0 and 1 (0.85 = 85%).", field="threshold")
    module = db.session.get(Module, module_id)
    if module is None or module.status != ModuleStatus.PUBLISHED:
        raise Invalid("Choose a published module.", field="module_id")
    rule = RefresherRule(
        team=team,
        metric=metric,
        threshold=threshold,
        window_days=window_days,
        min_count=min_count,
        module=module,
    )
    db.session.add(rule)
    db.session.flush()
    return rule


def delete_rule(rule_id: int, *, actor) -> None:
    require_lead(actor)
    rule = db.session.get(RefresherRule, rule_id)
    if rule is None or (actor.role.value != "admin" and rule.team not in ("", actor.team or "")):
        raise NotFound("No such rule.")
    if actor.role.value != "admin" and rule.team == "":
        raise NotFound("Only admins change the rules for every team.")
    db.session.delete(rule)
    db.session.flush()


def seed_starter_rules() -> int:
    """Add the starter rules whose module exists and that are not there yet (system use: demo, first run)."""
    slugs = {
        m.slug: m
        for m in db.session.scalars(select(Module).where(Module.slug.in_([r[4] for r in STARTER_RULES])))
    }
    existing = {
        (r.metric, r.module_id)
        for r in db.session.scalars(select(RefresherRule).where(RefresherRule.team == ""))
    }
    added = 0
    for metric, threshold, window, minimum, slug in STARTER_RULES:
        module = slugs.get(slug)
        if module is None or (metric, module.id) in existing:
            continue
        db.session.add(
            RefresherRule(
                metric=metric, threshold=threshold, window_days=window, min_count=minimum, module=module
            )
        )
        added += 1
    db.session.flush()
    return added


@dataclass
class Suggestion:
    user: User
    rule: RefresherRule
    value: float
    count: int
    why: str


def _fires(rule: RefresherRule, now: Totals, before: Totals) -> tuple[bool, float | None, int, str]:
    """Whether a rule fires for one rep, with the figure, the count and the reason in words."""
    if rule.metric == "angry_rise":
        share, earlier = now.angry_share, before.angry_share or 0.0
        if share is None or now.tickets < rule.min_count:
            return False, None, now.tickets, ""
        rise = share - earlier
        why = (
            f"{stats.percent(share)} of {stats.counted(now.tickets, 'ticket')} tagged angry in the last "
            f"{rule.window_days} days, up from {stats.percent(earlier)}"
        )
        return rise >= rule.threshold, rise, now.tickets, why
    m = METRICS[rule.metric]
    value, count = value_of(m, now), count_of(m, now)
    if value is None or count < rule.min_count:
        return False, value, count, ""
    crossed = value < rule.threshold if m.higher_is_better else value > rule.threshold
    why = (
        f"{m.label} {_fmt(rule.metric, value)} over {stats.counted(count, m.noun)} in the last "
        f"{rule.window_days} days ({describe(rule)} suggests a refresher)"
    )
    return crossed, value, count, why


def suggestions(*, actor, team: str | None = None, today: date) -> list[Suggestion]:
    """What the team's manager should consider assigning now. Statements: a fixed few, plus one per distinct
    rule window (rules are few; the number of reps or days does not change it)."""
    require_lead(actor)
    team = visible_team(actor, team)
    rules = [r for r in list_rules(actor=actor, team=team) if r.active]
    if not rules:
        return []
    members = {u.id: u for u in team_members(team) if u.active}
    windows: dict[int, tuple[dict[int, Totals], dict[int, Totals]]] = {}
    for days in sorted({r.window_days for r in rules}):
        start = today - timedelta(days=days - 1)
        earlier = start - timedelta(days=days)
        hist = any(r.metric == "handle_minutes" for r in rules if r.window_days == days)
        windows[days] = (
            sums.by_rep(team=team, start=start, end=today, with_hist=hist),
            sums.by_rep(team=team, start=earlier, end=start - timedelta(days=1), with_hist=False),
        )
    module_ids = {r.module_id for r in rules}
    pending = {
        (a.user_id, a.module_id)
        for a in db.session.scalars(
            select(Assignment).where(
                Assignment.user_id.in_(list(members)), Assignment.module_id.in_(module_ids)
            )
        )
    }
    done_at = {
        (c.user_id, c.module_id): c.completed_at
        for c in db.session.scalars(
            select(ModuleCompletion).where(
                ModuleCompletion.user_id.in_(list(members)), ModuleCompletion.module_id.in_(module_ids)
            )
        )
    }
    out, seen = [], set()
    for rule in rules:
        now_sums, before_sums = windows[rule.window_days]
        start = today - timedelta(days=rule.window_days - 1)
        for user_id, user in members.items():
            key = (user_id, rule.module_id)
            if key in seen:
                continue
            done = done_at.get(key)
            if done is not None and done.date() >= start:
                continue  # already refreshed inside the window
            if key in pending and done is None:
                continue  # assigned and not yet done
            if key in pending and done is not None and done.date() < start:
                pass  # done long ago: a new dip deserves a new suggestion
            fires, value, count, why = _fires(
                rule, now_sums.get(user_id, Totals()), before_sums.get(user_id, Totals())
            )
            if fires:
                seen.add(key)
                out.append(Suggestion(user, rule, value, count, why))
    return sorted(out, key=lambda s: (s.user.name, s.rule.id))


def assign_refresher(user_id: int, module_id: int, *, actor, today: date):
    """Assign a suggested refresher through training's service, due in two weeks (the manager's one click)."""
    require_lead(actor)
    return training.assign_module(user_id, module_id, today + timedelta(days=DUE_IN_DAYS), actor=actor)


# Cadence -------------------------------------------------------------------------------------------------------


@dataclass
class CadenceRow:
    user: User
    last_done: date | None
    next_due: date | None
    overdue: bool


@dataclass
class Cadence:
    entry: TeamCadence
    rows: list[CadenceRow]

    @property
    def label(self) -> str:
        names = {1: "monthly", 3: "quarterly", 6: "every six months", 12: "yearly"}
        return names.get(self.entry.every_months, f"every {self.entry.every_months} months")


def set_cadence(team: str | None, module_id: int, every_months: int, *, actor) -> TeamCadence:
    """Set (or change) how often a team re-certifies on a module."""
    require_lead(actor)
    team = visible_team(actor, team)
    if not 1 <= every_months <= 36:
        raise Invalid("Every 1 to 36 months.", field="every_months")
    module = db.session.get(Module, module_id)
    if module is None or module.status != ModuleStatus.PUBLISHED:
        raise Invalid("Choose a published module.", field="module_id")
    entry = db.session.scalar(
        select(TeamCadence).where(TeamCadence.team == team, TeamCadence.module_id == module.id)
    ) or TeamCadence(team=team, module=module)
    entry.every_months = every_months
    db.session.add(entry)
    db.session.flush()
    return entry


def team_cadence(*, actor, team: str | None = None, today: date) -> list[Cadence]:
    """Each cadence of the team with every active rep's last completion and next due date (three statements)."""
    require_lead(actor)
    team = visible_team(actor, team)
    entries = list(
        db.session.scalars(select(TeamCadence).where(TeamCadence.team == team).order_by(TeamCadence.id))
    )
    if not entries:
        return []
    members = [u for u in team_members(team) if u.active and u.role.value not in ("admin", "manager")]
    done = {
        (c.user_id, c.module_id): c.completed_at
        for c in db.session.scalars(
            select(ModuleCompletion).where(
                ModuleCompletion.user_id.in_([u.id for u in members]),
                ModuleCompletion.module_id.in_([e.module_id for e in entries]),
            )
        )
    }
    out = []
    for entry in entries:
        rows = []
        for user in members:
            last = done.get((user.id, entry.module_id))
            due = add_months(last, entry.every_months).date() if last else None
            rows.append(CadenceRow(user, last.date() if last else None, due, due is None or due < today))
        out.append(Cadence(entry, rows))
    return out
