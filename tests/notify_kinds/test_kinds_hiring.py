"""Hiring's notices: an interview assigned reaches each interviewer about their own assignment only; a day after
the interview, a reminder goes once to those who have not submitted (never naming anyone's scores); a hire
announces "hire.started" to the team's channels."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from kms.auth.models import Role
from kms.extensions import db
from kms.hiring import services
from tests.hiring.conftest import full_scorecard, make_process, rubric  # noqa: F401 - fixtures
from tests.notify_kinds.support import events, inbox, run_job

INTERVIEW_AT = datetime(2026, 12, 1, 14, tzinfo=UTC)


def _interview(make_process, make_user):
    """A candidate with a timed interview by two people, and a bystander author; the first interviewer has
    already submitted their scorecard with very particular evidence."""
    first = make_user(Role.AUTHOR, name="Ivan Interviewer", time_zone="Europe/Oslo")
    second = make_user(Role.MEMBER, name="Mia Member-Interviewer", time_zone="America/Chicago")
    process = make_process(interviewers=[make_user(Role.MEMBER, name="Early Bird")])
    interview = services.schedule_interview(
        process.candidate.id,
        title="Traits interview",
        scheduled_at=INTERVIEW_AT,
        interviewers=[(first.id, ["drive", "empathy"]), (second.id, []), (process.manager.id, [])],
        actor=process.manager,
    )
    db.session.commit()
    by_person = {a.interviewer_id: a.id for a in interview.assignments}
    card = full_scorecard(4, drive={"rating": 4, "evidence": "SECRET-EVIDENCE"})
    card["ratings"] = {key: card["ratings"][key] for key in ("drive", "empathy")}
    services.submit_scorecard(by_person[first.id], card, actor=first)
    db.session.commit()
    return process, first, second, by_person


def test_each_interviewer_hears_of_their_own_assignment_only(app, make_process, make_user):
    process, first, second, by_person = _interview(make_process, make_user)
    got = inbox("interview.assigned")
    assert set(got) >= {first.id, second.id} and process.manager.id not in got  # the lead scheduled it
    [notice] = got[first.id]
    assert "Robin Candidate-Quill" in notice.title and "Traits interview" in notice.title
    assert "drive, empathy" in notice.body and "15:00 (Europe/Oslo)" in notice.body
    assert notice.link == ("hiring.scorecard", {"assignment_id": by_person[first.id]})
    text = f"{notice.title} {notice.body} {notice.context}"
    assert "Mia" not in text and "robin@example.test" not in text and "+47" not in text


def test_the_scorecard_reminder_goes_once_a_day_later_to_who_has_not_submitted(app, make_process, make_user):
    process, first, second, by_person = _interview(make_process, make_user)
    services.save_draft(by_person[second.id], full_scorecard(1, recommendation="no"), actor=second)
    db.session.commit()
    run_job(app, "hiring-scorecard-reminders", INTERVIEW_AT + timedelta(hours=23))
    assert inbox("interview.scorecard_reminder") == {}
    for hours in (25, 26):
        run_job(app, "hiring-scorecard-reminders", INTERVIEW_AT + timedelta(hours=hours))
    got = inbox("interview.scorecard_reminder")
    assert set(got) == {second.id, process.manager.id}  # the first submitted; the manager interviews too
    [notice] = got[second.id]
    assert notice.link == ("hiring.scorecard", {"assignment_id": by_person[second.id]})
    text = f"{notice.title} {notice.body} {notice.context}"
    assert "SECRET-EVIDENCE" not in text and "Ivan" not in text and "submitted" not in notice.body.lower()


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)  # no SQL of its own to check on PostgreSQL
def test_a_hire_announces_hire_started_to_the_openings_team(app, make_process):
    process = make_process()
    services.hire_candidate(
        process.candidate.id,
        email="robin@example.test",
        start_date=date(2027, 1, 4),
        confirmed=True,
        actor=process.manager,
    )
    db.session.commit()
    [event] = events("hire.started")
    assert event.team == "EMEA"
    assert event.payload["name"] == "Robin Candidate-Quill" and event.payload["start_date"] == "2027-01-04"
    assert "robin@example.test" not in str(event.payload) and "+47" not in str(event.payload)
