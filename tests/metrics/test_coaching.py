"""Top performers become shadowing hosts in one click; dipping figures suggest a refresher the manager assigns
in one click; the planner prefers a confirmed host for the skill a trainee's path needs; cadence and ramp."""

from __future__ import annotations

from datetime import date, time, timedelta

import pytest

from kms.auth.models import Role
from kms.extensions import db, utcnow
from kms.hiring.models import Candidate, Opening, Stage
from kms.metrics.services import ramp, refreshers
from kms.training import services as training
from kms.training.models import ShadowHost
from kms.training.services.shadowing import HostPlan, plan_sessions
from tests.conftest import login
from tests.metrics.days import add_days


def published(author, title: str, tags=()):
    module = training.create_module(
        actor=author, title=title, summary="s", audience=["member"], tags=list(tags)
    )
    training.add_lesson(module.id, title="One", body="Body", actor=author)
    training.set_module_status(module.id, "published", actor=author)
    return module


@pytest.fixture
def team(make_user):
    today = utcnow().date()
    people = {
        "manager": make_user(Role.MANAGER, team="EMEA", name="Mia Manager"),
        "star": make_user(Role.MEMBER, team="EMEA", name="Stella Star"),
        "dip": make_user(Role.MEMBER, team="EMEA", name="Dee Dip"),
        "mid": make_user(Role.MEMBER, team="EMEA", name="Max Middle"),
    }
    add_days(people["star"], today, 30, csat=(10, 10), fcr=(8, 10))
    add_days(people["mid"], today, 30, csat=(8, 10), fcr=(8, 10))
    add_days(people["dip"], today, 30, csat=(8, 10), fcr=(4, 10))
    people["queue"] = published(people["manager"], "Working the ticket queue", tags=["troubleshooting"])
    db.session.commit()
    return people


def test_a_manager_confirms_a_suggested_top_performer_as_shadowing_host(client, team):
    login(client, team["manager"])
    page = client.get("/metrics/team").get_data(as_text=True)
    assert "Confirm Stella Star as shadowing host for CSAT" in page
    assert "Confirm Max Middle as shadowing host for CSAT" not in page  # the team average does not outperform
    response = client.post("/metrics/hosts/confirm", data={"user_id": team["star"].id, "metric": "csat"})
    assert response.status_code == 302
    host = db.session.get(ShadowHost, team["star"].id)
    assert host.active and {"csat", "empathy"} <= host.skill_set
    page = client.get("/metrics/team").get_data(as_text=True)
    assert "Shadowing host for CSAT" in page and "Confirm Stella Star as shadowing host for CSAT" not in page


def test_a_member_cannot_confirm_hosts_or_assign(client, team):
    login(client, team["dip"])
    assert (
        client.post("/metrics/hosts/confirm", data={"user_id": team["dip"].id, "metric": "csat"}).status_code
        == 403
    )
    assert (
        client.post(
            "/metrics/refreshers/assign", data={"user_id": team["dip"].id, "module_id": team["queue"].id}
        ).status_code
        == 403
    )


def test_a_dipping_fcr_suggests_the_refresher_and_one_click_assigns_it_to_my_onboarding(app, client, team):
    with_rule = refreshers.create_rule(
        metric="fcr",
        threshold=0.7,
        window_days=28,
        min_count=20,
        module_id=team["queue"].id,
        actor=team["manager"],
    )
    db.session.commit()
    assert with_rule.team == "EMEA"
    login(client, team["manager"])
    page = client.get("/metrics/team").get_data(as_text=True)
    assert "Assign “Working the ticket queue” to Dee Dip" in page
    assert "to Stella Star" not in page and "to Max Middle" not in page
    response = client.post(
        "/metrics/refreshers/assign", data={"user_id": team["dip"].id, "module_id": team["queue"].id}
    )
    assert response.status_code == 302
    assert "Assign “Working the ticket queue” to Dee Dip" not in client.get("/metrics/team").get_data(
        as_text=True
    )
    rep = app.test_client()
    login(rep, team["dip"])
    mine = rep.get("/training/me").get_data(as_text=True)
    assert "Working the ticket queue" in mine


def test_a_team_cadence_shows_who_is_due(client, team):
    refreshers.set_cadence(None, team["queue"].id, 3, actor=team["manager"])
    db.session.commit()
    login(client, team["manager"])
    page = client.get("/metrics/team").get_data(as_text=True)
    assert "“Working the ticket queue”, quarterly" in page
    assert page.count("Due now") == 3  # none of the three reps has done it yet (the manager is not listed)


def test_the_planner_prefers_a_confirmed_host_for_a_skill_the_path_needs():
    window = ((0, time(9), time(17)),)
    hosts = [HostPlan(1, "UTC", window), HostPlan(2, "UTC", window, frozenset({"csat", "empathy"}))]
    monday = date(2030, 1, 7)
    args = dict(
        trainee_tz="UTC",
        first_day=monday,
        days=1,
        sessions_per_day=1,
        minutes=60,
        hosts=hosts,
        busy={},
        trainee_busy=[],
        horizon_days=7,
    )
    assert plan_sessions(**args).proposals[0].host_id == 1  # no skill needed: the usual order
    assert plan_sessions(**args, needed_skills=frozenset({"empathy"})).proposals[0].host_id == 2


def _hires(make_user, count: int, team: str, first: int = 0):
    opening = Opening(title="CSM", team=team)
    db.session.add(opening)
    db.session.flush()
    for n in range(first, first + count):
        user = make_user(
            Role.MEMBER, team=team, name=f"Hire {n}", start_date=utcnow().date() - timedelta(days=60)
        )
        add_days(user, utcnow().date(), 20)
        db.session.add(
            Candidate(opening_id=opening.id, name=f"Hire {n}", stage=Stage.HIRED, hired_user_id=user.id)
        )
    db.session.commit()


def test_ramp_is_hidden_below_five_hires_and_shown_from_five(client, make_user):
    manager = make_user(Role.MANAGER, team="Small")
    _hires(make_user, 4, "Small")
    login(client, manager)
    page = client.get("/metrics/ramp").get_data(as_text=True)
    assert "at least 5 people" in page and "(now 4)" in page and "Hire 0" not in page
    _hires(make_user, 1, "Small", first=4)
    page = client.get("/metrics/ramp").get_data(as_text=True)
    assert "Hire 0" in page and "Hire 4" in page
    found = ramp.team_ramp(actor=manager)
    assert found.shown and all(h.metrics.tickets == 200 for h in found.hires)
