"""Independence: nobody sees another scorecard, score or aggregate for a candidate before submitting theirs."""

import pytest

from kms.auth.models import Role
from kms.errors import Conflict, NotFound
from kms.hiring import services
from tests.conftest import login
from tests.hiring.conftest import full_scorecard

SECRET = "Second interviewer private evidence 7f3a"


def _second_submits(process):
    data = full_scorecard(2)
    data["ratings"]["drive"]["evidence"] = SECRET
    services.submit_scorecard(process.second_assignment, data, actor=process.second)


@pytest.mark.parametrize("first_role", [Role.MEMBER, Role.AUTHOR, Role.MANAGER, Role.ADMIN])
def test_an_interviewer_of_any_role_sees_no_other_scores_until_submitting(
    make_process, make_user, first_role
):
    first = make_user(first_role, name="First Interviewer")
    p = make_process(interviewers=[first, make_user(Role.MEMBER, name="Second Interviewer")])
    _second_submits(p)
    services.save_draft(p.first_assignment, full_scorecard(3), actor=first)

    hidden = services.debrief(p.candidate.id, actor=first)
    assert hidden.aggregate is None and hidden.summaries == []
    assert services.candidate_page(p.candidate.id, actor=first).sees_scores is False
    with pytest.raises(NotFound):
        services.open_scorecard(p.second_assignment, actor=first)

    services.submit_scorecard(p.first_assignment, full_scorecard(3), actor=first)
    shown = services.debrief(p.candidate.id, actor=first)
    assert shown.aggregate.trait("drive").ratings == [3, 2] or shown.aggregate.trait("drive").ratings == [
        2,
        3,
    ]
    assert services.open_scorecard(p.second_assignment, actor=first).scorecard.status.value == "submitted"


@pytest.mark.parametrize("role", [Role.MANAGER, Role.ADMIN])
def test_managers_and_admins_who_do_not_interview_see_every_submitted_scorecard(process, make_user, role):
    _second_submits(process)
    lead = make_user(role)
    result = services.debrief(process.candidate.id, actor=lead)
    assert result.aggregate.trait("drive").ratings == [2]
    assert result.pending == [process.first.name]
    assert services.open_scorecard(process.second_assignment, actor=lead).scorecard is not None


def test_nobody_else_reads_a_draft_not_even_a_manager(process, make_user):
    services.save_draft(process.first_assignment, full_scorecard(4), actor=process.first)
    for someone in (process.manager, make_user(Role.ADMIN), process.second):
        with pytest.raises(NotFound):
            services.open_scorecard(process.first_assignment, actor=someone)
    assert services.debrief(process.candidate.id, actor=process.manager).aggregate.scored is False


def test_the_pages_and_api_hide_other_evidence_until_the_first_interviewer_submits(client, process):
    _second_submits(process)
    login(client, process.first)
    urls = [
        f"/hiring/candidates/{process.candidate.id}",
        f"/hiring/candidates/{process.candidate.id}/debrief",
        f"/api/hiring/candidates/{process.candidate.id}/debrief",
        "/hiring/",
        "/api/hiring/interviews",
        f"/hiring/scorecards/{process.first_assignment}",
    ]
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
        assert SECRET not in response.get_data(as_text=True), url
    assert client.get(f"/api/hiring/candidates/{process.candidate.id}/debrief").json["aggregate"] is None
    assert client.get(f"/hiring/scorecards/{process.second_assignment}").status_code == 404
    assert (
        b"Submit your scorecard first"
        in client.get(f"/hiring/candidates/{process.candidate.id}/debrief").data
    )

    services.submit_scorecard(process.first_assignment, full_scorecard(3), actor=process.first)
    debrief = client.get(f"/hiring/candidates/{process.candidate.id}/debrief").get_data(as_text=True)
    assert SECRET in debrief
    assert client.get(f"/api/hiring/candidates/{process.candidate.id}/debrief").json["scores_visible"] is True


def test_the_comparison_page_hides_candidates_the_viewer_still_has_to_score(make_process, make_user):
    manager = make_user(Role.MANAGER)
    other = make_user(Role.AUTHOR)
    scored = make_process(manager=manager, name="Scored Person", interviewers=[other])
    services.submit_scorecard(scored.first_assignment, full_scorecard(3), actor=other)
    mine = make_process(
        manager=manager, name="Mine To Score", interviewers=[manager, other], opening=scored.opening
    )
    services.submit_scorecard(mine.second_assignment, full_scorecard(1), actor=other)
    _, _, rows = services.compare_opening(scored.opening.id, actor=manager)
    by_name = {row.candidate.name: row for row in rows}
    assert by_name["Mine To Score"].aggregate is None
    assert by_name["Scored Person"].aggregate.trait("drive").mean == 3


@pytest.mark.parametrize("role", [Role.MANAGER, Role.ADMIN])
def test_a_lead_who_interviews_cannot_export_other_scorecards_before_submitting(
    make_process, make_user, client, role
):
    lead = make_user(role, name="Lead Interviewer")
    p = make_process(interviewers=[lead, make_user(Role.MEMBER, name="Second Interviewer")])
    _second_submits(p)
    with pytest.raises(Conflict):
        services.export_candidate(p.candidate.id, actor=lead)
    login(client, lead)
    for url in (
        f"/api/hiring/candidates/{p.candidate.id}",
        f"/hiring/candidates/{p.candidate.id}/export.json",
    ):
        body = client.get(url)
        assert body.status_code == 409
        assert SECRET not in body.get_data(as_text=True) and "submit your own scorecard" in body.get_data(
            as_text=True
        )

    services.submit_scorecard(p.first_assignment, full_scorecard(3), actor=lead)
    assert SECRET in client.get(f"/api/hiring/candidates/{p.candidate.id}").get_data(as_text=True)
