"""Training's notices: assigned, due in two days, overdue (learner and their managers, once each), shadowing
booked, moved and cancelled with the invitation (.ics), an article a learner studied changed, and the weekly
overdue summary event per team."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
import time_machine
from icalendar import Calendar

from kms.articles import services as handbook
from kms.articles.models import Category
from kms.auth.models import Role
from kms.extensions import db
from kms.training import services
from kms.training.services._common import local_to_utc
from tests.notify_kinds.support import events, inbox, run_job
from tests.training.conftest import admin, author, make_article, make_module, manager  # noqa: F401 - fixtures


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)  # no SQL of its own to check on PostgreSQL
def test_an_assigned_module_reaches_the_learner_and_nobody_else(app, make_module, make_user, manager):
    learner = make_user(team="EMEA", name="Lea Learner")
    bystander = make_user(team="EMEA")
    module = make_module()
    services.assign_module(learner.id, module.id, date(2026, 12, 18), actor=manager)
    services.assign_module(
        learner.id, module.id, date(2026, 12, 19), actor=manager
    )  # a new date, not new work
    db.session.commit()
    got = inbox("training.assigned")
    assert set(got) == {learner.id}
    [notice] = got[learner.id]
    assert "Refunds 101" in notice.title and "Fri 18 Dec 2026" in notice.body
    assert bystander.id not in got and manager.id not in got


def _learner_with_module_due(make_user, make_module, manager, due: date, zone="America/New_York"):
    with time_machine.travel(datetime(2026, 11, 20, 12, tzinfo=UTC), tick=False):
        learner = make_user(team="EMEA", name="Lea Learner", time_zone=zone)
        module = make_module(title="Escalations", quiz=False)
        services.assign_module(learner.id, module.id, due, actor=manager)
        db.session.commit()
    return learner, module


def test_due_soon_goes_out_once_on_the_learners_local_day_two_days_before(
    app, make_module, make_user, manager
):
    learner, _ = _learner_with_module_due(make_user, make_module, manager, date(2026, 12, 10))
    # 23:30 on 7 Dec in New York is already 8 Dec in UTC: three days before, nothing yet.
    run_job(app, "training-due-soon", datetime(2026, 12, 8, 4, 30, tzinfo=UTC))
    assert learner.id not in inbox("training.due_soon")
    for hour in (6, 7, 20):  # 8 Dec in New York, run hourly: one reminder
        run_job(app, "training-due-soon", datetime(2026, 12, 8, hour, tzinfo=UTC))
    [notice] = inbox("training.due_soon")[learner.id]
    assert notice.title == "Due in 2 days: Escalations"


def test_overdue_reaches_the_learner_and_their_teams_manager_once(app, make_module, make_user, manager):
    learner, _ = _learner_with_module_due(make_user, make_module, manager, date(2026, 12, 10))
    done, finished = _learner_with_module_due(make_user, make_module, manager, date(2026, 12, 10))
    other_manager = make_user(Role.MANAGER, team="APAC")
    with time_machine.travel(datetime(2026, 12, 1, tzinfo=UTC), tick=False):
        for lesson in finished.lessons:
            services.complete_lesson(lesson.id, actor=done)
        db.session.commit()
    # Midnight in New York ends 10 Dec at 05:00 UTC on the 11th.
    run_job(app, "training-overdue", datetime(2026, 12, 11, 4, 59, tzinfo=UTC))
    assert inbox("training.overdue") == {}
    for hour in (5, 6):
        run_job(app, "training-overdue", datetime(2026, 12, 11, hour, tzinfo=UTC))
    assert list(inbox("training.overdue")) == [learner.id]
    team = inbox("training.team_overdue")
    assert set(team) == {manager.id} and other_manager.id not in team
    [notice] = team[manager.id]
    assert "Lea Learner" in notice.title and "Escalations" in notice.title


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)  # the overdue query runs on both above
def test_the_weekly_summary_counts_each_teams_overdue_modules_without_names(
    app, make_module, make_user, manager
):
    _learner_with_module_due(make_user, make_module, manager, date(2026, 12, 1))
    run_job(app, "training-overdue-summary", datetime(2026, 12, 7, 8, tzinfo=UTC))
    [event] = events("training.overdue_summary")
    assert event.team == "EMEA"
    assert event.payload["overdue"] == 1 and event.payload["modules"] == [
        {"title": "Escalations", "overdue": 1}
    ]
    assert "Lea" not in str(event.payload)


def _pair(make_user, admin):
    host = make_user(name="Hana Host", team="EMEA", time_zone="America/New_York")
    trainee = make_user(name="Tom Trainee", team="EMEA", time_zone="Europe/Oslo")
    services.set_host(host.id, actor=admin, windows=[(d, time(8), time(17)) for d in range(5)])
    db.session.commit()
    return trainee, host


def _ics(notice) -> Calendar:
    [(name, mimetype, content)] = notice.attachments
    assert name.endswith(".ics") and mimetype.startswith("text/calendar")
    return Calendar.from_ical(content)


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)  # no SQL of its own to check on PostgreSQL
def test_a_session_booked_moved_and_cancelled_sends_invitations_with_one_uid(app, make_user, admin):
    trainee, host = _pair(make_user, admin)
    other_host = make_user(name="Otto Host", time_zone="Asia/Tokyo")
    services.set_host(other_host.id, actor=admin, windows=[(d, time(0), time(23)) for d in range(7)])
    bystander = make_user(team="EMEA")
    start = local_to_utc(datetime(2026, 12, 15, 9), "America/New_York")
    session = services.schedule_session(
        trainee_id=trainee.id,
        host_id=host.id,
        starts_at=start,
        ends_at=start + timedelta(hours=1),
        actor=admin,
    )
    db.session.commit()
    booked = inbox("shadowing.booked")
    assert set(booked) == {trainee.id, host.id} and bystander.id not in booked
    # Each reads the time in their own zone.
    assert "15:00 (Europe/Oslo)" in booked[trainee.id][0].title
    assert "09:00 (America/New_York)" in booked[host.id][0].title
    request = _ics(booked[trainee.id][0])
    [event] = request.walk("VEVENT")
    assert str(request["method"]) == "REQUEST" and int(event["sequence"]) == 0
    uid = str(event["uid"])
    attendees = {str(a) for a in event["attendee"]}
    assert attendees == {f"mailto:{trainee.email}", f"mailto:{host.email}"}

    later = start + timedelta(hours=2)
    services.update_session(
        session.id,
        starts_at=later,
        ends_at=later + timedelta(hours=1),
        host_id=other_host.id,
        focus="Refunds",
        format="live calls",
        actor=admin,
    )
    db.session.commit()
    moved = inbox("shadowing.moved")
    assert set(moved) == {trainee.id}
    assert other_host.id in inbox("shadowing.booked")  # for the new host it is a new session
    [event] = _ics(moved[trainee.id][0]).walk("VEVENT")
    assert (str(event["uid"]), int(event["sequence"])) == (uid, 1)
    [dropped] = inbox("shadowing.cancelled")[host.id]  # the host taken off it gets a cancellation
    cancel = _ics(dropped)
    assert str(cancel["method"]) == "CANCEL" and str(cancel.walk("VEVENT")[0]["uid"]) == uid

    services.set_session_status(session.id, "cancelled", actor=admin)
    db.session.commit()
    cancelled = inbox("shadowing.cancelled")
    assert set(cancelled) == {trainee.id, other_host.id, host.id}
    cancel = _ics(cancelled[trainee.id][0])
    [event] = cancel.walk("VEVENT")
    assert str(cancel["method"]) == "CANCEL" and (str(event["uid"]), int(event["sequence"])) == (uid, 2)
    assert str(event["status"]) == "CANCELLED"


def test_learners_who_studied_an_older_revision_hear_it_changed(
    app, make_article, make_module, make_user, author
):
    article = make_article(slug="refund-request", body="Old steps.\n")
    module = make_module(articles=[article])
    studied, not_yet = make_user(name="Sam Studied"), make_user(name="Nia Notyet")
    services.complete_lesson(module.lessons[0].id, actor=studied)
    db.session.add(Category(name="Billing", requires_review=False))
    db.session.commit()
    current = handbook.get_article(article.id)
    handbook.save_article(
        article.id,
        handbook.ArticleFields(
            title=current.title, body="New steps.\n", category="Billing", status="published", reason="Fix"
        ),
        base_version=current.version,
        actor=author,
    )
    db.session.commit()
    got = inbox("training.article_changed")
    assert set(got) == {studied.id} and not_yet.id not in got
    [notice] = got[studied.id]
    assert notice.link == ("training.lesson_changes", {"lesson_id": module.lessons[0].id})


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)  # no SQL of its own to check on PostgreSQL
def test_a_confirmed_plan_is_one_notice_each_with_one_invitation_per_session(app, make_user, admin):
    trainee, host = _pair(make_user, admin)
    first = local_to_utc(datetime(2026, 12, 15, 9), "America/New_York")
    booked = services.confirm_plan(
        trainee.id,
        [
            services.PlannedSession(
                host.id, first + timedelta(days=days), first + timedelta(days=days, hours=1)
            )
            for days in (0, 1)
        ],
        actor=admin,
    )
    db.session.commit()
    got = inbox("shadowing.booked")
    assert set(got) == {trainee.id, host.id}
    [notice] = got[trainee.id]
    assert notice.title == "2 shadowing sessions booked"
    calendars = [Calendar.from_ical(content) for _, _, content in notice.attachments]
    assert {str(cal.walk("VEVENT")[0]["uid"]) for cal in calendars} == {s.uid for s in booked}
