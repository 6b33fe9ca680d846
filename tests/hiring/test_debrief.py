"""The debrief and comparison: aggregation math on known data, the chart, and a fixed number of queries."""

import re

import pytest

from kms.auth.models import Role
from kms.hiring import services
from kms.hiring.models import Recommendation
from tests.conftest import login
from tests.hiring.conftest import full_scorecard

NAMES = [
    ("drive", "Drive"),
    ("coachability", "Coachability"),
    ("positivity", "Positivity"),
    ("empathy", "Empathy"),
]


def test_aggregate_computes_mean_spread_and_flags_from_known_ratings():
    rows = [
        ("Ann", "drive", 4, "", "", []),
        ("Bo", "drive", 2, "", "", []),
        ("Cy", "drive", 3, "", "", []),
        ("Ann", "coachability", 1, "", "", ["Blames others"]),
        ("Bo", "coachability", 2, "", "", []),
        ("Ann", "positivity", 3, "", "", []),
        ("Bo", "positivity", 3, "", "", []),
    ]
    result = services.aggregate(
        NAMES, rows, [Recommendation.YES, Recommendation.NO, Recommendation.YES, None]
    )
    drive, coach, positivity, empathy = result.traits
    assert (drive.mean, drive.spread, drive.disagreement) == (3.0, 2, True)
    assert (coach.mean, coach.spread, coach.disagreement, coach.cant_be_taught) == (1.5, 1, False, True)
    assert (positivity.mean, positivity.spread, positivity.disagreement) == (3.0, 0, False)
    assert (empathy.mean, empathy.spread, empathy.ratings) == (None, None, [])
    assert coach.red_flags == [("Blames others", "Ann")]
    assert result.cant_be_taught is True
    assert result.tally == {
        Recommendation.STRONG_NO: 0,
        Recommendation.NO: 1,
        Recommendation.YES: 2,
        Recommendation.STRONG_YES: 0,
    }


def test_a_mean_of_exactly_two_is_teachable_and_a_one_point_gap_is_no_disagreement():
    rows = [
        ("Ann", "drive", 2, "", "", []),
        ("Bo", "drive", 2, "", "", []),
        ("Ann", "empathy", 3, "", "", []),
        ("Bo", "empathy", 4, "", "", []),
    ]
    result = services.aggregate(NAMES, rows, [])
    assert result.trait("drive").mean == 2.0 and not result.cant_be_taught
    assert result.trait("empathy").disagreement is False
    assert result.trait("empathy").mean == 3.5


def test_the_debrief_aggregates_submitted_scorecards_only(process, make_user):
    services.submit_scorecard(
        process.first_assignment,
        full_scorecard(4, "strong yes", drive={"evidence": "Asked which metrics matter"}),
        actor=process.first,
    )
    services.submit_scorecard(
        process.second_assignment,
        full_scorecard(2, "no", coachability={"rating": 1, "evidence": "Blamed the manager"}),
        actor=process.second,
    )
    third = make_user(Role.AUTHOR)
    extra = services.schedule_interview(
        process.candidate.id,
        title="Extra",
        scheduled_at=None,
        interviewers=[(third.id, [])],
        actor=process.manager,
    )
    services.save_draft(extra.assignments[0].id, full_scorecard(1), actor=third)

    result = services.debrief(process.candidate.id, actor=process.manager)
    agg = result.aggregate
    assert sorted(agg.trait("drive").ratings) == [2, 4]
    assert agg.trait("drive").mean == 3.0 and agg.trait("drive").disagreement
    assert agg.trait("coachability").mean == 2.5 and agg.trait("coachability").spread == 3
    assert agg.cant_be_taught is False
    assert agg.tally[Recommendation.STRONG_YES] == 1 and agg.tally[Recommendation.NO] == 1
    assert result.pending == [third.name]


def test_the_debrief_page_shows_means_flags_and_an_svg_chart_without_inline_styles(client, process):
    services.submit_scorecard(
        process.first_assignment,
        full_scorecard(
            1,
            "strong no",
            **{k: {"evidence": "Weak"} for k in ("drive", "coachability", "positivity", "empathy")},
        ),
        actor=process.first,
    )
    services.submit_scorecard(process.second_assignment, full_scorecard(3), actor=process.second)
    login(client, process.manager)
    html = client.get(f"/hiring/candidates/{process.candidate.id}/debrief").get_data(as_text=True)
    assert "<svg" in html and 'role="img"' in html
    assert len(re.findall(r'<rect class="bar ', html)) == 4
    assert "2.00" in html and '<span class="badge badge-warn">disagreement</span>' in html
    assert "style=" not in html
    assert "<script>" not in html


def test_the_debrief_flags_a_trait_that_cannot_be_taught(client, process):
    low = full_scorecard(3, empathy={"rating": 1, "evidence": "Argued with the customer"})
    services.submit_scorecard(process.first_assignment, low, actor=process.first)
    login(client, process.manager)
    html = client.get(f"/hiring/candidates/{process.candidate.id}/debrief").get_data(as_text=True)
    assert '<span class="badge badge-danger">flagged</span>' in html
    assert '<span class="badge badge-danger">can\'t be taught</span>' in html and "bar-low" in html


def test_a_manager_records_a_decision_with_a_reason(client, process):
    login(client, process.manager)
    missing = client.post(f"/hiring/candidates/{process.candidate.id}/decision", data={"decision": "reject"})
    assert missing.status_code == 400 and "Write the reason" in missing.get_data(as_text=True)
    response = client.post(
        f"/hiring/candidates/{process.candidate.id}/decision",
        data={"decision": "reject", "reason": "Coachability too low"},
    )
    assert response.status_code == 302
    page = client.get(f"/hiring/candidates/{process.candidate.id}/debrief").get_data(as_text=True)
    assert "Coachability too low" in page and "rejected" in page


def _debrief_queries(count_queries, candidate_id, actor):
    with count_queries() as statements:
        services.debrief(candidate_id, actor=actor)
    return len(statements)


def _page_queries(client, count_queries, url):
    with count_queries() as statements:
        assert client.get(url).status_code == 200
    return len(statements)


def test_the_debrief_runs_the_same_number_of_queries_for_two_or_eight_interviewers(
    app, client, make_process, make_user, count_queries
):
    manager = make_user(Role.MANAGER)
    small = make_process(manager=manager, interviewers=[make_user(Role.AUTHOR) for _ in range(2)])
    large = make_process(manager=manager, interviewers=[make_user(Role.AUTHOR) for _ in range(8)])
    for p in (small, large):
        for assignment in (
            services.candidate_page(p.candidate.id, actor=manager).candidate.interviews[0].assignments
        ):
            services.submit_scorecard(assignment.id, full_scorecard(3), actor=assignment.interviewer)
    assert _debrief_queries(count_queries, small.candidate.id, manager) == _debrief_queries(
        count_queries, large.candidate.id, manager
    )
    login(client, manager)
    assert _page_queries(
        client, count_queries, f"/hiring/candidates/{small.candidate.id}/debrief"
    ) == _page_queries(client, count_queries, f"/hiring/candidates/{large.candidate.id}/debrief")


def test_the_comparison_runs_the_same_number_of_queries_for_two_or_six_candidates(
    app, client, make_process, make_user, count_queries
):
    manager = make_user(Role.MANAGER)
    interviewers = [make_user(Role.AUTHOR), make_user(Role.MEMBER)]
    counts = []
    login(client, manager)
    for size in (2, 6):
        opening = services.create_opening(f"Role {size}", actor=manager)
        for n in range(size):
            p = make_process(
                manager=manager, name=f"Person {size}-{n}", interviewers=interviewers, opening=opening
            )
            services.submit_scorecard(
                p.first_assignment,
                full_scorecard(
                    1 + n % 4,
                    **{k: {"evidence": "e"} for k in ("drive", "coachability", "positivity", "empathy")},
                ),
                actor=interviewers[0],
            )
        counts.append(_page_queries(client, count_queries, f"/hiring/openings/{opening.id}/compare"))
    assert counts[0] == counts[1]


def test_the_comparison_page_shows_every_candidate_of_the_role_side_by_side(client, make_process, make_user):
    manager = make_user(Role.MANAGER)
    first = make_process(manager=manager, name="Alpha Person")
    services.submit_scorecard(
        first.first_assignment,
        full_scorecard(
            4, **{k: {"evidence": "e"} for k in ("drive", "coachability", "positivity", "empathy")}
        ),
        actor=first.first,
    )
    make_process(manager=manager, name="Beta Person", opening=first.opening)
    login(client, manager)
    html = client.get(f"/hiring/openings/{first.opening.id}/compare").get_data(as_text=True)
    assert "Alpha Person" in html and "Beta Person" in html
    assert html.count("<meter") == 4 and "4.00" in html


@pytest.mark.parametrize("role", [Role.MANAGER, Role.ADMIN])
def test_the_board_lists_candidates_by_stage_for_leads(client, process, make_user, role):
    login(client, make_user(role))
    html = client.get("/hiring/").get_data(as_text=True)
    assert process.candidate.name in html and "Interviewing" in html and "0 of 2 scorecards" in html
