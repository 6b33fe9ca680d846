"""Page details: CSRF on hiring forms and autosave, stage moves, removing an interviewer, the rubric page."""

import re

import pytest

from kms.extensions import db
from kms.hiring import services
from kms.hiring.models import Candidate, InterviewerAssignment, Scorecard, Stage
from tests.conftest import csrf_token_from, login
from tests.hiring.conftest import full_scorecard


@pytest.mark.parametrize("app_overrides", [{"WTF_CSRF_ENABLED": True}])
def test_autosave_and_submit_need_the_pages_csrf_token(client, process):
    page = client.get("/login")
    client.post(
        "/login",
        data={
            "email": process.first.email,
            "password": "pw-for-tests-123",
            "csrf_token": csrf_token_from(page.data),
        },
    )
    page = client.get(f"/hiring/scorecards/{process.first_assignment}")
    token = csrf_token_from(page.data)
    url = f"/api/hiring/scorecards/{process.first_assignment}/draft"
    assert client.post(url, data={"drive-rating": "3"}).status_code == 400
    assert client.post(url, data={"drive-rating": "3", "csrf_token": token}).status_code == 200
    forged = client.post(f"/hiring/scorecards/{process.first_assignment}", data={"action": "submit"})
    assert forged.status_code == 400
    assert db.session.query(Scorecard).one().status.value == "draft"


def test_a_manager_moves_a_candidate_between_stages_but_hires_only_through_onboarding(client, process):
    login(client, process.manager)
    client.post(f"/hiring/candidates/{process.candidate.id}/stage", data={"stage": "offer"})
    assert db.session.get(Candidate, process.candidate.id).stage == Stage.OFFER
    response = client.post(
        f"/hiring/candidates/{process.candidate.id}/stage", data={"stage": "hired"}, follow_redirects=True
    )
    assert "Hire and onboard" in response.get_data(as_text=True)
    assert db.session.get(Candidate, process.candidate.id).stage == Stage.OFFER


def test_an_interviewer_who_has_not_submitted_can_be_removed_but_a_submitted_one_stays(app, client, process):
    interviewer = app.test_client()
    login(interviewer, process.second)
    menu_link = 'href="/hiring/"'
    assert menu_link in interviewer.get("/handbook/").get_data(as_text=True)  # their menu shows Hiring
    services.save_draft(process.second_assignment, full_scorecard(2), actor=process.second)
    services.submit_scorecard(process.first_assignment, full_scorecard(3), actor=process.first)
    login(client, process.manager)
    assert client.post(f"/hiring/assignments/{process.second_assignment}/remove").status_code == 302
    assert client.post(f"/hiring/assignments/{process.first_assignment}/remove").status_code == 409
    assert [a.id for a in db.session.query(InterviewerAssignment)] == [process.first_assignment]
    assert db.session.query(Scorecard).count() == 1
    assert not services.is_interviewer(process.second.id)
    assert menu_link not in interviewer.get("/handbook/").get_data(as_text=True)  # and no longer does


def test_an_assigned_interviewer_reads_the_rubric_with_anchors_and_guidance(client, process):
    login(client, process.second)
    html = client.get("/hiring/rubric").get_data(as_text=True)
    assert "Coachability" in html and "Guidance for interviewers" in html and "version 1" in html
    assert "Edit</a>" not in html


def test_the_scorecard_shows_the_anchor_text_for_each_point(client, process, rubric):
    login(client, process.first)
    html = client.get(f"/hiring/scorecards/{process.first_assignment}").get_data(as_text=True)
    anchor = rubric.traits[0].anchor(4)
    assert anchor[:40].replace("'", "&#39;") in html
    radios = re.findall(r'<input[^>]*name="drive-rating"[^>]*>', html)
    assert sorted(re.search(r'value="(\d)"', r).group(1) for r in radios) == ["1", "2", "3", "4"]


def test_scheduling_without_an_interviewer_says_so_and_keeps_the_title(client, process):
    login(client, process.manager)
    response = client.post(
        f"/hiring/candidates/{process.candidate.id}/interviews",
        data={"title": "Panel with the team", "interviewers-0-user_id": "0"},
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "Choose at least one interviewer." in html and 'value="Panel with the team"' in html
    assert db.session.query(InterviewerAssignment).count() == 2


def test_the_candidates_api_refuses_a_malformed_opening_instead_of_listing_every_candidate(client, process):
    login(client, process.manager)
    for bad in ("abc", "0", "1.0"):
        response = client.get(f"/api/hiring/candidates?opening={bad}")
        assert response.status_code == 400 and "opening" in response.json["error"]
    listed = client.get(f"/api/hiring/candidates?opening={process.opening.id}").json["candidates"]
    assert [c["name"] for c in listed] == [process.candidate.name]
