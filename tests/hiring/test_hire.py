"""Hire to onboard: the account with an invite link and start date, the path, suggested modules, the manager's
summary page; and the demo data."""

from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select

from kms.auth import services as auth_services
from kms.auth.models import Role, User
from kms.content import import_content
from kms.demo import create_demo
from kms.errors import Conflict, Forbidden, Invalid
from kms.extensions import db
from kms.hiring import services
from kms.hiring.models import Candidate, InterviewerAssignment, Scorecard, Stage
from kms.training import services as training_services
from kms.training.models import Assignment as TrainingAssignment
from tests.conftest import login
from tests.hiring.conftest import full_scorecard


@pytest.fixture
def starter_training(app, rubric):
    """The starter handbook and training content: the 30-day path and modules tagged with hiring traits."""
    import_content(Path(app.config["KMS_CONTENT_DIR"]))
    return training_services.list_paths()[0]


def _scored(process):
    low = full_scorecard(
        3, empathy={"rating": 2}, coachability={"rating": 4, "evidence": "Credited a mentor"}
    )
    services.submit_scorecard(process.first_assignment, low, actor=process.first)
    services.submit_scorecard(
        process.second_assignment, full_scorecard(3, empathy={"rating": 2}), actor=process.second
    )


def test_hiring_creates_a_member_account_with_invite_and_start_date(process):
    _scored(process)
    result = services.hire_candidate(
        process.candidate.id, email="robin@example.test", start_date=date(2027, 1, 4), actor=process.manager
    )
    user = db.session.get(User, result.user.id)
    assert user.role == Role.MEMBER and user.start_date == date(2027, 1, 4) and user.team == "EMEA"
    assert user.name == "Robin Candidate-Quill" and not user.has_password
    assert auth_services.user_for_invite(result.invite_token).id == user.id
    candidate = db.session.get(Candidate, process.candidate.id)
    assert candidate.stage == Stage.HIRED and candidate.hired_user_id == user.id


def test_a_path_that_cannot_be_assigned_is_reported_and_the_account_still_made(process, starter_training):
    result = services.hire_candidate(
        process.candidate.id,
        email="r@example.test",
        start_date=date(2027, 1, 4),
        path_id=starter_training.id + 999,
        confirmed=True,
        actor=process.manager,
    )
    assert result.user is not None and result.path_assigned is None
    assert "not assigned" in result.notes[0]


def test_the_path_is_assigned_and_modules_suggested_for_traits_below_three(process, starter_training):
    _scored(process)
    result = services.hire_candidate(
        process.candidate.id,
        email="r@example.test",
        start_date=date(2027, 1, 4),
        path_id=starter_training.id,
        actor=process.manager,
    )
    assigned = db.session.scalars(
        select(TrainingAssignment).where(TrainingAssignment.user_id == result.user.id)
    )
    assert len(list(assigned)) == len(starter_training.steps) > 0
    assert result.path_assigned == "CSM — first 30 days"
    tagged = {module.slug for module in training_services.modules_tagged(["empathy"])}
    assert tagged and {m["slug"] for m in result.suggestions} == tagged


def test_hiring_twice_or_a_taken_email_is_refused_and_changes_nothing(process, make_user):
    make_user(email="taken@example.test")
    with pytest.raises(Invalid) as caught:
        services.hire_candidate(
            process.candidate.id,
            email="taken@example.test",
            start_date=date(2027, 1, 4),
            confirmed=True,
            actor=process.manager,
        )
    assert caught.value.field == "email"
    assert db.session.get(Candidate, process.candidate.id).stage == Stage.INTERVIEWING
    services.hire_candidate(
        process.candidate.id,
        email="new@example.test",
        start_date=date(2027, 1, 4),
        confirmed=True,
        actor=process.manager,
    )
    with pytest.raises(Conflict):
        services.hire_candidate(
            process.candidate.id,
            email="other@example.test",
            start_date=date(2027, 1, 4),
            confirmed=True,
            actor=process.manager,
        )
    assert db.session.scalar(select(func.count()).select_from(User)) == 5


def test_only_leads_hire(process):
    with pytest.raises(Forbidden):
        services.hire_candidate(
            process.candidate.id, email="x@example.test", start_date=date(2027, 1, 4), actor=process.first
        )


def test_the_hire_page_shows_the_invite_link_and_the_manager_summary_page_shows_evidence(
    client, process, starter_training
):
    _scored(process)
    login(client, process.manager)
    form = client.get(f"/hiring/candidates/{process.candidate.id}/hire").get_data(as_text=True)
    assert "CSM — first 30 days" in form and 'value="robin@example.test"' in form
    response = client.post(
        f"/hiring/candidates/{process.candidate.id}/hire",
        data={
            "create_account": "y",
            "email": "robin@example.test",
            "start_date": "2027-01-04",
            "time_zone": "Europe/Oslo",
            "path_id": str(starter_training.id),
        },
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "/invite/" in html and "De-escalating an angry customer" in html
    user = db.session.scalar(select(User).where(User.email == "robin@example.test"))
    summary = client.get(f"/hiring/new-hires/{user.id}").get_data(as_text=True)
    assert "Credited a mentor" in summary and "<svg" in summary and "Empathy: mean 2.00" in summary


def test_the_hire_form_names_a_missing_start_date_and_keeps_the_email(client, process):
    login(client, process.manager)
    response = client.post(
        f"/hiring/candidates/{process.candidate.id}/hire",
        data={"create_account": "y", "email": "kept@example.test", "time_zone": "UTC", "path_id": "0"},
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 400 and "Choose the start date." in html and "kept@example.test" in html
    assert db.session.get(Candidate, process.candidate.id).stage == Stage.INTERVIEWING


def test_the_demo_adds_an_open_role_with_two_candidates_to_score_and_one_fully_scored(app):
    team = create_demo()
    candidates = list(db.session.scalars(select(Candidate).order_by(Candidate.id)))
    assert len(candidates) == 3 and {c.opening.title for c in candidates} == {"Customer Success Manager"}
    assert candidates[0].opening.is_open
    for candidate in candidates:
        people = {
            a.interviewer_id
            for a in db.session.scalars(
                select(InterviewerAssignment).where(InterviewerAssignment.candidate_id == candidate.id)
            )
        }
        assert people == {team.manager.id, team.authors[0].id}
    cards = {
        c.name: list(db.session.scalars(select(Scorecard).where(Scorecard.candidate_id == c.id)))
        for c in candidates
    }
    assert cards["Jordan Rivera"] == [] and cards["Casey Morgan"] == []
    assert len(cards["Taylor Brooks"]) == 2 and {c.status.value for c in cards["Taylor Brooks"]} == {
        "submitted"
    }
    assert services.current_rubric().number == 1
    assert services.is_interviewer(team.authors[0].id) and not services.is_interviewer(team.new_hires[0].id)


def test_the_demo_manager_sees_the_full_debrief_of_the_scored_candidate(app, client):
    team = create_demo()
    scored = db.session.scalar(select(Candidate).where(Candidate.name == "Taylor Brooks"))
    debrief = services.debrief(scored.id, actor=team.manager)
    assert debrief.pending == [] and debrief.aggregate is not None
    assert all(t.ratings for t in debrief.aggregate.traits)
    assert {t.key: len(t.ratings) for t in debrief.aggregate.traits} == {
        "drive": 1,
        "coachability": 2,
        "positivity": 1,
        "empathy": 2,
    }
    password = next(password for email, _, password in team.logins if email == team.manager.email)
    login(client, team.manager, password)
    page = client.get(f"/hiring/candidates/{scored.id}/debrief")
    html = " ".join(page.get_data(as_text=True).split())
    assert page.status_code == 200 and "Still waiting for" not in html
    assert '2 <span class="muted small">of 2</span>' in html and "<svg" in html
    assert 'badge-warn">disagreement</span>' in html  # empathy: 2 from the manager, 4 from the author


def test_a_manager_adds_a_candidate_and_two_interviewers_through_the_pages(client, rubric, make_user):
    manager = make_user(Role.MANAGER)
    first, second = (
        make_user(Role.AUTHOR, name="Ada Interviewer"),
        make_user(Role.MEMBER, name="Max Interviewer"),
    )
    login(client, manager)
    client.post("/hiring/openings", data={"title": "Support Specialist", "team": "AMER"})
    opening_id = services.list_openings(actor=manager)[0].id
    bad = client.post(
        "/hiring/candidates/new", data={"opening_id": opening_id, "name": "", "email": "kai@x.test"}
    )
    assert bad.status_code == 400 and "kai@x.test" in bad.get_data(as_text=True)
    created = client.post(
        "/hiring/candidates/new",
        data={
            "opening_id": opening_id,
            "name": "Kai Applicant",
            "email": "kai@example.test",
            "source": "Event",
        },
    )
    assert created.status_code == 302
    candidate = db.session.scalar(select(Candidate))
    response = client.post(
        f"/hiring/candidates/{candidate.id}/interviews",
        data={
            "title": "Traits interview",
            "scheduled_at": "2027-02-01T10:00",
            "interviewers-0-user_id": first.id,
            "interviewers-1-user_id": second.id,
            "interviewers-1-traits": ["empathy", "positivity"],
            "interviewers-2-user_id": "0",
        },
    )
    assert response.status_code == 302
    rows = list(db.session.scalars(select(InterviewerAssignment).order_by(InterviewerAssignment.id)))
    assert [(a.interviewer_id, a.traits) for a in rows] == [
        (first.id, []),
        (second.id, ["empathy", "positivity"]),
    ]
    page = client.get(f"/hiring/candidates/{candidate.id}").get_data(as_text=True)
    assert "Ada Interviewer" in page and "empathy, positivity" in page and "interviewing" in page


# --- the hire form: path for the role, scorecards in, confirmation -----------------------------------------


def _hire_form(client, candidate_id):
    return client.get(f"/hiring/candidates/{candidate_id}/hire").get_data(as_text=True)


def _typed(path_id, **extra):
    return {
        "create_account": "y",
        "email": "typed@example.test",
        "start_date": "2027-03-01",
        "time_zone": "Europe/Oslo",
        "path_id": str(path_id),
        **extra,
    }


def test_the_hire_form_preselects_the_onboarding_path_matching_the_openings_role(
    client, make_process, make_user, starter_training
):
    manager = make_user(Role.MANAGER)
    csm = make_process(manager=manager)
    login(client, manager)
    assert f'<option selected value="{starter_training.id}">CSM — first 30 days</option>' in _hire_form(
        client, csm.candidate.id
    )
    engineer = make_process(
        manager=manager,
        name="Dana Dev-Quill",
        opening=services.create_opening("Data Engineer", "Platform", actor=manager),
    )
    html = _hire_form(client, engineer.candidate.id)
    assert '<option selected value="0">— none now —</option>' in html


def test_a_path_matches_by_role_words_initials_or_team_and_nothing_else(app):
    from types import SimpleNamespace as P

    paths = [
        P(
            id=1,
            title="CSM — first 30 days",
            slug="csm-first-30-days",
            summary="A customer success manager's first month.",
        ),
        P(id=2, title="Support engineer basics", slug="support-engineer", summary="Tickets and tools."),
    ]
    assert services.path_for_opening("Customer Success Manager", "EMEA", paths) == 1
    assert services.path_for_opening("CSM", "", paths) == 1
    assert services.path_for_opening("Senior Support Engineer", "", paths) == 2
    assert services.path_for_opening("Accountant", "Finance", paths) is None


def test_the_hire_form_counts_scorecards_and_refuses_without_confirmation_keeping_what_was_typed(
    client, process, starter_training
):
    services.submit_scorecard(process.first_assignment, full_scorecard(3), actor=process.first)
    login(client, process.manager)
    form = _hire_form(client, process.candidate.id)
    assert "1 of 2 scorecards submitted" in form and "Hire anyway" in form

    response = client.post(
        f"/hiring/candidates/{process.candidate.id}/hire", data=_typed(starter_training.id)
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert (
        'id="confirm-error"' in html
        and "Tick the box to hire anyway: Only 1 of 2 scorecards submitted." in html
    )
    assert (
        'value="typed@example.test"' in html
        and 'value="2027-03-01"' in html
        and 'value="Europe/Oslo"' in html
    )
    assert f'<option selected value="{starter_training.id}">' in html
    assert db.session.get(Candidate, process.candidate.id).stage == Stage.INTERVIEWING
    assert db.session.scalar(select(User).where(User.email == "typed@example.test")) is None

    response = client.post(
        f"/hiring/candidates/{process.candidate.id}/hire", data=_typed(starter_training.id, confirm="y")
    )
    assert response.status_code == 200 and "/invite/" in response.get_data(as_text=True)
    assert db.session.get(Candidate, process.candidate.id).stage == Stage.HIRED


def test_no_scorecards_at_all_is_named_and_needs_confirmation(process):
    check = services.hire_check(process.candidate.id, actor=process.manager)
    assert check.progress == "0 of 2 scorecards submitted" and check.needs_confirmation
    with pytest.raises(Invalid) as caught:
        services.hire_candidate(
            process.candidate.id, email="r@example.test", start_date=date(2027, 1, 4), actor=process.manager
        )
    assert caught.value.field == "confirm" and "Only 0 of 2 scorecards submitted" in caught.value.message


def test_hiring_against_a_debrief_that_leans_no_needs_confirmation(client, process):
    services.submit_scorecard(
        process.first_assignment, full_scorecard(3, recommendation="no"), actor=process.first
    )
    services.submit_scorecard(
        process.second_assignment, full_scorecard(2, recommendation="strong no"), actor=process.second
    )
    login(client, process.manager)
    form = _hire_form(client, process.candidate.id)
    assert "2 of 2 scorecards submitted" in form
    assert "The debrief leans no: 2 of 2 recommendations say no." in form and "Hire anyway" in form
    response = client.post(f"/hiring/candidates/{process.candidate.id}/hire", data=_typed(0))
    assert response.status_code == 400 and "recommendations say no" in response.get_data(as_text=True)
    assert db.session.get(Candidate, process.candidate.id).stage == Stage.INTERVIEWING


def test_with_every_scorecard_in_and_a_yes_debrief_the_hire_needs_no_confirmation(client, process):
    _scored(process)
    login(client, process.manager)
    form = _hire_form(client, process.candidate.id)
    assert "2 of 2 scorecards submitted" in form and "Hire anyway" not in form
    response = client.post(f"/hiring/candidates/{process.candidate.id}/hire", data=_typed(0))
    assert response.status_code == 200
    assert db.session.get(Candidate, process.candidate.id).stage == Stage.HIRED


def test_a_manager_who_still_has_to_score_learns_the_counts_but_not_which_way_the_debrief_leans(
    client, make_process, make_user
):
    lead = make_user(Role.MANAGER, name="Lena Lead")
    p = make_process(interviewers=[lead, make_user(Role.MEMBER)])
    services.submit_scorecard(
        p.second_assignment, full_scorecard(1, recommendation="strong no"), actor=p.second
    )
    login(client, lead)
    form = _hire_form(client, p.candidate.id)
    assert "1 of 2 scorecards submitted" in form and "You have not submitted your own scorecard" in form
    assert "leans no" not in form and "say no" not in form and "average" not in form
