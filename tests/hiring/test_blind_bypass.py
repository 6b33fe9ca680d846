"""Blind scoring cannot be bypassed by leaving the interview: someone who was ever assigned to a candidate and
has not submitted a scorecard for them sees nothing of anyone else's scorecards, on any page, API or export."""

from datetime import date

import pytest

from kms.auth.models import Role
from kms.extensions import db
from kms.hiring import services
from kms.hiring.models import InterviewerAssignment
from tests.conftest import login
from tests.hiring.conftest import full_scorecard

EVIDENCE = "Told us about the refund she fought for 5e1b"
SUMMARY = "Private summary of the second interviewer 9c2d"


def _second_submits(p, recommendation="strong no"):
    data = full_scorecard(1, recommendation=recommendation)
    data["ratings"]["drive"]["evidence"] = EVIDENCE
    data["summary"] = SUMMARY
    services.submit_scorecard(p.second_assignment, data, actor=p.second)


def _reads(client, p):
    """What the lead can read about the candidate, path by path: (path, status, body)."""
    cid = p.candidate.id
    gets = [
        "/hiring/",
        "/api/hiring/candidates",
        "/api/hiring/interviews",
        f"/hiring/candidates/{cid}",
        f"/hiring/candidates/{cid}/debrief",
        f"/api/hiring/candidates/{cid}/debrief",
        f"/api/hiring/candidates/{cid}",
        f"/hiring/candidates/{cid}/export.json",
        f"/hiring/openings/{p.opening.id}/compare",
        f"/hiring/scorecards/{p.second_assignment}",
        f"/hiring/candidates/{cid}/hire",
    ]
    seen = [(url, *_body(client.get(url))) for url in gets]
    # A refused decision re-renders the debrief page.
    seen.append(("POST decision", *_body(client.post(f"/hiring/candidates/{cid}/decision", data={}))))
    return seen


def _body(response):
    return response.status_code, response.get_data(as_text=True)


def _assert_blind(client, p):
    leaks = [
        f"{url} ({status})"
        for url, status, body in _reads(client, p)
        if EVIDENCE in body or SUMMARY in body or "strong no: 1" in body or '"strong no": 1' in body
    ]
    assert not leaks, "others' scorecards leak through: " + ", ".join(leaks)
    debrief = client.get(f"/api/hiring/candidates/{p.candidate.id}/debrief").json
    assert debrief["scores_visible"] is False and debrief["aggregate"] is None
    for service in (services.debrief, services.candidate_page):
        result = service(p.candidate.id, actor=p.first)
        assert getattr(result, "aggregate", None) is None and not getattr(result, "sees_scores", False)
    _, _, rows = services.compare_opening(p.opening.id, actor=p.first)
    assert all(row.aggregate is None for row in rows if row.candidate.id == p.candidate.id)


def _re_add(client, p):
    response = client.post(
        f"/hiring/candidates/{p.candidate.id}/interviews",
        data={"title": "Second look", "interviewers-0-user_id": p.first.id},
    )
    assert response.status_code == 302
    return db.session.scalar(
        db.select(InterviewerAssignment.id).where(
            InterviewerAssignment.candidate_id == p.candidate.id,
            InterviewerAssignment.interviewer_id == p.first.id,
        )
    )


@pytest.mark.parametrize("role", [Role.MANAGER, Role.ADMIN])
def test_a_lead_cannot_remove_their_own_open_assignment_once_others_have_submitted(
    client, make_process, make_user, role
):
    lead = make_user(role, name="Lena Lead")
    p = make_process(interviewers=[lead, make_user(Role.MEMBER, name="Otto Other")])
    _second_submits(p)
    login(client, lead)
    page = client.get(f"/hiring/candidates/{p.candidate.id}").get_data(as_text=True)
    assert f"/hiring/assignments/{p.first_assignment}/remove" not in page and "Others have submitted" in page
    response = client.post(f"/hiring/assignments/{p.first_assignment}/remove")
    assert response.status_code == 409
    assert "other interviewers have already submitted" in response.get_data(as_text=True)
    assert db.session.get(InterviewerAssignment, p.first_assignment) is not None
    _assert_blind(client, p)


@pytest.mark.parametrize("removed_by", ["themselves before anyone submitted", "another manager"])
def test_a_lead_taken_off_the_interview_stays_blind_even_after_being_added_back(
    client, make_process, make_user, removed_by
):
    """The attack: leave the interview, read the debrief and export with everyone's evidence, come back."""
    lead = make_user(Role.MANAGER, name="Lena Lead")
    p = make_process(interviewers=[lead, make_user(Role.MEMBER, name="Otto Other")])
    if removed_by == "another manager":
        _second_submits(p)
        services.remove_assignment(p.first_assignment, actor=p.manager)
        login(client, lead)
    else:
        login(client, lead)
        response = client.post(f"/hiring/assignments/{p.first_assignment}/remove")
        assert response.status_code == 302
        _second_submits(p)
    assert db.session.get(InterviewerAssignment, p.first_assignment) is None
    _assert_blind(client, p)
    assert "You were taken off" in client.get(f"/hiring/candidates/{p.candidate.id}/debrief").get_data(
        as_text=True
    )

    again = _re_add(client, p)
    _assert_blind(client, p)

    services.submit_scorecard(again, full_scorecard(3), actor=lead)
    assert EVIDENCE in client.get(f"/hiring/candidates/{p.candidate.id}/debrief").get_data(as_text=True)
    export = client.get(f"/api/hiring/candidates/{p.candidate.id}")
    assert SUMMARY in export.get_data(as_text=True)
    assert [person["name"] for person in export.json["removed_interviewers"]] == ["Lena Lead"]


def test_every_hiring_page_and_api_hides_others_scorecards_from_an_ever_assigned_lead(
    app, client, make_process, make_user
):
    """Walks every GET route under /hiring and /api/hiring, before and after the candidate is hired."""
    lead = make_user(Role.MANAGER, name="Lena Lead")
    p = make_process(interviewers=[lead, make_user(Role.MEMBER, name="Otto Other")])
    services.remove_assignment(p.first_assignment, actor=p.manager)
    _second_submits(p, recommendation="yes")
    login(client, lead)

    def walk(user_id):
        values = {
            "candidate_id": p.candidate.id,
            "assignment_id": p.second_assignment,
            "opening_id": p.opening.id,
            "user_id": user_id,
            "key": "drive",
        }
        leaks = []
        for rule in app.url_map.iter_rules():
            if not rule.rule.startswith(("/hiring", "/api/hiring")) or "GET" not in rule.methods:
                continue
            url = rule.build({name: values[name] for name in rule.arguments}, append_unknown=False)[1]
            body = client.get(url).get_data(as_text=True)
            if EVIDENCE in body or SUMMARY in body:
                leaks.append(url)
        return leaks

    assert walk(lead.id) == []
    hired = services.hire_candidate(
        p.candidate.id,
        email="robin@example.test",
        start_date=date(2027, 1, 4),
        confirmed=True,
        actor=p.manager,
    )
    assert walk(hired.user.id) == []
    client.post("/logout")
    login(client, p.manager)
    assert EVIDENCE in client.get(f"/hiring/new-hires/{hired.user.id}").get_data(as_text=True)
