"""iCalendar building blocks for shadowing sessions: the feed and download (calendar.py) and the invitations
mailed to trainee and host (notices.py) write the same event, with the session's stable UID and SEQUENCE."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from icalendar import Calendar, Event, vCalAddress

from kms.training.models import SessionStatus, ShadowSession

PRODID = "-//kms//training//EN"
INVITE_FILENAME = "shadowing.ics"
INVITE_MIMETYPE = "text/calendar"


# icalendar (~40 ms to import) is imported by the functions that build calendars, not at every start.


def new_calendar(name: str) -> Calendar:
    """An empty calendar named `name` (shown by clients that subscribe to it)."""
    from icalendar import Calendar

    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", name)
    return cal


def session_event(session: ShadowSession, stamp: datetime, host=None) -> Event:
    """One session as a VEVENT: its UID never changes and its SEQUENCE goes up with every change. `host` writes
    it as another host had it (for the cancellation a host taken off the session receives)."""
    host = host or session.host
    # Times are written in UTC (…Z), so no client can read them as floating local times across DST changes.
    event = new_event()
    event.add("uid", session.uid)
    event.add("dtstamp", stamp)
    event.add("sequence", session.sequence)
    event.add("dtstart", session.starts_at.astimezone(UTC))
    event.add("dtend", session.ends_at.astimezone(UTC))
    event.add(
        "summary",
        f"Shadowing {host.name}: {session.format.value}" + (f" — {session.focus}" if session.focus else ""),
    )
    event.add(
        "description",
        f"Trainee: {session.trainee.name}\nHost: {host.name}\n"
        f"Format: {session.format.value}\nFocus: {session.focus or '—'}",
    )
    if session.meeting_url:
        event.add("url", session.meeting_url)
        event.add("location", session.meeting_url)
    event.add("status", "CANCELLED" if session.status == SessionStatus.CANCELLED else "CONFIRMED")
    event.add("last-modified", (session.updated_at or stamp).astimezone(UTC))
    return event


def new_event() -> Event:
    from icalendar import Event

    return Event()


def _address(user, role: str | None = None) -> vCalAddress:
    from icalendar import vCalAddress, vText

    address = vCalAddress(f"mailto:{user.email}")
    address.params["cn"] = vText(user.name)
    if role:
        address.params["role"] = vText(role)
        address.params["partstat"] = vText("ACCEPTED")
        address.params["rsvp"] = vText("FALSE")
    return address


def invitation(sessions: list[ShadowSession], *, method: str, stamp: datetime, host=None) -> bytes:
    """An iTIP message (RFC 5546) for calendar clients: METHOD:REQUEST adds or updates the sessions, METHOD:CANCEL
    removes them; the UID and SEQUENCE tell the client which event it replaces. The organizer is the lead who
    booked the session (the host when that person is gone), trainee and host are the attendees. `host`: write
    the sessions as that host had them (a host taken off a session gets them cancelled)."""
    from icalendar import vText

    if method not in ("REQUEST", "CANCEL"):
        raise ValueError(f"unknown iTIP method {method!r}")
    cal = new_calendar("kms shadowing")
    cal.add("method", method)
    for session in sessions:
        event = session_event(session, stamp, host)
        if method == "CANCEL":
            event["status"] = vText("CANCELLED")
        event.add("organizer", _address(session.created_by or host or session.host))
        for person in (session.trainee, host or session.host):
            event.add("attendee", _address(person, "REQ-PARTICIPANT"))
        cal.add_component(event)
    return cal.to_ical()
