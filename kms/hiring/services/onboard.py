"""Hire to onboard: mark a candidate hired, create their kms account (invite link) with a start date, assign
the onboarding path and suggest modules for traits that scored below 3. The interview summary carries over
to a page only leads (the new hire's manager) can open; the new hire never sees it.

Paths and module suggestions come from kms.training's services (hiring -> training is the allowed direction).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import func, select

from kms.auth import services as auth_services
from kms.auth.models import User
from kms.errors import Conflict, Invalid, KmsError, NotFound
from kms.extensions import db, utcnow
from kms.hiring.models import (
    Candidate,
    Decision,
    InterviewerAssignment,
    Recommendation,
    Scorecard,
    ScorecardStatus,
    Stage,
)
from kms.hiring.services import notices
from kms.hiring.services.access import HIDDEN, access_to, audit, record, require_lead
from kms.hiring.services.debrief import Aggregate, Debrief, debrief, submitted_aggregate
from kms.training import services as training_services

SUGGEST_BELOW = 3
LEANS_NO_MEAN = 2.5  # the middle of the 1-4 scale: an average below it is more "no" than "yes"
NO_SIDE = (Recommendation.STRONG_NO, Recommendation.NO)
YES_SIDE = (Recommendation.YES, Recommendation.STRONG_YES)
# Words that say nothing about which role a path is for.
FILLER = frozenset(
    {
        "a",
        "an",
        "and",
        "the",
        "of",
        "for",
        "in",
        "on",
        "to",
        "with",
        "first",
        "day",
        "days",
        "week",
        "weeks",
        "month",
        "new",
        "hire",
        "hires",
        "onboarding",
        "path",
        "team",
        "role",
    }
)


def onboarding_paths() -> list[tuple[int, str]]:
    """(id, title) of the training paths a new hire can be assigned."""
    return [(path.id, path.title) for path in training_services.list_paths()]


def _words(value: str) -> set[str]:
    return {w for w in re.findall(r"\w+", value.casefold()) if w not in FILLER and not w.isdigit()}


def _role_terms(title: str) -> tuple[set[str], set[str]]:
    """A role title's words and its initials: 'Customer Success Manager' -> {customer, success, manager}, {csm}."""
    words = [w for w in re.findall(r"\w+", title.casefold()) if w not in FILLER and not w.isdigit()]
    initials = "".join(w[0] for w in words)
    return set(words), ({initials} if len(initials) >= 2 else set())


def path_for_opening(title: str, team: str, paths: list) -> int | None:
    """The id of the onboarding path that best fits an opening, or None when no path mentions its role or team.
    A role word or the role's initials in a path's title or slug counts 2, a role word in its summary 1 (initials
    there would match any short word), the team 1. Ties go to the first path by title."""
    (role, initials), team_words = _role_terms(title), _words(team)
    best, best_score = None, 0
    for path in paths:
        named = set().union(*_role_terms(path.title)) | _words(path.slug.replace("-", " "))
        described = _words(path.summary or "")
        score = (
            2 * len((role | initials) & named) + len(role & described) + len(team_words & (named | described))
        )
        if score > best_score:
            best, best_score = path.id, score
    return best


def suggested_path(candidate_id: int, *, actor: User) -> int | None:
    """The onboarding path to pre-select when hiring a candidate: the one matching their opening's role/team."""
    require_lead(actor)
    candidate = db.session.get(Candidate, candidate_id)
    if candidate is None:
        raise NotFound(HIDDEN)
    return path_for_opening(candidate.opening.title, candidate.opening.team, training_services.list_paths())


def suggested_modules(trait_keys: list[str]) -> list[dict]:
    """Training modules tagged with the given traits, as {title, slug}."""
    if not trait_keys:
        return []
    return [
        {"title": module.title, "slug": module.slug}
        for module in training_services.modules_tagged(trait_keys)
    ]


def weak_traits(result: Debrief) -> list[str]:
    """The traits a debrief scored below 3 on average, to suggest training for the new hire."""
    if result.aggregate is None:
        return []
    return [t.key for t in result.aggregate.traits if t.mean is not None and t.mean < SUGGEST_BELOW]


@dataclass
class HireResult:
    candidate_id: int
    user: User | None
    invite_token: str | None
    path_assigned: str | None = None
    notes: list[str] = field(default_factory=list)
    suggestions: list[dict] = field(default_factory=list)


@dataclass
class HireCheck:
    """What a manager should know before hiring: scorecards in, and whether the debrief leans the other way."""

    submitted: int
    expected: int
    blind: bool  # the actor has not submitted their own scorecard
    leans_no: list[str] = field(default_factory=list)  # why the debrief leans no (empty when blind)

    @property
    def progress(self) -> str:
        return f"{self.submitted} of {self.expected} scorecard{'' if self.expected == 1 else 's'} submitted"

    @property
    def warnings(self) -> list[str]:
        found = []
        if self.expected == 0:
            found.append("Nobody has interviewed this candidate: there are no scorecards.")
        elif self.submitted < self.expected:
            found.append(f"Only {self.progress}.")
        if self.blind:
            found.append(
                "You have not submitted your own scorecard for this candidate, so you have not seen "
                "the debrief."
            )
        if self.leans_no:
            found.append("The debrief leans no: " + "; ".join(self.leans_no) + ".")
        return found

    @property
    def needs_confirmation(self) -> bool:
        return bool(self.warnings)


def _leans_no(result: Aggregate) -> list[str]:
    reasons = []
    no, yes = (sum(result.tally[r] for r in side) for side in (NO_SIDE, YES_SIDE))
    if no > yes:
        reasons.append(f"{no} of {no + yes} recommendation{'' if no + yes == 1 else 's'} say no")
    ratings = [rating for trait in result.traits for rating in trait.ratings]
    if ratings and sum(ratings) / len(ratings) < LEANS_NO_MEAN:
        reasons.append(f"the average rating is {sum(ratings) / len(ratings):.2f} of 4")
    reasons += [
        f"{t.name} averages {t.mean:.2f}, below 2 (can't be taught)"
        for t in result.traits
        if t.cant_be_taught
    ]
    return reasons


def hire_check(candidate_id: int, *, actor: User) -> HireCheck:
    """Scorecards submitted against those expected, and the reasons the debrief leans no. For someone who may
    not see the scores yet (their own scorecard is open) only the counts: the lean would give the scores away."""
    require_lead(actor)
    blind = access_to(candidate_id, actor).pending
    expected, submitted = db.session.execute(
        select(
            func.count(InterviewerAssignment.id),
            func.count(Scorecard.id).filter(Scorecard.status == ScorecardStatus.SUBMITTED),
        )
        .outerjoin(Scorecard, Scorecard.assignment_id == InterviewerAssignment.id)
        .where(InterviewerAssignment.candidate_id == candidate_id)
    ).one()
    leans = [] if blind or not submitted else _leans_no(submitted_aggregate(candidate_id))
    return HireCheck(submitted, expected, blind, leans)


def _check_hireable(candidate: Candidate) -> None:
    if candidate.stage == Stage.HIRED:
        raise Conflict("This candidate is already hired.")
    if candidate.stage == Stage.REJECTED:
        raise Conflict("This candidate was rejected; record a new decision first.")


def hire_candidate(
    candidate_id: int,
    *,
    email: str,
    start_date: date | None,
    time_zone: str = "UTC",
    path_id: int | None = None,
    create_account: bool = True,
    invite_hours: int = 72,
    confirmed: bool = False,
    actor: User,
) -> HireResult:
    """A lead hires the candidate: in the caller's one transaction, create their member account with an invite
    link and start date (auth's service for a lead creating the account of the person they hire), mark the
    candidate hired, then assign the onboarding path (training's service). Any failure leaves nothing behind;
    only a path that training refuses (a KmsError) is reported instead, its own partial work undone. While
    scorecards are missing or the debrief leans no (see hire_check), the hire needs `confirmed`."""
    require_lead(actor)
    # Locked for the rest of the transaction (PostgreSQL; SQLite holds the write lock): two clicks never hire twice.
    candidate = db.session.get(Candidate, candidate_id, with_for_update=True)
    if candidate is None:
        raise NotFound(HIDDEN)
    _check_hireable(candidate)
    errors = {}
    if create_account and start_date is None:
        errors["start_date"] = "Choose the start date."
    check = hire_check(candidate_id, actor=actor)
    if check.needs_confirmation and not confirmed:
        errors["confirm"] = "Tick the box to hire anyway: " + " ".join(check.warnings)
    if errors:
        raise Invalid(" ".join(errors.values()), field=next(iter(errors)), errors=errors)
    name, team = candidate.name, candidate.opening.team
    user, token = None, None
    if create_account:
        user, token = auth_services.create_hired_account(
            email,
            name,
            actor=actor,
            team=team,
            start_date=start_date,
            time_zone=time_zone,
            invite_hours=invite_hours,
        )
    _mark_hired(candidate, user, actor=actor)
    notices.hire_started(candidate, user, start_date, actor=actor)
    result = HireResult(candidate_id, user, token)
    if user is not None and path_id:
        _assign_first_path(result, user, path_id, actor=actor)
    result.suggestions = suggested_modules(weak_traits(debrief(candidate_id, actor=actor)))
    return result


def _mark_hired(candidate: Candidate, user: User | None, *, actor: User) -> None:
    now = utcnow()
    candidate.stage, candidate.stage_changed_at = Stage.HIRED, now
    if candidate.decision != Decision.HIRE:
        candidate.decision, candidate.decided_at, candidate.decided_by_id = Decision.HIRE, now, actor.id
        candidate.decision_reason = candidate.decision_reason or "Hired"
    candidate.hired_user_id = user.id if user else None
    record(actor, "changed", "candidate", candidate.id, "hired" + (f", account {user.id}" if user else ""))
    db.session.flush()


def _assign_first_path(result: HireResult, user: User, path_id: int, *, actor: User) -> None:
    # A savepoint: a path training refuses is reported and its partial work undone; the hire itself stands.
    try:
        with db.session.begin_nested():
            training_services.assign_path(user.id, path_id, actor=actor)
    except KmsError as error:
        result.notes.append(f"The account is created, but the path was not assigned: {error.message}")
    else:
        result.path_assigned = dict(onboarding_paths()).get(path_id, str(path_id))


@dataclass
class NewHireSummary:
    user: User
    debrief: Debrief
    suggestions: list[dict]


def new_hire_summary(user_id: int, *, actor: User) -> NewHireSummary:
    """What the interviews learned about a hire, for their manager: trait means and every interviewer's
    evidence, plus suggested modules. Leads only; the new hire cannot open it."""
    require_lead(actor)
    user = db.session.get(User, user_id)
    candidate_id = db.session.scalar(
        select(Candidate.id).where(Candidate.hired_user_id == user_id).order_by(Candidate.id.desc()).limit(1)
    )
    if user is None or candidate_id is None:
        raise NotFound("No interview record for this person.")
    audit(actor, "viewed", "new hire summary", candidate_id)
    result = debrief(candidate_id, actor=actor)
    return NewHireSummary(user, result, suggested_modules(weak_traits(result)))


def hired_users_with_summaries(*, actor: User) -> list[tuple[int, str, str]]:
    """(user id, user name, start date) for hires that have an interview summary; leads only."""
    require_lead(actor)
    rows = db.session.execute(
        select(User.id, User.name, User.start_date)
        .join(Candidate, Candidate.hired_user_id == User.id)
        .order_by(User.start_date.desc().nulls_last())
    ).all()
    return [(uid, name, start.isoformat() if start else "") for uid, name, start in rows]
