"""End to end through a real SMTP server: a booked shadowing session reaches trainee and host as e-mails whose
attached invitation a calendar client can read, and the authors' gap digest lists the searches."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest
from icalendar import Calendar

from kms.auth.models import Role
from kms.extensions import db, utcnow
from kms.notify.sender import send_pending
from kms.search.models import SearchLog
from kms.training import services
from kms.training.services._common import local_to_utc
from tests.notify.conftest import smtp_server  # noqa: F401 - fixture
from tests.notify_kinds.support import run_job
from tests.training.conftest import admin  # noqa: F401 - fixture

pytestmark = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)  # mail rendering: no SQL to check


@pytest.fixture
def app_overrides(smtp_server):  # noqa: F811 - the fixture above, as a parameter
    return {
        "KMS_SMTP_URL": smtp_server.url,
        "KMS_BASE_URL": "https://kms.example.com",
        "KMS_MAIL_FROM": "kms <kms@example.com>",
    }


def _invitation(mail) -> Calendar:
    [part] = [p for p in mail.iter_attachments() if p.get_content_type() == "text/calendar"]
    assert part.get_filename().endswith(".ics")
    return Calendar.from_ical(
        part.get_content() if isinstance(part.get_content(), bytes) else part.get_payload(decode=True)
    )


def test_a_booked_session_arrives_by_mail_with_a_readable_invitation(app, make_user, admin, smtp_server):  # noqa: F811
    host = make_user(name="Hana Host", time_zone="America/New_York")
    trainee = make_user(name="Tom Trainee", time_zone="Europe/Oslo")
    services.set_host(host.id, actor=admin, windows=[(d, time(8), time(17)) for d in range(5)])
    start = local_to_utc(datetime(2026, 12, 15, 9), "America/New_York")
    session = services.schedule_session(
        trainee_id=trainee.id,
        host_id=host.id,
        starts_at=start,
        ends_at=start + timedelta(hours=1),
        meeting_url="https://meet.example.com/abc",
        actor=admin,
    )
    db.session.commit()
    session_id, uid, trainee_email, host_email = session.id, session.uid, trainee.email, host.email
    send_pending(utcnow())
    smtp_server.wait_for(2)
    [to_trainee] = smtp_server.to(trainee_email)
    assert to_trainee.message["Subject"].startswith("Shadowing booked: Tue 15 Dec 2026, 15:00 (Europe/Oslo)")
    assert "Hana Host" in to_trainee.text and "calendar invitation is attached" in to_trainee.text
    assert 'href="https://meet.example.com/abc"' in to_trainee.html
    assert f"https://kms.example.com/training/shadowing/{session_id}" in to_trainee.text
    invitation = _invitation(to_trainee.message)
    [event] = invitation.walk("VEVENT")
    assert str(invitation["method"]) == "REQUEST" and str(event["uid"]) == uid
    assert event.decoded("dtstart") == start and int(event["sequence"]) == 0
    [to_host] = smtp_server.to(host_email)
    assert "09:00 (America/New_York)" in to_host.message["Subject"]
    assert str(_invitation(to_host.message).walk("VEVENT")[0]["uid"]) == uid


def test_the_gap_digest_mail_lists_the_searches(app, make_user, smtp_server):  # noqa: F811
    writer_email = make_user(Role.AUTHOR).email
    for asker in ("a", "b"):
        db.session.add(
            SearchLog(
                query="Chargeback <form>",
                normalized="chargeback <form>",
                results=0,
                role="member",
                asker=asker,
            )
        )
    db.session.commit()
    run_job(app, "search-gap-digest", utcnow())
    send_pending(utcnow())
    [mail] = smtp_server.wait_for(1)
    assert mail.recipients == [writer_email]
    assert '"chargeback <form>": 2 searches by 2 people' in mail.text
    assert "chargeback &lt;form&gt;" in mail.html and "<form>" not in mail.html
    assert "https://kms.example.com/search/gaps" in mail.text
