"""Shadowing sessions carry an optional https meeting link: on the session page and in the .ics (URL, LOCATION)."""

from __future__ import annotations

import pytest

from kms.errors import Invalid
from kms.training import services
from tests.conftest import login
from tests.training.test_calendar import events, pair, weekly_sessions  # noqa: F401 - pair is a fixture

ZOOM = "https://us02web.zoom.us/j/81234567890?pwd=abc"


def test_the_meeting_link_is_in_the_ics_as_url_and_location(pair, admin):
    trainee, host = pair
    [session, _] = weekly_sessions(trainee, host, admin, meeting_url=ZOOM)
    [event] = events(services.session_ics(session.id, actor=admin))
    assert str(event["url"]) == ZOOM and str(event["location"]) == ZOOM


def test_a_session_without_a_link_has_no_url_or_location(pair, admin):
    trainee, host = pair
    [session, _] = weekly_sessions(trainee, host, admin)
    [event] = events(services.session_ics(session.id, actor=admin))
    assert "url" not in event and "location" not in event


@pytest.mark.parametrize(
    "bad",
    [
        "http://zoom.us/j/1",
        "javascript:alert(1)",
        "zoom.us/j/1",
        "https://",
        "https://meet.google.com/abc def",
    ],
)
def test_a_link_that_is_not_one_https_address_is_refused_naming_the_field(pair, admin, bad):
    trainee, host = pair
    with pytest.raises(Invalid) as refused:
        weekly_sessions(trainee, host, admin, meeting_url=bad)
    assert refused.value.field == "meeting_url" and "https://" in refused.value.message


def test_the_session_page_shows_the_link_and_a_lead_can_change_it(client, pair, admin):
    trainee, host = pair
    [session, _] = weekly_sessions(trainee, host, admin, meeting_url=ZOOM)
    login(client, trainee)
    page = client.get(f"/training/shadowing/{session.id}")
    assert b'href="https://us02web.zoom.us/j/81234567890?pwd=abc"' in page.data.replace(b"&amp;", b"&")
    teams = "https://teams.microsoft.com/l/meetup-join/19%3ameeting"
    services.update_session(
        session.id,
        starts_at=session.starts_at,
        ends_at=session.ends_at,
        host_id=host.id,
        focus="",
        format="live calls",
        meeting_url=teams,
        actor=admin,
    )
    [event] = events(services.session_ics(session.id, actor=admin))
    assert str(event["url"]) == teams
