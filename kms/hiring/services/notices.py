"""What hiring tells people: an interview assigned to an interviewer, a reminder a day after the interview while
their scorecard is not submitted, and the "hire.started" event for the team's channels.

Blind scoring holds here too: a notice goes to one interviewer about their own assignment and names only what
that interviewer may open anyway (the candidate's name, the opening, the interview and its time). It never names
the other interviewers, says whether they have submitted, or carries a score, note or contact detail.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import select

from kms.auth.models import User
from kms.extensions import db
from kms.hiring.models import (
    Candidate,
    Interview,
    InterviewerAssignment,
    Opening,
    Scorecard,
    ScorecardStatus,
    Stage,
)
from kms.notify.services import announce, notify
from kms.timezones import local_label

REMIND_AFTER = timedelta(hours=24)  # after the interview's time, while the scorecard is not submitted
REMIND_WITHIN = timedelta(days=14)  # interviews older than this get no reminder (a late start of the worker)


def _when(moment: datetime | None, person: User) -> str:
    return local_label(moment, person.time_zone) if moment else "time not set"


def interview_assigned(interview: Interview, *, actor) -> int:
    """Tell each interviewer of a new interview about their own assignment (not the lead who scheduled it)."""
    candidate = interview.candidate
    sent = 0
    for assignment in interview.assignments:
        person = assignment.interviewer
        if person.id == getattr(actor, "id", None):
            continue
        traits = ", ".join(assignment.traits) if assignment.traits else "all traits"
        sent += notify(
            [person],
            "interview.assigned",
            title=f"Interview assigned: {candidate.name} — {interview.title}",
            body=f"Opening: {candidate.opening.title}\nWhen: {_when(interview.scheduled_at, person)}\n"
            f"You score: {traits}\nYour scorecard is your own: you see no one else's until you submit it.",
            actor=actor,
            link=("hiring.scorecard", {"assignment_id": assignment.id}),
            context={
                "candidate": candidate.name,
                "opening": candidate.opening.title,
                "interview": interview.title,
                "when": _when(interview.scheduled_at, person),
                "traits": traits,
            },
            dedupe_key=f"assignment:{assignment.id}",
        )
    return sent


def send_scorecard_reminders(now: datetime, *, actor) -> int:
    """Remind interviewers once, 24 hours after the interview, while their scorecard is not submitted (drafts
    count as not submitted). Closed candidates (hired or rejected) and inactive people get nothing."""
    rows = db.session.execute(
        select(InterviewerAssignment, Interview, Candidate, Opening.title, User)
        .join(Interview, Interview.id == InterviewerAssignment.interview_id)
        .join(Candidate, Candidate.id == InterviewerAssignment.candidate_id)
        .join(Opening, Opening.id == Candidate.opening_id)
        .join(User, User.id == InterviewerAssignment.interviewer_id)
        .outerjoin(Scorecard, Scorecard.assignment_id == InterviewerAssignment.id)
        .where(
            Interview.scheduled_at.is_not(None),
            Interview.scheduled_at <= now - REMIND_AFTER,
            Interview.scheduled_at > now - REMIND_WITHIN,
            Candidate.stage.not_in([Stage.HIRED, Stage.REJECTED]),
            User.active.is_(True),
            Scorecard.id.is_(None) | (Scorecard.status != ScorecardStatus.SUBMITTED),
        )
        .order_by(Interview.scheduled_at, InterviewerAssignment.id)
    ).all()
    sent = 0
    for assignment, interview, candidate, opening, person in rows:
        sent += notify(
            [person],
            "interview.scorecard_reminder",
            title=f"Scorecard to submit: {candidate.name} — {interview.title}",
            body=f"Your interview ({opening}) was {_when(interview.scheduled_at, person)}. Submit your "
            "scorecard while your notes are fresh.",
            actor=actor,
            link=("hiring.scorecard", {"assignment_id": assignment.id}),
            context={
                "candidate": candidate.name,
                "opening": opening,
                "interview": interview.title,
                "when": _when(interview.scheduled_at, person),
            },
            dedupe_key=f"assignment:{assignment.id}:reminder",
        )
    return sent


def hire_started(candidate: Candidate, user: User | None, start_date: date | None, *, actor) -> None:
    """The "hire.started" event for the hiring team's channels: who joins, for which role, from when. Nothing from
    the interviews, and no contact details."""
    team = candidate.opening.team or None
    announce(
        "hire.started",
        {
            "name": candidate.name,
            "opening": candidate.opening.title,
            "team": team,
            "start_date": start_date.isoformat() if start_date else None,
            "user_id": user.id if user else None,
        },
        team=team,
        actor=actor,
    )
