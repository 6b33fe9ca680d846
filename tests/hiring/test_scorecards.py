"""Scorecards: validation, drafts, one submission that locks, amendments kept as logged revisions."""

import re

import pytest

from kms.auth.models import Role
from kms.errors import Conflict, Invalid, NotFound
from kms.extensions import db, unit_of_work
from kms.hiring import services
from kms.hiring.models import Rating, Scorecard, ScorecardRevision, ScorecardStatus
from tests.hiring.conftest import full_scorecard


@pytest.mark.parametrize("bad", [0, 5, -1, "7", "three", 2.5])
def test_a_rating_outside_one_to_four_is_refused_naming_the_trait(process, bad):
    data = full_scorecard(drive={"rating": bad})
    for save in (services.save_draft, services.submit_scorecard):
        with pytest.raises(Invalid) as caught, unit_of_work():
            save(process.first_assignment, data, actor=process.first)
        assert caught.value.field == "drive-rating"
        assert "Drive" in caught.value.message
    assert db.session.query(Scorecard).count() == 0


@pytest.mark.parametrize("rating", [1, 4])
def test_a_one_or_a_four_needs_written_evidence_before_submitting(process, rating):
    data = full_scorecard(positivity={"rating": rating, "evidence": "  "})
    with pytest.raises(Invalid) as caught:
        services.submit_scorecard(process.first_assignment, data, actor=process.first)
    assert caught.value.field == "positivity-evidence"
    assert db.session.query(Scorecard).filter_by(status=ScorecardStatus.SUBMITTED).count() == 0


@pytest.mark.parametrize("rating", [2, 3])
def test_a_two_or_a_three_may_be_submitted_without_evidence(process, rating):
    data = full_scorecard(positivity={"rating": rating, "evidence": ""})
    card = services.submit_scorecard(process.first_assignment, data, actor=process.first)
    assert card.status == ScorecardStatus.SUBMITTED


def test_submitting_needs_every_trait_rated_and_a_recommendation_and_reports_all_problems(process):
    data = full_scorecard(empathy={"rating": None}, drive={"rating": 4, "evidence": ""})
    data["recommendation"] = ""
    with pytest.raises(Invalid) as caught:
        services.submit_scorecard(process.first_assignment, data, actor=process.first)
    assert set(caught.value.details["errors"]) == {"empathy-rating", "drive-evidence", "recommendation"}


def test_a_draft_may_be_partial_and_is_saved_for_later(process):
    services.save_draft(process.first_assignment, {"ratings": {"drive": {"rating": 4}}}, actor=process.first)
    context = services.open_scorecard(process.first_assignment, actor=process.first)
    assert context.scorecard.status == ScorecardStatus.DRAFT
    assert context.rating("drive").rating == 4 and context.rating("empathy").rating is None


def test_submitting_twice_is_refused_and_keeps_the_first_submission(process):
    services.submit_scorecard(process.first_assignment, full_scorecard(3), actor=process.first)
    with pytest.raises(services.AlreadySubmitted):
        services.submit_scorecard(process.first_assignment, full_scorecard(2), actor=process.first)
    ratings = {r.rating for r in db.session.query(Rating)}
    assert ratings == {3}
    assert db.session.query(ScorecardRevision).count() == 1


def test_a_submitted_scorecard_is_locked_against_draft_saves(process):
    services.submit_scorecard(process.first_assignment, full_scorecard(3), actor=process.first)
    with pytest.raises(Conflict):
        services.save_draft(process.first_assignment, full_scorecard(1), actor=process.first)
    assert {r.rating for r in db.session.query(Rating)} == {3}


def test_an_amendment_needs_a_reason_and_is_kept_as_a_logged_revision(process):
    services.submit_scorecard(process.first_assignment, full_scorecard(3), actor=process.first)
    with pytest.raises(Invalid) as caught:
        services.amend_scorecard(process.first_assignment, full_scorecard(2), "", actor=process.first)
    assert caught.value.field == "reason"
    services.amend_scorecard(
        process.first_assignment, full_scorecard(2), "Re-read my notes", actor=process.first
    )
    context = services.open_scorecard(process.first_assignment, actor=process.first)
    assert context.scorecard.revision == 2
    assert [rev.number for rev, _ in context.changes] == [1, 2]
    first, second = context.changes
    assert first[0].snapshot["ratings"]["drive"]["rating"] == 3
    assert second[0].reason == "Re-read my notes"
    assert "Drive rating 3 → 2" in second[1]


def test_an_amendment_gets_the_same_checks_as_a_submission(process):
    services.submit_scorecard(process.first_assignment, full_scorecard(3), actor=process.first)
    with pytest.raises(Invalid) as caught:
        services.amend_scorecard(
            process.first_assignment,
            full_scorecard(3, drive={"rating": 1, "evidence": ""}),
            "changed my mind",
            actor=process.first,
        )
    assert caught.value.field == "drive-evidence"
    assert db.session.query(ScorecardRevision).count() == 1


def test_a_draft_cannot_be_amended(process):
    services.save_draft(process.first_assignment, full_scorecard(3), actor=process.first)
    with pytest.raises(Conflict):
        services.amend_scorecard(process.first_assignment, full_scorecard(2), "why", actor=process.first)


def test_nobody_writes_another_interviewers_scorecard(process, make_user):
    for someone in (process.second, process.manager, make_user(Role.ADMIN)):
        with pytest.raises(NotFound):
            services.save_draft(process.first_assignment, full_scorecard(), actor=someone)
        with pytest.raises(NotFound):
            services.submit_scorecard(process.first_assignment, full_scorecard(), actor=someone)


def test_an_interviewer_limited_to_some_traits_rates_only_those(rubric, make_process, make_user):
    p = make_process()
    only = services.schedule_interview(
        p.candidate.id,
        title="Role play",
        scheduled_at=None,
        interviewers=[(make_user(Role.AUTHOR).id, ["empathy"])],
        actor=p.manager,
    )
    assignment = only.assignments[0]
    context = services.open_scorecard(assignment.id, actor=assignment.interviewer)
    assert [t.key for t in context.traits] == ["empathy"]
    card = services.submit_scorecard(
        assignment.id,
        {"ratings": {"empathy": {"rating": 3}}, "recommendation": "yes"},
        actor=assignment.interviewer,
    )
    assert [r.trait_key for r in card.ratings] == ["empathy"]


def test_only_red_flags_from_the_rubric_can_be_ticked(process, rubric):
    flag = rubric.traits[0].red_flags[0]
    card = services.save_draft(
        process.first_assignment, full_scorecard(drive={"red_flags": [flag]}), actor=process.first
    )
    assert next(r for r in card.ratings if r.trait_key == "drive").red_flags == [flag]
    with pytest.raises(Invalid) as caught:
        services.save_draft(
            process.first_assignment, full_scorecard(drive={"red_flags": ["<script>"]}), actor=process.first
        )
    assert caught.value.field == "drive-red_flags"


def test_the_scorecard_page_saves_a_draft_without_javascript_and_keeps_input_on_errors(client, process):
    client.post("/login", data={"email": process.first.email, "password": "pw-for-tests-123"})
    page = client.get(f"/hiring/scorecards/{process.first_assignment}")
    assert page.status_code == 200 and b"Save draft" in page.data and b"data-autosave" in page.data
    response = client.post(
        f"/hiring/scorecards/{process.first_assignment}",
        data={"action": "draft", "drive-rating": "4", "drive-evidence": "Asked about NRR"},
    )
    assert response.status_code == 302
    again = client.get(f"/hiring/scorecards/{process.first_assignment}").get_data(as_text=True)
    assert "Asked about NRR" in again
    bad = client.post(
        f"/hiring/scorecards/{process.first_assignment}",
        data={
            "action": "submit",
            "drive-rating": "1",
            "drive-question": "What did you fix?",
            "summary": "kept text",
        },
    )
    html = bad.get_data(as_text=True)
    assert bad.status_code == 400
    assert re.search(
        r'<p class="error" id="drive-evidence-error">Drive: a rating of 1 needs written evidence', html
    )
    assert "What did you fix?" in html and "kept text" in html
    assert db.session.query(Scorecard).one().status == ScorecardStatus.DRAFT


def test_the_autosave_endpoint_takes_form_fields_or_json(client, process):
    client.post("/login", data={"email": process.first.email, "password": "pw-for-tests-123"})
    saved = client.post(
        f"/api/hiring/scorecards/{process.first_assignment}/draft",
        data={"drive-rating": "2", "summary": "typing..."},
    )
    assert saved.status_code == 200 and saved.json["status"] == "draft"
    bad = client.post(
        f"/api/hiring/scorecards/{process.first_assignment}/draft", json={"ratings": {"drive": {"rating": 9}}}
    )
    assert bad.status_code == 400 and "drive-rating" in bad.json["errors"]
    assert db.session.query(Rating).filter_by(trait_key="drive").one().rating == 2


def test_submit_and_amend_through_the_pages(client, process):
    client.post("/login", data={"email": process.first.email, "password": "pw-for-tests-123"})
    form = {"action": "submit", "recommendation": "yes", "summary": "Good"}
    for key in ("drive", "coachability", "positivity", "empathy"):
        form[f"{key}-rating"] = "3"
    assert client.post(f"/hiring/scorecards/{process.first_assignment}", data=form).status_code == 302
    twice = client.post(f"/hiring/scorecards/{process.first_assignment}", data=form, follow_redirects=True)
    assert "already submitted" in twice.get_data(as_text=True)
    form.pop("action")
    form.update({"drive-rating": "2", "drive-evidence": "", "reason": "Second look"})
    assert client.post(f"/hiring/scorecards/{process.first_assignment}/amend", data=form).status_code == 302
    log = client.get(f"/hiring/scorecards/{process.first_assignment}").get_data(as_text=True)
    assert "Revision log" in log and "Second look" in log and "Drive rating 3 → 2" in log


@pytest.mark.parametrize(
    "body, field",
    [
        ({"ratings": "drive: 3"}, "ratings"),
        ({"ratings": {"charisma": {"rating": 3}}}, "charisma-rating"),
        ({"ratings": {"drive": 3}}, "drive-rating"),
        ({"ratings": {"drive": {"rating": 3, "evidance": "typo"}}}, "drive-evidance"),
        ({"ratings": {"drive": {"rating": 3, "evidence": ["a list"]}}}, "drive-evidence"),
        ({"ratings": {"drive": {"rating": 3, "red_flags": 5}}}, "drive-red_flags"),
        ({"summary": 3}, "summary"),
        ({"Ratings": {"drive": {"rating": 3}}}, "Ratings"),
    ],
)
def test_the_draft_api_names_a_wrong_or_unknown_field_and_keeps_the_saved_draft(client, process, body, field):
    client.post("/login", data={"email": process.first.email, "password": "pw-for-tests-123"})
    url = f"/api/hiring/scorecards/{process.first_assignment}/draft"
    assert client.post(url, json={"ratings": {"drive": {"rating": 2}}, "summary": "kept"}).status_code == 200
    bad = client.post(url, json=body)
    assert bad.status_code == 400 and bad.is_json and field in bad.json["errors"]
    card = db.session.query(Scorecard).one()
    db.session.refresh(card)
    assert card.summary == "kept" and {r.trait_key: r.rating for r in card.ratings}["drive"] == 2


def test_a_draft_post_with_none_of_the_scorecard_fields_is_refused_not_saved_empty(client, process):
    """curl -d '{json}' without a JSON content type arrives as one odd form field: it must not wipe the draft."""
    client.post("/login", data={"email": process.first.email, "password": "pw-for-tests-123"})
    url = f"/api/hiring/scorecards/{process.first_assignment}/draft"
    assert client.post(url, json={"ratings": {"drive": {"rating": 2}}, "summary": "kept"}).status_code == 200
    for sent in (
        {"data": '{"summary": "new"}', "content_type": "text/plain"},
        {"data": {'{"summary": "new"}': ""}},
        {},
    ):
        bad = client.post(url, **sent)
        assert bad.status_code == 400 and "application/json" in bad.json["error"]
    card = db.session.query(Scorecard).one()
    assert card.summary == "kept"


def test_a_draft_body_nested_too_deep_to_parse_is_a_400_not_a_500(client, process):
    client.post("/login", data={"email": process.first.email, "password": "pw-for-tests-123"})
    response = client.post(
        f"/api/hiring/scorecards/{process.first_assignment}/draft",
        data="[" * 100_000 + "]" * 100_000,
        content_type="application/json",
    )
    assert response.status_code == 400 and response.json["error"] == "Send a JSON object."
