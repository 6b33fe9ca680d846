"""Openings, candidates, stages, interviews with their assigned interviewers, and decisions.

Managers and admins do all of this; interviewers only read their own assignments. Every change is audited.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case, func, select
from sqlalchemy.orm import joinedload, selectinload

from kms.auth.models import User
from kms.errors import Conflict, Invalid, NotFound
from kms.extensions import db, utcnow
from kms.hiring.models import (
    Candidate,
    Decision,
    Interview,
    InterviewerAssignment,
    Opening,
    Scorecard,
    ScorecardStatus,
    Stage,
    WithdrawnInterviewer,
)
from kms.hiring.services import notices
from kms.hiring.services.access import HIDDEN, access_to, audit, record, require_hiring_access, require_lead
from kms.hiring.services.rubric import current_rubric
from kms.validate import text

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


# --- openings -------------------------------------------------------------------------------------------


def list_openings(*, actor: User, only_open: bool = False) -> list[Opening]:
    """The openings a lead hires for, open ones first; optionally only the open ones."""
    require_lead(actor)
    query = select(Opening).order_by(Opening.is_open.desc(), Opening.title)
    if only_open:
        query = query.where(Opening.is_open.is_(True))
    return list(db.session.scalars(query))


def get_opening(opening_id: int, *, actor: User) -> Opening:
    """One opening, for a lead; NotFound when there is none."""
    require_lead(actor)
    opening = db.session.get(Opening, opening_id)
    if opening is None:
        raise NotFound("No such opening.")
    return opening


def create_opening(title: str, team: str = "", *, actor: User) -> Opening:
    """Open a role to hire for."""
    require_lead(actor)
    title = text(title, "title", "Title", max_len=120)
    team = text(team, "team", "Team", max_len=80, required=False)
    opening = Opening(title=title, team=team)
    db.session.add(opening)
    db.session.flush()
    record(actor, "changed", "opening", detail=f"opened opening {opening.id}")
    db.session.flush()
    return opening


# --- candidates -----------------------------------------------------------------------------------------


def _candidate_fields(name, email, phone, source, notes) -> dict:
    email = text(email, "email", "Email", max_len=254, required=False).lower()
    if email and not EMAIL_RE.match(email):
        raise Invalid("Email does not look like an email address.", field="email")
    return {
        "name": text(name, "name", "Name", max_len=120),
        "email": email,
        "phone": text(phone, "phone", "Phone", max_len=40, required=False),
        "source": text(source, "source", "Source", max_len=80, required=False),
        "notes": text(notes, "notes", "Notes", max_len=20000, required=False),
    }


def create_candidate(
    *,
    opening_id: int,
    name: str,
    email: str = "",
    phone: str = "",
    source: str = "",
    notes: str = "",
    actor: User,
) -> Candidate:
    """Add a candidate at the 'applied' stage."""
    require_lead(actor)
    fields = _candidate_fields(name, email, phone, source, notes)
    if db.session.get(Opening, opening_id) is None:
        raise Invalid("Choose an opening.", field="opening_id")
    candidate = Candidate(opening_id=opening_id, stage=Stage.APPLIED, stage_changed_at=utcnow(), **fields)
    db.session.add(candidate)
    db.session.flush()
    record(actor, "changed", "candidate", candidate.id, "created")
    db.session.flush()
    return candidate


def update_candidate(
    candidate_id: int,
    *,
    opening_id: int,
    name: str,
    email: str = "",
    phone: str = "",
    source: str = "",
    notes: str = "",
    actor: User,
) -> Candidate:
    """A lead corrects a candidate's details or moves them to another opening."""
    require_lead(actor)
    fields = _candidate_fields(name, email, phone, source, notes)
    candidate = _lead_candidate(candidate_id)
    if db.session.get(Opening, opening_id) is None:
        raise Invalid("Choose an opening.", field="opening_id")
    for name_, value in fields.items():
        setattr(candidate, name_, value)
    candidate.opening_id = opening_id
    record(actor, "changed", "candidate", candidate.id, "details edited")
    db.session.flush()
    return candidate


def _lead_candidate(candidate_id: int) -> Candidate:
    candidate = db.session.get(Candidate, candidate_id)
    if candidate is None:
        raise NotFound(HIDDEN)
    return candidate


def set_stage(candidate_id: int, stage: str, *, actor: User) -> Candidate:
    """Move a candidate to another stage; 'hired' goes through hire_candidate, which creates the account."""
    require_lead(actor)
    try:
        stage = Stage(stage)
    except ValueError:
        raise Invalid(f"Unknown stage {stage!r}.", field="stage") from None
    if stage == Stage.HIRED:
        raise Invalid("Use 'Hire and onboard' to mark a candidate hired.", field="stage")
    candidate = _lead_candidate(candidate_id)
    if candidate.stage != stage:
        candidate.stage, candidate.stage_changed_at = stage, utcnow()
        record(actor, "changed", "candidate", candidate.id, f"stage {stage.value}")
    db.session.flush()
    return candidate


def record_decision(candidate_id: int, decision: str, reason: str, *, actor: User) -> Candidate:
    """The manager's decision with a reason. 'reject' moves the candidate to rejected (the retention clock
    starts); 'hire' moves them to offer, and hire_candidate then onboards them."""
    require_lead(actor)
    try:
        decision = Decision(decision)
    except ValueError:
        raise Invalid("Choose hire or reject.", field="decision") from None
    reason = text(reason, "reason", "Reason", max_len=5000)
    candidate = _lead_candidate(candidate_id)
    if candidate.stage == Stage.HIRED:
        raise Conflict("This candidate is already hired.")
    now = utcnow()
    candidate.decision, candidate.decision_reason = decision, reason
    candidate.decided_at, candidate.decided_by_id = now, actor.id
    candidate.stage = Stage.REJECTED if decision == Decision.REJECT else Stage.OFFER
    candidate.stage_changed_at = now
    record(actor, "changed", "decision", candidate.id, decision.value)
    db.session.flush()
    return candidate


@dataclass
class CandidatePage:
    candidate: Candidate
    sees_scores: bool
    lead: bool
    my_assignments: list[InterviewerAssignment]


def candidate_page(candidate_id: int, *, actor: User) -> CandidatePage:
    """A candidate with interviews, interviewers and scorecard states; audited as a view.
    Interviewers who are not leads get the page too, but views show them only what their role allows."""
    access = access_to(candidate_id, actor)
    audit(actor, "viewed", "candidate", candidate_id)
    candidate = db.session.scalar(
        select(Candidate)
        .options(
            joinedload(Candidate.opening),
            joinedload(Candidate.decided_by),
            selectinload(Candidate.interviews)
            .selectinload(Interview.assignments)
            .options(
                joinedload(InterviewerAssignment.interviewer), joinedload(InterviewerAssignment.scorecard)
            ),
        )
        .where(Candidate.id == candidate_id)
    )
    if candidate is None:
        raise NotFound(HIDDEN)
    mine = [a for i in candidate.interviews for a in i.assignments if a.interviewer_id == actor.id]
    return CandidatePage(
        candidate=candidate, sees_scores=access.sees_scores, lead=access.lead, my_assignments=mine
    )


# --- interviews -----------------------------------------------------------------------------------------


def schedule_interview(
    candidate_id: int,
    *,
    title: str,
    scheduled_at: datetime | None,
    interviewers: list[tuple[int, list[str]]],
    actor: User,
) -> Interview:
    """Add an interview with its interviewers, each optionally limited to some trait keys.
    Any active user may interview; a trait list that is empty means all traits."""
    require_lead(actor)
    title = text(title, "title", "Title", max_len=120)
    if scheduled_at is not None and scheduled_at.tzinfo is None:
        raise Invalid("The interview time needs a time zone.", field="scheduled_at")
    if not interviewers:
        raise Invalid("Choose at least one interviewer.", field="interviewers")
    rubric = current_rubric()
    keys = {t.key for t in rubric.traits} if rubric else set()
    candidate = _lead_candidate(candidate_id)
    if candidate.stage in (Stage.HIRED, Stage.REJECTED):
        raise Invalid("This candidate's process is closed.", field="title")
    users = {
        u.id: u
        for u in db.session.scalars(
            select(User).where(User.id.in_([uid for uid, _ in interviewers]), User.active.is_(True))
        )
    }
    interview = Interview(candidate_id=candidate.id, title=title, scheduled_at=scheduled_at)
    seen = set()
    for user_id, traits in interviewers:
        if user_id not in users:
            raise Invalid("An interviewer must be an active user.", field="interviewers")
        if user_id in seen:
            continue
        seen.add(user_id)
        unknown = set(traits) - keys
        if unknown:
            raise Invalid(f"Unknown trait: {', '.join(sorted(unknown))}.", field="interviewers")
        interview.assignments.append(
            InterviewerAssignment(
                candidate_id=candidate.id, interviewer_id=user_id, traits=sorted(traits, key=lambda k: k)
            )
        )
    if candidate.stage in (Stage.APPLIED, Stage.SCREENING):
        candidate.stage, candidate.stage_changed_at = Stage.INTERVIEWING, utcnow()
    db.session.add(interview)
    db.session.flush()
    record(
        actor,
        "changed",
        "interview",
        candidate.id,
        f"interview {interview.id} with {len(seen)} interviewer(s)",
    )
    db.session.flush()
    notices.interview_assigned(interview, actor=actor)
    return interview


def remove_assignment(assignment_id: int, *, actor: User) -> int:
    """Take an interviewer off an interview while they have not submitted; returns the candidate id.
    Leaving never opens the others' scorecards: the removal is kept (WithdrawnInterviewer), so the person stays
    blind to them until they submit a scorecard of their own. Removing yourself once others have submitted is
    refused outright."""
    require_lead(actor)
    assignment = db.session.get(InterviewerAssignment, assignment_id)
    if assignment is None:
        raise NotFound(HIDDEN)
    if assignment.scorecard is not None and assignment.scorecard.status == ScorecardStatus.SUBMITTED:
        raise Conflict("This interviewer has submitted a scorecard; it stays part of the record.")
    candidate_id = assignment.candidate_id
    if assignment.interviewer_id == actor.id and _others_submitted(candidate_id, actor.id):
        raise Conflict(
            "You cannot take yourself off this interview: other interviewers have already "
            "submitted their scorecards. Submit your own scorecard first; leaving would not show "
            "you theirs anyway."
        )
    db.session.add(
        WithdrawnInterviewer(
            candidate_id=candidate_id,
            interviewer_id=assignment.interviewer_id,
            interview_title=assignment.interview.title,
            withdrawn_by_id=actor.id,
        )
    )
    db.session.delete(assignment)
    record(
        actor,
        "changed",
        "interview",
        candidate_id,
        f"interviewer {assignment.interviewer_id} removed from interview {assignment.interview_id}",
    )
    db.session.flush()
    return candidate_id


def _others_submitted(candidate_id: int, user_id: int) -> bool:
    return (
        db.session.scalar(
            select(func.count(Scorecard.id)).where(
                Scorecard.candidate_id == candidate_id,
                Scorecard.interviewer_id != user_id,
                Scorecard.status == ScorecardStatus.SUBMITTED,
            )
        )
        > 0
    )


# --- lists ----------------------------------------------------------------------------------------------


@dataclass
class BoardRow:
    candidate: Candidate
    opening_title: str
    interviewers: int
    submitted: int


def board(*, actor: User, opening_id: int | None = None) -> dict[Stage, list[BoardRow]]:
    """Candidates grouped by stage with interview progress (two queries); audited as a view."""
    require_lead(actor)
    audit(actor, "viewed", "board")
    query = select(Candidate).options(joinedload(Candidate.opening)).order_by(Candidate.created_at.desc())
    if opening_id:
        query = query.where(Candidate.opening_id == opening_id)
    candidates = list(db.session.scalars(query))
    counts = {
        cid: (total, done)
        for cid, total, done in db.session.execute(
            select(
                InterviewerAssignment.candidate_id,
                func.count(InterviewerAssignment.id),
                func.sum(case((Scorecard.status == ScorecardStatus.SUBMITTED, 1), else_=0)),
            )
            .outerjoin(Scorecard, Scorecard.assignment_id == InterviewerAssignment.id)
            .group_by(InterviewerAssignment.candidate_id)
        )
    }
    grouped: dict[Stage, list[BoardRow]] = {stage: [] for stage in Stage}
    for candidate in candidates:
        total, done = counts.get(candidate.id, (0, 0))
        grouped[candidate.stage].append(BoardRow(candidate, candidate.opening.title, total, int(done or 0)))
    return grouped


@dataclass
class MyInterview:
    assignment: InterviewerAssignment
    candidate_id: int
    candidate_name: str
    opening_title: str
    interview_title: str
    scheduled_at: datetime | None
    status: str  # "to do", "draft", "submitted"


def my_interviews(*, actor: User) -> list[MyInterview]:
    """The actor's own assignments, newest first, with their scorecard state (one query)."""
    require_hiring_access(actor)
    rows = db.session.execute(
        select(
            InterviewerAssignment,
            Candidate.name,
            Opening.title,
            Interview.title,
            Interview.scheduled_at,
            Scorecard.status,
        )
        .join(Interview, Interview.id == InterviewerAssignment.interview_id)
        .join(Candidate, Candidate.id == InterviewerAssignment.candidate_id)
        .join(Opening, Opening.id == Candidate.opening_id)
        .outerjoin(Scorecard, Scorecard.assignment_id == InterviewerAssignment.id)
        .where(InterviewerAssignment.interviewer_id == actor.id)
        .order_by(Interview.scheduled_at.desc().nulls_last(), InterviewerAssignment.id.desc())
    ).all()
    return [
        MyInterview(
            a, a.candidate_id, name, opening, title, when, "to do" if status is None else status.value
        )
        for a, name, opening, title, when, status in rows
    ]


def interviewer_choices() -> list[User]:
    """Active users who may be assigned as interviewers (anyone)."""
    return list(db.session.scalars(select(User).where(User.active.is_(True)).order_by(User.name)))
