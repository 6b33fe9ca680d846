"""Privacy: delete a candidate, purge rejected candidates after a retention period, export one candidate.

Deleting removes the candidate row and, through ON DELETE CASCADE, every interview, interviewer assignment,
scorecard, rating and scorecard revision about them. No aggregate is kept, not even an anonymous one: with a
small team, "a candidate for CSM in March scored 1.5 on positivity" identifies the person. The audit log keeps
only numeric ids and what was done (never a name), so it still shows who viewed, changed, exported or deleted.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import joinedload, selectinload

from kms.auth.models import User
from kms.auth.system import PURGE_CANDIDATES, SystemActor, require_system
from kms.errors import Conflict, Invalid, NotFound
from kms.extensions import db, utcnow
from kms.hiring.models import (
    AuditEntry,
    Candidate,
    Interview,
    InterviewerAssignment,
    Rating,
    Scorecard,
    ScorecardRevision,
    Stage,
    WithdrawnInterviewer,
)
from kms.hiring.services.access import HIDDEN, access_to, audit, record, require_lead


def _forget(candidate_ids: list[int]) -> None:
    """The database cascades the delete; drop the session's copies of those rows (and only those), so nothing
    stale is flushed or served afterwards."""
    owned = {
        Candidate: select(Candidate.id).where(Candidate.id.in_(candidate_ids)),
        Interview: select(Interview.id).where(Interview.candidate_id.in_(candidate_ids)),
        InterviewerAssignment: select(InterviewerAssignment.id).where(
            InterviewerAssignment.candidate_id.in_(candidate_ids)
        ),
        Scorecard: select(Scorecard.id).where(Scorecard.candidate_id.in_(candidate_ids)),
        Rating: select(Rating.id).join(Scorecard).where(Scorecard.candidate_id.in_(candidate_ids)),
        ScorecardRevision: select(ScorecardRevision.id)
        .join(Scorecard)
        .where(Scorecard.candidate_id.in_(candidate_ids)),
        WithdrawnInterviewer: select(WithdrawnInterviewer.id).where(
            WithdrawnInterviewer.candidate_id.in_(candidate_ids)
        ),
    }
    session = db.session()
    doomed = {(model, (pk,)) for model, query in owned.items() for pk in session.scalars(query)}
    for key, obj in list(session.identity_map.items()):
        if (key[0], key[1]) in doomed:
            session.expunge(obj)


def delete_candidate(candidate_id: int, *, actor: User) -> None:
    """A lead removes a candidate's personal data and scorecards for good."""
    require_lead(actor)
    if db.session.get(Candidate, candidate_id) is None:
        raise NotFound(HIDDEN)
    _forget([candidate_id])
    db.session.execute(
        delete(Candidate).where(Candidate.id == candidate_id).execution_options(synchronize_session=False)
    )
    record(actor, "deleted", "candidate", candidate_id, "personal data and scorecards removed")
    db.session.flush()


def purge_rejected(days: int, *, actor: SystemActor, now: datetime | None = None) -> int:
    """The system's retention job (cron): delete candidates rejected more than `days` days ago, with everything
    about them; returns how many. It only ever touches rejected candidates past the retention period."""
    require_system(actor, PURGE_CANDIDATES)
    if days < 0:
        raise Invalid("Days must be zero or more.", field="days")
    cutoff = (now or utcnow()) - timedelta(days=days)
    ids = list(
        db.session.scalars(
            select(Candidate.id).where(Candidate.stage == Stage.REJECTED, Candidate.stage_changed_at < cutoff)
        )
    )
    if ids:
        _forget(ids)
        db.session.execute(
            delete(Candidate).where(Candidate.id.in_(ids)).execution_options(synchronize_session=False)
        )
        for candidate_id in ids:
            record(actor, "purged", "candidate", candidate_id, f"rejected more than {days} days ago")
    db.session.flush()
    return len(ids)


def export_candidate(candidate_id: int, *, actor: User) -> dict:
    """Everything kms holds about one candidate, as plain JSON-ready data (for a data-subject request);
    leads only; audited as an export."""
    require_lead(actor)
    if access_to(candidate_id, actor).pending:
        # The export holds every scorecard: a lead who was ever assigned sees them only after their own.
        raise Conflict(
            "You were assigned to interview this candidate and have not submitted a scorecard: "
            "submit your own scorecard before exporting their data (the export holds every "
            "scorecard), or ask another manager or an admin to export it."
        )
    audit(actor, "exported", "candidate", candidate_id, "JSON export")
    candidate = db.session.scalar(
        select(Candidate)
        .options(
            joinedload(Candidate.opening),
            selectinload(Candidate.interviews)
            .selectinload(Interview.assignments)
            .options(
                joinedload(InterviewerAssignment.interviewer),
                joinedload(InterviewerAssignment.scorecard).options(
                    selectinload(Scorecard.ratings),
                    selectinload(Scorecard.revisions).joinedload(ScorecardRevision.created_by),
                    joinedload(Scorecard.rubric_version),
                ),
            ),
        )
        .where(Candidate.id == candidate_id)
    )
    withdrawals = db.session.scalars(
        select(WithdrawnInterviewer)
        .options(joinedload(WithdrawnInterviewer.interviewer))
        .where(WithdrawnInterviewer.candidate_id == candidate_id)
        .order_by(WithdrawnInterviewer.id)
    )
    entries = db.session.scalars(
        select(AuditEntry)
        .options(joinedload(AuditEntry.actor))
        .where(AuditEntry.candidate_id == candidate_id)
        .order_by(AuditEntry.id)
    )

    def when(value):
        return value.isoformat() if value else None

    interviews = []
    for interview in candidate.interviews:
        people = []
        for a in interview.assignments:
            card = a.scorecard
            people.append(
                {
                    "interviewer": {"name": a.interviewer.name, "email": a.interviewer.email},
                    "traits": list(a.traits) or "all",
                    "scorecard": None
                    if card is None
                    else {
                        "status": card.status.value,
                        "rubric_version": card.rubric_version.number,
                        "recommendation": card.recommendation.value if card.recommendation else None,
                        "summary": card.summary,
                        "submitted_at": when(card.submitted_at),
                        "ratings": [
                            {
                                "trait": r.trait_key,
                                "rating": r.rating,
                                "question": r.question,
                                "evidence": r.evidence,
                                "red_flags": list(r.red_flags),
                            }
                            for r in sorted(card.ratings, key=lambda r: r.trait_key)
                        ],
                        "revisions": [
                            {
                                "number": v.number,
                                "at": when(v.created_at),
                                "reason": v.reason,
                                "by": v.created_by.name if v.created_by else None,
                                "snapshot": v.snapshot,
                            }
                            for v in card.revisions
                        ],
                    },
                }
            )
        interviews.append(
            {"title": interview.title, "scheduled_at": when(interview.scheduled_at), "interviewers": people}
        )
    return {
        "candidate": {
            "id": candidate.id,
            "name": candidate.name,
            "email": candidate.email,
            "phone": candidate.phone,
            "source": candidate.source,
            "notes": candidate.notes,
            "stage": candidate.stage.value,
            "stage_changed_at": when(candidate.stage_changed_at),
            "created_at": when(candidate.created_at),
        },
        "opening": {"title": candidate.opening.title, "team": candidate.opening.team},
        "decision": {
            "decision": candidate.decision.value if candidate.decision else None,
            "reason": candidate.decision_reason,
            "at": when(candidate.decided_at),
        },
        "interviews": interviews,
        "removed_interviewers": [
            {"name": w.interviewer.name, "interview": w.interview_title, "at": when(w.withdrawn_at)}
            for w in withdrawals
        ],
        "access_log": [
            {
                "at": when(e.at),
                "who": e.actor.name if e.actor else "system",
                "action": e.action,
                "what": e.subject,
            }
            for e in entries
        ],
        "exported_at": utcnow().isoformat(),
    }
