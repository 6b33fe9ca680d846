"""Calendars: .ics validity, UTC times across DST, escaping, UID/SEQUENCE/STATUS, private revocable feeds."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
from icalendar import Calendar

from kms.training import services
from kms.training.services._common import local_to_utc
from tests.conftest import login

HOSTILE = "Demo, prep; notes\r\nATTENDEE:mailto:x@evil"


@pytest.fixture
def pair(make_user, admin):
    host = make_user(name="Hana Host", team="EMEA", time_zone="America/New_York")
    trainee = make_user(
        name="Tom Trainee", team="EMEA", time_zone="Europe/Oslo", start_date=date(2026, 10, 26)
    )
    services.set_host(host.id, actor=admin)
    services.set_availability(host.id, [(d, time(8), time(17)) for d in range(5)], actor=admin)
    return trainee, host


def weekly_sessions(trainee, host, admin, **kwargs):
    """09:00 New York on the Thursday before and the Thursday after the 2026-11-01 fall-back change."""
    made = []
    for day in (date(2026, 10, 29), date(2026, 11, 5)):
        start = local_to_utc(datetime.combine(day, time(9)), "America/New_York")
        made.append(
            services.schedule_session(
                trainee_id=trainee.id,
                host_id=host.id,
                starts_at=start,
                ends_at=start + timedelta(hours=1),
                actor=admin,
                **kwargs,
            )
        )
    return made


def events(body: bytes):
    return [c for c in Calendar.from_ical(body).walk("VEVENT")]


def test_the_feed_gives_utc_times_that_follow_the_hosts_dst_change(pair, admin):
    trainee, host = pair
    weekly_sessions(trainee, host, admin)
    token = services.create_feed(actor=trainee)
    body = services.feed_ics(token)
    starts = sorted(e.decoded("dtstart") for e in events(body))
    assert starts == [datetime(2026, 10, 29, 13, tzinfo=UTC), datetime(2026, 11, 5, 14, tzinfo=UTC)]
    assert all(s.utcoffset() == timedelta(0) for s in starts)
    text = body.decode()
    assert "DTSTART:20261029T130000Z" in text and "TZID" not in text  # UTC times: nothing floating


def test_the_feed_lists_due_dates_as_all_day_events(make_module, make_user, admin):
    learner, module = make_user(time_zone="Asia/Tokyo"), make_module()
    services.assign_module(learner.id, module.id, date(2026, 12, 1), actor=admin)
    [event] = events(services.feed_ics(services.create_feed(actor=learner)))
    assert event.decoded("dtstart") == date(2026, 12, 1) and "Refunds 101" in str(event["summary"])


def test_a_hostile_focus_stays_one_escaped_summary_with_crlf_and_short_lines(pair, admin):
    trainee, host = pair
    [session, _] = weekly_sessions(trainee, host, admin, focus=HOSTILE[:200])
    body = services.session_ics(session.id, actor=trainee)
    text = body.decode()
    assert text.count("\r\n") == text.count("\n")  # CRLF line ends only
    assert all(len(line.encode()) <= 75 for line in text.split("\r\n"))
    unfolded = text.replace("\r\n ", "")
    assert unfolded.count("\r\nSUMMARY") == 1 and "\r\nATTENDEE" not in unfolded
    [event] = events(body)
    assert "ATTENDEE:mailto:x@evil" in str(event["summary"]) and "Demo, prep; notes" in str(event["summary"])
    assert "attendee" not in event


def test_an_edit_then_a_cancellation_keep_the_uid_and_bump_the_sequence(pair, admin):
    trainee, host = pair
    session, _ = weekly_sessions(trainee, host, admin)
    [before] = events(services.session_ics(session.id, actor=trainee))
    moved = local_to_utc(datetime(2026, 10, 29, 11), "America/New_York")
    services.update_session(
        session.id,
        starts_at=moved,
        ends_at=moved + timedelta(hours=1),
        host_id=host.id,
        focus="Renewals",
        format="live calls",
        actor=admin,
    )
    [edited] = events(services.session_ics(session.id, actor=trainee))
    services.set_session_status(session.id, "cancelled", actor=admin)
    [cancelled] = events(services.session_ics(session.id, actor=trainee))
    assert str(before["uid"]) == str(edited["uid"]) == str(cancelled["uid"])
    assert (before["sequence"], edited["sequence"], cancelled["sequence"]) == (0, 1, 2)
    assert (str(edited["status"]), str(cancelled["status"])) == ("CONFIRMED", "CANCELLED")
    assert edited.decoded("dtstart") == moved


def test_the_feed_url_needs_no_login_lists_only_its_owners_sessions_and_dies_when_revoked(
    client, pair, admin, make_user
):
    trainee, host = pair
    other = make_user(team="EMEA")
    weekly_sessions(trainee, host, admin)
    start = local_to_utc(datetime(2026, 10, 30, 9), "America/New_York")
    services.schedule_session(
        trainee_id=other.id, host_id=host.id, starts_at=start, ends_at=start + timedelta(hours=1), actor=admin
    )
    token = services.create_feed(actor=trainee)
    response = client.get(f"/training/calendar/{token}.ics")
    assert response.status_code == 200 and response.mimetype == "text/calendar"
    assert len(events(response.data)) == 2 and "Tom Trainee" in response.get_data(as_text=True)
    assert client.get_cookie("kms_session", domain="kms.test") is None
    services.revoke_feed(actor=trainee)
    assert client.get(f"/training/calendar/{token}.ics").status_code == 404
    assert client.get("/training/calendar/not-a-token.ics").status_code == 404


def test_making_a_new_feed_link_turns_off_the_old_one(client, pair):
    trainee, _ = pair
    old = services.create_feed(actor=trainee)
    new = services.create_feed(actor=trainee)
    assert client.get(f"/training/calendar/{old}.ics").status_code == 404
    assert client.get(f"/training/calendar/{new}.ics").status_code == 200


def test_the_calendar_page_shows_a_new_link_once_and_it_differs_from_the_session_cookie(client, pair):
    trainee, _ = pair
    login(client, trainee)
    html = client.post("/training/calendar").get_data(as_text=True)
    assert "/training/calendar/" in html and ".ics" in html
    cookie = client.get_cookie("kms_session", domain="kms.test").value
    token = html.split("/training/calendar/")[1].split(".ics")[0]
    assert token not in cookie and cookie not in token
    assert "/training/calendar/" + token not in client.get("/training/calendar").get_data(as_text=True)


def test_a_session_ics_downloads_for_its_people_only(client, pair, admin, make_user):
    trainee, host = pair
    session, _ = weekly_sessions(trainee, host, admin)
    login(client, trainee)
    response = client.get(f"/training/shadowing/{session.id}.ics")
    assert response.status_code == 200 and len(events(response.data)) == 1
    client.post("/logout")
    login(client, make_user(team="EMEA"))
    assert client.get(f"/training/shadowing/{session.id}.ics").status_code == 404
