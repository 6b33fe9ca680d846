"""Who may see what in hiring, and the audit log of who viewed, changed or exported hiring data.

The rule in one place: admins and managers see every candidate; an interviewer sees only the candidates they are
assigned to; nobody else learns that a candidate exists (NotFound, with a message that names nothing).
Scores are independent: anyone with an unsubmitted scorecard for a candidate (whatever their role) sees no
other scorecard, score, note or aggregate for that candidate until theirs is submitted.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import bindparam, exists, select
from sqlalchemy.orm import joinedload

from kms.auth.models import Role, User
from kms.errors import Forbidden, NotFound
from kms.extensions import db, writing
from kms.hiring.models import InterviewerAssignment, AuditEntry, Candidate, Scorecard, ScorecardStatus

LEADS = frozenset({Role.ADMIN, Role.MANAGER})
HIDDEN = "Not found."          # the same words for "does not exist" and "not yours": existence stays secret


def is_lead(user: User | None) -> bool:
    return user is not None and user.role in LEADS


# Asked on every page a non-lead opens (the Hiring menu): built once, run as a plain statement.
_HAS_ASSIGNMENT = select(exists().where(InterviewerAssignment.__table__.c.interviewer_id == bindparam("user")))


def is_interviewer(user_id: int) -> bool:
    """True when the user has any interview assignment (the Hiring menu shows for them)."""
    return bool(db.session.execute(_HAS_ASSIGNMENT, {"user": user_id}).scalar())


def require_lead(actor: User) -> None:
    if not is_lead(actor):
        raise Forbidden("Only managers and admins manage hiring.")


def require_hiring_access(actor: User) -> None:
    """Leads and people with an interview assignment may open hiring pages that name no candidate;
    anyone else gets NotFound."""
    if not (is_lead(actor) or is_interviewer(actor.id)):
        raise NotFound(HIDDEN)   # not even the existence of hiring pages is confirmed


@dataclass(frozen=True)
class Access:
    """What one user may see about one candidate."""

    lead: bool
    assigned: bool
    pending: bool          # has an assignment whose scorecard is not submitted yet

    @property
    def sees_scores(self) -> bool:
        return (self.lead or self.assigned) and not self.pending


def access_to(candidate_id: int, actor: User) -> Access:
    """The actor's access to a candidate, or NotFound when they may not know it exists (one query)."""
    rows = db.session.execute(
        select(Candidate.id, InterviewerAssignment.id, Scorecard.status)
        .select_from(Candidate)
        .outerjoin(InterviewerAssignment, (InterviewerAssignment.candidate_id == Candidate.id) & (InterviewerAssignment.interviewer_id == actor.id))
        .outerjoin(Scorecard, Scorecard.assignment_id == InterviewerAssignment.id)
        .where(Candidate.id == candidate_id)).all()
    assigned = [row for row in rows if row[1] is not None]
    lead = is_lead(actor)
    if not rows or not (lead or assigned):
        raise NotFound(HIDDEN)
    pending = any(status != ScorecardStatus.SUBMITTED for _, _, status in assigned)
    return Access(lead=lead, assigned=bool(assigned), pending=pending)


def record(actor: User | None, action: str, subject: str, candidate_id: int | None = None,
           detail: str = "") -> None:
    """Add an audit entry to the current unit of work (the caller commits)."""
    db.session.add(AuditEntry(actor_id=actor.id if actor else None, action=action, subject=subject,
                              candidate_id=candidate_id, detail=detail[:300]))


def audit(actor: User | None, action: str, subject: str, candidate_id: int | None = None,
          detail: str = "") -> None:
    """Record one audit entry in its own transaction (used for views and exports); commits."""
    with writing():
        record(actor, action, subject, candidate_id, detail)
        db.session.commit()


def list_audit(*, actor: User, limit: int = 300) -> list[AuditEntry]:
    """The newest audit entries, for admins."""
    if actor.role != Role.ADMIN:
        raise Forbidden("Only admins read the hiring audit log.")
    audit(actor, "viewed", "audit log")
    return list(db.session.scalars(select(AuditEntry).options(joinedload(AuditEntry.actor))
                                   .order_by(AuditEntry.at.desc(), AuditEntry.id.desc()).limit(limit)))
