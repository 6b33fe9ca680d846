"""Who may see what in hiring, and the audit log of who viewed, changed or exported hiring data.

The rule in one place: admins and managers see every candidate; an interviewer sees only the candidates they are
assigned to; nobody else learns that a candidate exists (NotFound, with a message that names nothing).
Scores are independent: anyone with an unsubmitted scorecard for a candidate (whatever their role) sees no
other scorecard, score, note or aggregate for that candidate until theirs is submitted. Being taken off the
interview does not change that: whoever was ever assigned to a candidate and has not submitted a scorecard for
them stays blind to the others' (`blind_to` is that rule, used by every page, API and export).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import bindparam, exists, select, union
from sqlalchemy.orm import joinedload

from kms.auth.models import Role, User
from kms.auth.system import SystemActor
from kms.errors import Forbidden, NotFound
from kms.extensions import db
from kms.hiring.models import (
    AuditEntry,
    Candidate,
    InterviewerAssignment,
    Scorecard,
    ScorecardStatus,
    WithdrawnInterviewer,
)

LEADS = frozenset({Role.ADMIN, Role.MANAGER})
HIDDEN = "Not found."  # the same words for "does not exist" and "not yours": existence stays secret


def is_lead(user: User | None) -> bool:
    """Whether this person manages hiring (managers and admins)."""
    return user is not None and user.role in LEADS


# Asked on every page a non-lead opens (the Hiring menu): built once, run as a plain statement.
_HAS_ASSIGNMENT = select(
    exists().where(InterviewerAssignment.__table__.c.interviewer_id == bindparam("user"))
)


def is_interviewer(user_id: int) -> bool:
    """True when the user has any interview assignment (the Hiring menu shows for them)."""
    return bool(db.session.execute(_HAS_ASSIGNMENT, {"user": user_id}).scalar())


def require_lead(actor: User) -> None:
    """Refuse anyone but a manager or admin (Forbidden)."""
    if not is_lead(actor):
        raise Forbidden("Only managers and admins manage hiring.")


def require_hiring_access(actor: User) -> None:
    """Leads and people with an interview assignment may open hiring pages that name no candidate;
    anyone else gets NotFound."""
    if not (is_lead(actor) or is_interviewer(actor.id)):
        raise NotFound(HIDDEN)  # not even the existence of hiring pages is confirmed


@dataclass(frozen=True)
class Access:
    """What one user may see about one candidate."""

    lead: bool
    assigned: bool
    pending: bool  # ever assigned and still to submit: sees none of the others' scorecards
    withdrawn: bool = False  # was taken off an interview before submitting

    @property
    def sees_scores(self) -> bool:
        return (self.lead or self.assigned) and not self.pending


def blind_to(actor_id: int, candidate_ids) -> set[int]:
    """Of the given candidates (ids, or a select of ids), those whose other scorecards the actor may not see:
    they have an assignment whose scorecard is not submitted, or they were taken off an interview and have
    submitted no scorecard for the candidate since (one query)."""
    submitted_by_actor = select(Scorecard.candidate_id).where(
        Scorecard.interviewer_id == actor_id, Scorecard.status == ScorecardStatus.SUBMITTED
    )
    open_assignments = (
        select(InterviewerAssignment.candidate_id)
        .outerjoin(Scorecard, Scorecard.assignment_id == InterviewerAssignment.id)
        .where(
            InterviewerAssignment.interviewer_id == actor_id,
            InterviewerAssignment.candidate_id.in_(candidate_ids),
            Scorecard.id.is_(None) | (Scorecard.status != ScorecardStatus.SUBMITTED),
        )
    )
    withdrawn = select(WithdrawnInterviewer.candidate_id).where(
        WithdrawnInterviewer.interviewer_id == actor_id,
        WithdrawnInterviewer.candidate_id.in_(candidate_ids),
        WithdrawnInterviewer.candidate_id.not_in(submitted_by_actor),
    )
    return set(db.session.scalars(union(open_assignments, withdrawn)))


def access_to(candidate_id: int, actor: User) -> Access:
    """The actor's access to a candidate, or NotFound when they may not know it exists (two queries)."""
    withdrawn = exists().where(
        WithdrawnInterviewer.candidate_id == Candidate.id, WithdrawnInterviewer.interviewer_id == actor.id
    )
    rows = db.session.execute(
        select(Candidate.id, InterviewerAssignment.id, withdrawn)
        .select_from(Candidate)
        .outerjoin(
            InterviewerAssignment,
            (InterviewerAssignment.candidate_id == Candidate.id)
            & (InterviewerAssignment.interviewer_id == actor.id),
        )
        .where(Candidate.id == candidate_id)
    ).all()
    assigned = any(row[1] is not None for row in rows)
    lead = is_lead(actor)
    if not rows or not (lead or assigned):
        raise NotFound(HIDDEN)
    pending = candidate_id in blind_to(actor.id, [candidate_id])
    return Access(lead=lead, assigned=assigned, pending=pending, withdrawn=bool(rows[0][2]))


def record(
    actor: User | SystemActor, action: str, subject: str, candidate_id: int | None = None, detail: str = ""
) -> None:
    """Add an audit entry to the caller's unit of work (the system actor is stored as no person)."""
    db.session.add(
        AuditEntry(
            actor_id=actor.id if actor else None,
            action=action,
            subject=subject,
            candidate_id=candidate_id,
            detail=detail[:300],
        )
    )


def audit(
    actor: User | SystemActor, action: str, subject: str, candidate_id: int | None = None, detail: str = ""
) -> None:
    """Record that someone viewed or exported hiring data, in the caller's unit of work (flushed at once)."""
    record(actor, action, subject, candidate_id, detail)
    db.session.flush()


def list_audit(*, actor: User, limit: int = 300) -> list[AuditEntry]:
    """The newest audit entries, for admins."""
    if actor.role != Role.ADMIN:
        raise Forbidden("Only admins read the hiring audit log.")
    audit(actor, "viewed", "audit log")
    return list(
        db.session.scalars(
            select(AuditEntry)
            .options(joinedload(AuditEntry.actor))
            .order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
            .limit(limit)
        )
    )
