"""Hire to onboard: mark a candidate hired, create their kms account (invite link) with a start date, assign
the onboarding path and suggest modules for traits that scored below 3. The interview summary carries over
to a page only leads (the new hire's manager) can open; the new hire never sees it.

Paths and module suggestions come from kms.training's services (hiring -> training is the allowed direction).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import select

from kms.auth import services as auth_services
from kms.auth.models import Role, User
from kms.errors import Conflict, Invalid, KmsError, NotFound
from kms.extensions import db, utcnow, writing
from kms.hiring.models import Candidate, Decision, Stage
from kms.hiring.services.access import HIDDEN, audit, record, require_lead
from kms.hiring.services.debrief import Debrief, debrief
from kms.training import services as training_services

SUGGEST_BELOW = 3




def onboarding_paths() -> list[tuple[int, str]]:
    """(id, title) of the training paths a new hire can be assigned."""
    return [(path.id, path.title) for path in training_services.list_paths()]


def suggested_modules(trait_keys: list[str]) -> list[dict]:
    """Training modules tagged with the given traits, as {title, slug}."""
    if not trait_keys:
        return []
    return [{"title": module.title, "slug": module.slug} for module in training_services.modules_tagged(trait_keys)]


def weak_traits(result: Debrief) -> list[str]:
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


def _check_hireable(candidate: Candidate) -> None:
    if candidate.stage == Stage.HIRED:
        raise Conflict("This candidate is already hired.")
    if candidate.stage == Stage.REJECTED:
        raise Conflict("This candidate was rejected; record a new decision first.")


def hire_candidate(candidate_id: int, *, email: str, start_date: date | None, time_zone: str = "UTC",
                   path_id: int | None = None, create_account: bool = True, invite_hours: int = 72,
                   actor: User) -> HireResult:
    """Mark the candidate hired and, in the same step, create their member account with an invite link and
    start date (a lead may create the account of the person they hire), then assign the onboarding path.
    The account is created first (auth's transaction), then the stage change commits; the path is assigned
    last by training's service, and a path that cannot be assigned is reported, not fatal."""
    require_lead(actor)
    if create_account and start_date is None:
        raise Invalid("Choose the start date.", field="start_date")
    candidate = db.session.get(Candidate, candidate_id)
    if candidate is None:
        raise NotFound(HIDDEN)
    _check_hireable(candidate)
    name, team = candidate.name, candidate.opening.team
    user, token = None, None
    if create_account:
        # auth's own transaction; hiring's checks above stand in for its admin check.
        user, token = auth_services.create_user(email, name, Role.MEMBER, actor=None, team=team,
                                                start_date=start_date, time_zone=time_zone,
                                                invite_hours=invite_hours)
    with writing():
        candidate = db.session.get(Candidate, candidate_id)
        if candidate is None:
            raise NotFound(HIDDEN)
        _check_hireable(candidate)   # again inside the write lock: two clicks never hire twice
        now = utcnow()
        candidate.stage, candidate.stage_changed_at = Stage.HIRED, now
        if candidate.decision != Decision.HIRE:
            candidate.decision, candidate.decided_at, candidate.decided_by_id = Decision.HIRE, now, actor.id
            candidate.decision_reason = candidate.decision_reason or "Hired"
        candidate.hired_user_id = user.id if user else None
        record(actor, "changed", "candidate", candidate_id, "hired" + (f", account {user.id}" if user else ""))
        db.session.commit()
    result = HireResult(candidate_id, user, token)
    if user is not None and path_id:
        try:
            training_services.assign_path(user.id, path_id, actor=actor)
            result.path_assigned = dict(onboarding_paths()).get(path_id, str(path_id))
        except KmsError as error:
            result.notes.append(f"The account is created, but the path was not assigned: {error.message}")
    result.suggestions = suggested_modules(weak_traits(debrief(candidate_id, actor=actor)))
    return result


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
    candidate_id = db.session.scalar(select(Candidate.id).where(Candidate.hired_user_id == user_id)
                                     .order_by(Candidate.id.desc()).limit(1))
    if user is None or candidate_id is None:
        raise NotFound("No interview record for this person.")
    audit(actor, "viewed", "new hire summary", candidate_id)
    result = debrief(candidate_id, actor=actor)
    return NewHireSummary(user, result, suggested_modules(weak_traits(result)))


def hired_users_with_summaries(*, actor: User) -> list[tuple[int, str, str]]:
    """(user id, user name, start date) for hires that have an interview summary; leads only."""
    require_lead(actor)
    rows = db.session.execute(select(User.id, User.name, User.start_date)
                              .join(Candidate, Candidate.hired_user_id == User.id)
                              .order_by(User.start_date.desc().nulls_last())).all()
    return [(uid, name, start.isoformat() if start else "") for uid, name, start in rows]
