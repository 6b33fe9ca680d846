"""Shadowing: every scheduling conflict, availability in the host's zone, the planner, notes, progress."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from kms.auth import services as auth_services
from kms.errors import Conflict, Forbidden, Invalid
from kms.extensions import db, unit_of_work
from kms.training import services
from kms.training.models import ShadowSession
from kms.training.services._common import local_to_utc
from kms.training.services.shadowing import HostPlan, plan_sessions, within_availability

WEEKDAYS_9_TO_5 = [(d, time(9), time(17)) for d in range(5)]


@pytest.fixture
def host(make_user, admin):
    person = make_user(name="Hana Host", team="EMEA", time_zone="America/New_York")
    services.set_host(person.id, actor=admin)
    services.set_availability(person.id, WEEKDAYS_9_TO_5, actor=admin)
    db.session.commit()  # the test is the caller: it owns the transaction
    return person


@pytest.fixture
def trainee(make_user):
    return make_user(
        name="Tom Trainee", team="EMEA", time_zone="America/New_York", start_date=date(2026, 11, 2)
    )


def at(day: int, hour: int, minute: int = 0, month: int = 11) -> datetime:
    """A New York wall-clock time in 2026, as UTC."""
    return local_to_utc(datetime(2026, month, day, hour, minute), "America/New_York")


def book(trainee, host, start, end, actor, **kwargs):
    return services.schedule_session(
        trainee_id=trainee.id, host_id=host.id, starts_at=start, ends_at=end, actor=actor, **kwargs
    )


def test_a_session_inside_availability_is_booked_in_utc(trainee, host, admin):
    session = book(trainee, host, at(3, 9), at(3, 10, 30), admin, focus="Refunds", format="ticket queue")
    assert session.starts_at == datetime(2026, 11, 3, 14, tzinfo=UTC)
    assert session.status.value == "scheduled" and session.sequence == 0


def test_end_before_start_is_refused(trainee, host, admin):
    with pytest.raises(Invalid) as error:
        book(trainee, host, at(3, 11), at(3, 10), admin)
    assert error.value.field == "ends_at"


def test_outside_availability_is_refused(trainee, host, admin):
    with pytest.raises(Invalid, match="availability"):
        book(trainee, host, at(3, 16, 30), at(3, 17, 30), admin)
    with pytest.raises(Invalid, match="availability"):
        book(trainee, host, at(7, 10), at(7, 11), admin)  # a Saturday


def test_availability_is_read_in_the_hosts_zone_across_dst():
    class Window:
        weekday, start_time, end_time = 3, time(9), time(10)

    # Thursday 09:00 in New York is 13:00Z before the November change and 14:00Z after it.
    assert within_availability(
        [Window],
        "America/New_York",
        datetime(2026, 10, 29, 13, tzinfo=UTC),
        datetime(2026, 10, 29, 14, tzinfo=UTC),
    )
    assert not within_availability(
        [Window],
        "America/New_York",
        datetime(2026, 11, 5, 13, tzinfo=UTC),
        datetime(2026, 11, 5, 14, tzinfo=UTC),
    )
    assert within_availability(
        [Window],
        "America/New_York",
        datetime(2026, 11, 5, 14, tzinfo=UTC),
        datetime(2026, 11, 5, 15, tzinfo=UTC),
    )


def test_an_overlap_for_the_host_is_refused(trainee, host, admin, make_user):
    other = make_user(team="EMEA")
    book(other, host, at(3, 9), at(3, 10), admin)
    with pytest.raises(Conflict, match="Hana Host"):
        book(trainee, host, at(3, 9, 30), at(3, 10, 30), admin)


def test_an_overlap_for_the_trainee_is_refused(trainee, host, admin, make_user):
    second_host = make_user(name="Sam Second", team="EMEA", time_zone="America/New_York")
    services.set_host(second_host.id, actor=admin)
    services.set_availability(second_host.id, WEEKDAYS_9_TO_5, actor=admin)
    book(trainee, host, at(3, 9), at(3, 10), admin)
    with pytest.raises(Conflict, match="Tom Trainee"):
        book(trainee, second_host, at(3, 9, 59), at(3, 11), admin)


def test_back_to_back_and_cancelled_sessions_do_not_conflict(trainee, host, admin):
    first = book(trainee, host, at(3, 9), at(3, 10), admin)
    book(trainee, host, at(3, 10), at(3, 11), admin)
    services.set_session_status(first.id, "cancelled", actor=admin)
    assert book(trainee, host, at(3, 9), at(3, 10), admin).id


def test_an_inactive_trainee_or_host_is_refused(trainee, host, admin):
    auth_services.update_user(host.id, actor=admin, role="member", team="EMEA", start_date=None, active=False)
    with pytest.raises(Invalid, match="deactivated"):
        book(trainee, host, at(3, 9), at(3, 10), admin)
    auth_services.update_user(host.id, actor=admin, role="member", team="EMEA", start_date=None, active=True)
    auth_services.update_user(
        trainee.id, actor=admin, role="member", team="EMEA", start_date=None, active=False
    )
    with pytest.raises(Invalid, match="deactivated"):
        book(trainee, host, at(3, 9), at(3, 10), admin)


def test_someone_who_is_not_a_host_cannot_be_booked(trainee, admin, make_user):
    with pytest.raises(Invalid, match="not a shadowing host"):
        book(trainee, make_user(team="EMEA"), at(3, 9), at(3, 10), admin)


def test_times_that_do_not_exist_or_happen_twice_are_refused():
    with pytest.raises(Invalid, match="does not exist"):
        local_to_utc(datetime(2026, 3, 8, 2, 30), "America/New_York")
    with pytest.raises(Invalid, match="happens twice"):
        local_to_utc(datetime(2026, 11, 1, 1, 30), "America/New_York")
    assert local_to_utc(datetime(2026, 11, 1, 3, 0), "America/New_York") == datetime(
        2026, 11, 1, 8, tzinfo=UTC
    )


def test_moving_a_session_bumps_its_sequence_and_rechecks_conflicts(trainee, host, admin, make_user):
    other = make_user(team="EMEA")
    book(other, host, at(4, 9), at(4, 10), admin)
    session = book(trainee, host, at(3, 9), at(3, 10), admin)
    with pytest.raises(Conflict):
        services.update_session(
            session.id,
            starts_at=at(4, 9),
            ends_at=at(4, 10),
            host_id=host.id,
            focus="",
            format="live calls",
            actor=admin,
        )
    moved = services.update_session(
        session.id,
        starts_at=at(3, 11),
        ends_at=at(3, 12),
        host_id=host.id,
        focus="Escalations",
        format="screen share",
        actor=admin,
    )
    assert moved.sequence == 1 and moved.starts_at == at(3, 11) and moved.uid == session.uid


def test_the_trainee_writes_notes_and_the_host_feedback_and_nobody_else(trainee, host, admin, make_user):
    session = book(trainee, host, at(3, 9), at(3, 10), admin)
    services.save_session_notes(session.id, "Learned the refund macro.", actor=trainee)
    services.save_session_notes(session.id, "Asked great questions.", actor=host)
    assert (session.trainee_notes, session.host_feedback) == (
        "Learned the refund macro.",
        "Asked great questions.",
    )
    with pytest.raises(Exception) as error:
        services.save_session_notes(session.id, "me too", actor=make_user(team="EMEA"))
    assert type(error.value).__name__ == "NotFound"


def test_only_the_host_or_a_manager_marks_a_session_done(trainee, host, admin):
    session = book(trainee, host, at(3, 9), at(3, 10), admin)
    with pytest.raises(Forbidden):
        services.set_session_status(session.id, "done", actor=trainee)
    assert services.set_session_status(session.id, "done", actor=host).status.value == "done"


def test_done_sessions_count_toward_onboarding_progress(trainee, host, admin):
    sessions = [book(trainee, host, at(3, h), at(3, h + 1), admin) for h in (9, 10)]
    assert services.my_onboarding(trainee.id, actor=trainee).percent == 0
    services.set_session_status(sessions[0].id, "done", actor=host)
    assert services.my_onboarding(trainee.id, actor=trainee).percent == 50


def test_the_planner_spreads_sessions_over_hosts_and_confirming_books_them(trainee, host, admin, make_user):
    oslo = make_user(name="Olga Oslo", team="EMEA", time_zone="Europe/Oslo")
    services.set_host(oslo.id, actor=admin)
    services.set_availability(oslo.id, WEEKDAYS_9_TO_5, actor=admin)
    plan = services.propose_plan(
        trainee.id,
        days=2,
        sessions_per_day=3,
        minutes=60,
        actor=admin,
        now=datetime(2026, 10, 30, tzinfo=UTC),
    ).proposals
    assert len(plan) == 6 and {p.host_id for p in plan} == {host.id, oslo.id}
    booked = services.confirm_plan(
        trainee.id, [services.PlannedSession(p.host_id, p.starts_at, p.ends_at) for p in plan], actor=admin
    )
    assert len(booked) == 6
    again = services.propose_plan(
        trainee.id,
        days=1,
        sessions_per_day=2,
        minutes=60,
        actor=admin,
        now=datetime(2026, 10, 30, tzinfo=UTC),
    ).proposals
    assert all(not (p.starts_at < b.ends_at and b.starts_at < p.ends_at) for p in again for b in booked)


def test_the_planner_says_how_many_sessions_fit_and_why_the_rest_did_not(trainee, admin, make_user):
    mondays = make_user(name="Mo Mornings", team="EMEA", time_zone="America/New_York")
    services.set_host(mondays.id, windows=[(0, time(9), time(12))], actor=admin)  # room for two of 90 minutes
    ask = dict(
        days=2,
        sessions_per_day=4,
        minutes=90,
        first_day=date(2026, 11, 2),
        actor=admin,
        now=datetime(2026, 10, 30, tzinfo=UTC),
    )
    week = services.propose_plan(trainee.id, window_days=7, **ask)
    assert (len(week.proposals), week.requested, week.missing) == (2, 8, 6)
    assert (week.short_availability, week.short_booked, week.short_window) == (2, 0, 4)
    assert week.wider_window == 14
    fortnight = services.propose_plan(trainee.id, window_days=week.wider_window, **ask)
    assert len(fortnight.proposals) == 4 and {p.starts_at.date() for p in fortnight.proposals} == {
        date(2026, 11, 2),
        date(2026, 11, 9),
    }
    assert (fortnight.short_availability, fortnight.short_booked, fortnight.short_window) == (4, 0, 0)
    assert fortnight.wider_window is None


def test_the_planner_counts_sessions_lost_to_double_booking(trainee, host, admin, make_user):
    other = make_user(name="Otto Other", team="EMEA", time_zone="America/New_York")
    book(other, host, at(2, 9), at(2, 13), admin)
    outcome = services.propose_plan(
        trainee.id,
        days=1,
        sessions_per_day=4,
        minutes=90,
        first_day=date(2026, 11, 2),
        actor=admin,
        now=datetime(2026, 10, 30, tzinfo=UTC),
    )
    assert [p.starts_at for p in outcome.proposals] == [at(2, 13), at(2, 14, 30)]
    assert (outcome.short_availability, outcome.short_booked, outcome.short_window) == (0, 2, 0)


def test_the_planner_refuses_a_window_it_cannot_search(trainee, host, admin):
    with pytest.raises(Invalid, match="days ahead"):
        services.propose_plan(
            trainee.id, days=1, sessions_per_day=1, minutes=60, window_days=365, actor=admin
        )


def test_confirming_a_plan_with_a_clash_books_nothing(trainee, host, admin):
    start = at(3, 9)
    rows = [
        services.PlannedSession(host.id, start, start + timedelta(hours=1)),
        services.PlannedSession(host.id, start + timedelta(minutes=30), start + timedelta(hours=2)),
    ]
    with pytest.raises(Conflict, match="Session 2"), unit_of_work():
        services.confirm_plan(trainee.id, rows, actor=admin)
    assert db.session.scalar(select(func.count(ShadowSession.id))) == 0


ZONES = ["UTC", "America/New_York", "Europe/Oslo", "Asia/Kolkata", "Australia/Sydney", "America/Los_Angeles"]
window = st.tuples(st.integers(0, 6), st.integers(6, 15), st.integers(1, 8)).map(
    lambda w: (w[0], time(w[1]), time(min(23, w[1] + w[2])))
)
host_plans = st.lists(
    st.tuples(st.sampled_from(ZONES), st.lists(window, min_size=1, max_size=6)), min_size=1, max_size=4
)


@settings(max_examples=150, deadline=None)
@given(
    hosts=host_plans,
    trainee_zone=st.sampled_from(ZONES),
    days=st.integers(1, 4),
    per_day=st.integers(1, 6),
    minutes=st.sampled_from([30, 45, 60, 90, 120]),
    first=st.dates(date(2026, 1, 1), date(2026, 12, 31)),
    busy_hours=st.lists(st.integers(0, 96), max_size=6),
)
def test_the_planner_never_double_books_and_stays_inside_availability(
    hosts, trainee_zone, days, per_day, minutes, first, busy_hours
):
    plans = [HostPlan(user_id=i + 1, time_zone=zone, windows=tuple(ws)) for i, (zone, ws) in enumerate(hosts)]
    origin = datetime.combine(first, time(0), tzinfo=UTC)
    busy = {1: [(origin + timedelta(hours=h), origin + timedelta(hours=h, minutes=90)) for h in busy_hours]}
    trainee_busy = [(origin + timedelta(hours=h + 3), origin + timedelta(hours=h + 4)) for h in busy_hours]
    outcome = plan_sessions(
        trainee_tz=trainee_zone,
        first_day=first,
        days=days,
        sessions_per_day=per_day,
        minutes=minutes,
        hosts=plans,
        busy=busy,
        trainee_busy=trainee_busy,
    )
    plan = outcome.proposals
    reasons = (outcome.short_availability, outcome.short_booked, outcome.short_window)
    assert min(reasons) >= 0 and len(plan) + sum(reasons) == outcome.requested == days * per_day

    class W:
        def __init__(self, w):
            self.weekday, self.start_time, self.end_time = w

    by_host = {p.user_id: p for p in plans}
    for i, a in enumerate(plan):
        assert a.ends_at - a.starts_at == timedelta(minutes=minutes)
        host = by_host[a.host_id]
        assert within_availability([W(w) for w in host.windows], host.time_zone, a.starts_at, a.ends_at)
        for start, end in busy.get(a.host_id, []) + trainee_busy:
            assert not (a.starts_at < end and start < a.ends_at)
        for b in plan[i + 1 :]:
            assert not (a.starts_at < b.ends_at and b.starts_at < a.ends_at)  # the trainee is never in two
    days_used: dict[date, int] = {}
    for p in plan:
        day = p.starts_at.astimezone(ZoneInfo(trainee_zone)).date()
        days_used[day] = days_used.get(day, 0) + 1
    assert len(days_used) <= days and all(n <= per_day for n in days_used.values())
