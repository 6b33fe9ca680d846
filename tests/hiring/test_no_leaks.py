"""No hiring data leaks: people who are not leads or assigned interviewers get 403/404 from every hiring
route, and no response ever contains a candidate's name."""

from datetime import date

import pytest

from kms.auth.models import Role
from kms.extensions import db
from kms.hiring import services
from kms.hiring.models import Candidate, InterviewerAssignment, Rating, Scorecard
from tests.conftest import login
from tests.hiring.conftest import full_scorecard

NAMES = ["Robin Candidate-Quill", "Hired Hannah-Zed"]


def hiring_rules(app):
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith(("/hiring", "/api/hiring")):
            yield rule


@pytest.fixture
def world(make_process, make_user):
    """Two candidates with scorecards, one of them hired with an account."""
    p = make_process(name=NAMES[0])
    services.submit_scorecard(p.first_assignment, full_scorecard(3), actor=p.first)
    hired = make_process(manager=p.manager, name=NAMES[1], opening=p.opening, interviewers=[p.first])
    services.submit_scorecard(hired.first_assignment, full_scorecard(2), actor=p.first)
    result = services.hire_candidate(
        hired.candidate.id,
        email="hannah@example.test",
        start_date=date(2027, 1, 4),
        confirmed=True,
        actor=p.manager,
    )
    from kms.auth import services as auth_services

    auth_services.accept_invite(result.invite_token, "pw-for-tests-123")
    return {
        "candidate_id": p.candidate.id,
        "assignment_id": p.first_assignment,
        "opening_id": p.opening.id,
        "user_id": result.user.id,
        "key": "drive",
        "new_hire": result.user,
    }


def _walk(app, client, values, names=NAMES):
    problems = []
    for rule in hiring_rules(app):
        url = rule.build({name: values[name] for name in rule.arguments}, append_unknown=False)[1]
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            payload = (
                {"json": {"ratings": {}}}
                if rule.rule.startswith("/api/") and method == "POST"
                else {
                    "data": {
                        "name": "x",
                        "title": "x",
                        "stage": "rejected",
                        "decision": "reject",
                        "reason": "x",
                        "action": "draft",
                        "opening_id": values["opening_id"],
                    }
                }
            )
            response = client.open(url, method=method, **payload)
            body = response.get_data(as_text=True)
            if response.status_code not in (403, 404):
                problems.append(f"{method} {url} -> {response.status_code}")
            for name in names:
                if name in body or name.split()[0] in body:
                    problems.append(f"{method} {url} shows a candidate's name")
    return problems


def _counts():
    return [
        db.session.query(model).count() for model in (Candidate, InterviewerAssignment, Scorecard, Rating)
    ]


@pytest.mark.parametrize("role", [Role.MEMBER, Role.AUTHOR])
def test_every_hiring_route_answers_403_or_404_to_people_not_on_the_process(
    app, client, world, make_user, role
):
    before = _counts()
    outsider = make_user(role)
    login(client, outsider)
    problems = _walk(app, client, world)
    assert not problems, "\n".join(problems)
    assert _counts() == before
    assert db.session.get(Candidate, world["candidate_id"]).stage.value == "interviewing"


def test_the_new_hire_never_sees_their_own_interview_summary(app, client, world):
    login(client, world["new_hire"])
    assert client.get(f"/hiring/new-hires/{world['user_id']}").status_code == 403
    # Their own name is in the menu, of course; the other candidate's must be nowhere.
    problems = _walk(app, client, world, names=NAMES[:1])
    assert not problems, "\n".join(problems)


def test_a_bearer_token_of_a_member_gets_json_errors_without_names(app, world, make_user):
    from kms.auth import services as auth_services

    _, secret = auth_services.create_token(make_user(Role.MEMBER), "script")
    client = app.test_client()
    headers = {"Authorization": f"Bearer {secret}"}
    for url in [
        "/api/hiring/interviews",
        "/api/hiring/candidates",
        f"/api/hiring/candidates/{world['candidate_id']}",
        f"/api/hiring/candidates/{world['candidate_id']}/debrief",
    ]:
        response = client.get(url, headers=headers)
        assert response.status_code in (403, 404) and response.is_json, url
        assert not any(name.split()[0] in response.get_data(as_text=True) for name in NAMES)


def test_the_hiring_menu_shows_for_assigned_interviewers_and_leads_only(client, world, make_user, process):
    login(client, make_user(Role.MEMBER))
    assert b'href="/hiring/"' not in client.get("/account").data
    client.post("/logout")
    login(client, process.second)
    assert b'href="/hiring/"' in client.get("/account").data


def test_an_interviewer_sees_only_the_candidates_they_are_assigned_to(client, world, make_user, make_process):
    other = make_process(name="Another Person-Q")
    login(client, other.second)
    assert client.get(f"/hiring/candidates/{world['candidate_id']}").status_code == 404
    assert client.get(f"/hiring/candidates/{world['candidate_id']}/debrief").status_code == 404
    page = client.get("/hiring/").get_data(as_text=True)
    assert "Another Person-Q" in page and NAMES[0] not in page
    assert client.get(f"/hiring/candidates/{other.candidate.id}").status_code == 200


def test_an_interviewer_does_not_see_contact_details_or_private_notes(client, process):
    login(client, process.second)
    html = client.get(f"/hiring/candidates/{process.candidate.id}").get_data(as_text=True)
    assert process.candidate.name in html
    assert "robin@example.test" not in html and "Private notes" not in html and "555 0101" not in html
