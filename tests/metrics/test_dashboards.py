"""Dashboards: who sees whose figures, what the pages and the ranking API show, and a fixed statement count."""

from __future__ import annotations

from datetime import date

import pytest

from kms.auth.models import Role
from kms.extensions import db, utcnow
from kms.metrics.services import dashboards, ranking
from tests.conftest import login
from tests.metrics.days import add_days


@pytest.fixture
def team(make_user):
    """A team of three reps with a manager, another team's rep, and 30 days of figures for each rep."""
    today = utcnow().date()
    people = {
        "manager": make_user(Role.MANAGER, team="EMEA", name="Mia Manager"),
        "star": make_user(Role.MEMBER, team="EMEA", name="Stella Star"),
        "lucky": make_user(Role.MEMBER, team="EMEA", name="Lucky Three"),
        "dip": make_user(Role.MEMBER, team="EMEA", name="Dee Dip"),
        "other": make_user(Role.MEMBER, team="AMER", name="Otto Other"),
    }
    add_days(people["star"], today, 30, csat=(8, 8), handle=8.0)  # 240 rated, all good
    add_days(people["lucky"], today, 1, tickets=3, csat=(3, 3))  # 3 perfect ratings
    add_days(people["dip"], today, 30, csat=(6, 8), fcr=(4, 10), handle=25.0)
    add_days(people["other"], today, 30, csat=(7, 8))
    db.session.commit()
    return people


def test_a_rep_sees_their_own_figures_beside_the_team_and_nobody_elses(client, team):
    login(client, team["dip"])
    page = client.get("/metrics/me").get_data(as_text=True)
    assert "Dee Dip" in page and "Team EMEA" in page
    assert "75%" in page  # own CSAT over the range (6 of 8 a day)
    assert "<svg" in page and 'class="target-line"' in page  # the team benchmark line
    assert "Stella Star" not in page
    assert client.get(f"/metrics/reps/{team['star'].id}").status_code == 404
    assert client.get("/metrics/team").status_code == 403
    api = client.get("/api/metrics/reps?metric=csat").get_json()
    assert [r["email"] for r in api["reps"]] == [team["dip"].email]  # only their own row


def test_a_manager_sees_their_teams_reps_but_not_another_teams(client, team):
    login(client, team["manager"])
    page = client.get("/metrics/team").get_data(as_text=True)
    for name in ("Stella Star", "Lucky Three", "Dee Dip"):
        assert name in page
    assert "Otto Other" not in page
    assert client.get(f"/metrics/reps/{team['star'].id}").status_code == 200
    assert client.get(f"/metrics/reps/{team['other'].id}").status_code == 404
    assert client.get("/metrics/team?team=AMER").status_code == 404
    assert client.get("/metrics/company").status_code == 200


def test_an_admin_sees_any_team(client, team, make_user):
    login(client, make_user(Role.ADMIN, team="Ops"))
    page = client.get("/metrics/team?team=AMER&period=month").get_data(as_text=True)
    assert "Otto Other" in page and "Stella Star" not in page


def test_ranking_api_puts_240_good_ratings_before_3_perfect_ones_and_says_why(client, team):
    login(client, team["manager"])
    body = client.get("/api/metrics/reps?metric=csat").get_json()
    emails = [r["email"] for r in body["reps"]]
    assert emails.index(team["star"].email) < emails.index(team["lucky"].email)
    star = body["reps"][0]
    assert star["email"] == team["star"].email and star["count"] == 240 and star["value"] == 1.0
    assert star["lower_bound"] < 1.0
    assert star["why"].startswith("CSAT 100% (lower bound 98%) over 240 rated tickets; team ")
    lucky = next(r for r in body["reps"] if r["email"] == team["lucky"].email)
    assert lucky["ranked"] is False and "at least 30 needed" in lucky["why"]
    handle = client.get("/api/metrics/reps?metric=handle_minutes").get_json()["reps"]
    assert handle[0]["email"] == team["star"].email  # lower is better
    assert "shrunk toward the team" in handle[0]["why"]
    reopened = client.get("/api/metrics/reps?metric=reopened").get_json()["reps"]
    assert "upper_bound" in reopened[0]
    assert client.get("/api/metrics/reps?metric=bogus").status_code == 400


def test_dashboards_run_a_fixed_number_of_statements_whatever_the_size(app, make_user, count_queries):
    today = date(2026, 6, 30)
    manager = make_user(Role.MANAGER, team="Big")

    def statements(reps: int, days: int) -> dict[str, int]:
        for _ in range(reps):
            add_days(make_user(Role.MEMBER, team="Big"), today, days)
        db.session.commit()
        counts = {}
        for name, call in (
            ("team", lambda: dashboards.team_dashboard(actor=manager, period="week", today=today)),
            ("company", lambda: dashboards.company_dashboard(actor=manager, period="month", today=today)),
            ("rep", lambda: dashboards.rep_dashboard(manager.id, actor=manager, period="week", today=today)),
            ("rank", lambda: ranking.rank_reps("csat", actor=manager, today=today)),
        ):
            db.session.expire_all()
            with count_queries() as seen:
                call()
            counts[name] = len(seen)
        return counts

    small = statements(2, 5)
    large = statements(10, 200)
    assert small == large
    assert small["team"] <= 6


def test_sums_over_any_range_equal_the_days_in_it(app, make_user):
    """Weeks and months read whole, with edge days added or taken away, give exactly the range's days."""
    from datetime import timedelta

    from sqlalchemy import func, select

    from kms.metrics.models import RepDay
    from kms.metrics.services import totals

    reps = [make_user(Role.MEMBER, team="Edge") for _ in range(2)]
    last = date(2026, 3, 31)
    for n, rep in enumerate(reps):
        for block in range(8):  # 8 blocks of 10 days, each with its own volume and handle time
            add_days(
                rep, last - timedelta(days=10 * block), 10, tickets=1 + block + n, handle=2.0 + 7 * block
            )
    db.session.commit()

    def direct(lo, hi):
        query = select(RepDay.user_id, func.sum(RepDay.tickets), func.sum(RepDay.handle_count))
        rows = db.session.execute(query.where(RepDay.day.between(lo, hi)).group_by(RepDay.user_id))
        return {user: (tickets, timed) for user, tickets, timed in rows}

    for lo, hi in [(date(2026, 1, 14), date(2026, 3, 3)), (date(2026, 2, 2), date(2026, 2, 5)),
                   (date(2026, 1, 1), date(2026, 3, 31)), (date(2026, 2, 27), date(2026, 3, 1))]:  # fmt: skip
        found = totals.by_rep(team="Edge", start=lo, end=hi)
        assert {u: (t.tickets, t.handle_count) for u, t in found.items() if t.tickets} == direct(lo, hi)
        for period in ("week", "month"):
            starts = dashboards.periods_between(lo, hi, period)
            series = totals.by_period(period, starts, team="Edge", start=lo, end=hi)
            ends = [s - timedelta(days=1) for s in starts[1:]] + [hi]
            for first, end, value in zip(starts, ends, series, strict=True):
                want = direct(max(first, lo), end).values()
                assert (value.tickets, value.handle_count) == (
                    sum(t for t, _ in want),
                    sum(h for _, h in want),
                )
    one = totals.by_rep(user_ids=[reps[0].id], start=date(2026, 2, 24), end=date(2026, 3, 10))[reps[0].id]
    hist_days = totals.by_rep(user_ids=[reps[0].id], start=date(2026, 2, 24), end=date(2026, 2, 24))[
        reps[0].id
    ]
    assert sum(one.hist) == one.handle_count and sum(hist_days.hist) == hist_days.handle_count > 0
