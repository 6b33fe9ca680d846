"""The bell, the notifications page, preferences, unsubscribe links and the daily digest."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from sqlalchemy import func, select

from kms.auth import SYSTEM
from kms.extensions import db, utcnow
from kms.notify import services
from kms.notify.kinds import KINDS, Kind, add_kind
from kms.notify.models import Notification, OutgoingMessage, Preference
from kms.notify.scheduled import build_daily_digests
from kms.notify.sender import send_pending
from tests.conftest import login

DIGESTED = Kind("test.digested", "Weekly gaps (tests)", "digest")
INAPP = Kind("test.inapp", "Something in kms (tests)", "inapp")


@pytest.fixture(autouse=True)
def _kinds():
    for kind in (DIGESTED, INAPP):
        add_kind(kind)
    yield
    for kind in (DIGESTED, INAPP):
        KINDS.pop(kind.name, None)


def bell(html: str) -> str:
    return re.search(r'data-unread="(\d+)"', html).group(1)


def test_the_bell_counts_unread_and_the_page_marks_read(client, make_user, app):
    user = make_user()
    for n in range(3):
        services.notify(user, INAPP.name, title=f"Notice {n}", actor=SYSTEM, link=("notify.preferences", {}))
    db.session.commit()
    assert login(client, user).status_code == 302
    page = client.get("/notifications").get_data(as_text=True)
    assert bell(page) == "3" and "Notice 2" in page
    first = db.session.scalar(select(Notification.id).order_by(Notification.id))
    opened = client.post(f"/notifications/{first}/read", data={"open": "1"})
    assert opened.location.endswith("/notifications/preferences")
    assert bell(client.get("/notifications").get_data(as_text=True)) == "2"
    client.post("/notifications/read-all")
    assert bell(client.get("/notifications").get_data(as_text=True)) == "0"


def test_someone_elses_notification_cannot_be_marked(client, make_user):
    owner, other = make_user(), make_user()
    services.notify(owner, INAPP.name, title="Private", actor=SYSTEM)
    db.session.commit()
    assert login(client, other).status_code == 302
    item = db.session.scalar(select(Notification.id))
    assert client.post(f"/notifications/{item}/read").status_code == 404


def test_preferences_are_saved_per_kind_and_default_rows_are_not_kept(client, make_user):
    user = make_user()
    assert login(client, user).status_code == 302
    page = client.get("/notifications/preferences").get_data(as_text=True)
    assert DIGESTED.label in page and "Password reset link" not in page  # mandatory kinds are not offered
    client.post("/notifications/preferences", data={DIGESTED.name: "email", INAPP.name: "inapp"})
    db.session.rollback()
    assert db.session.execute(select(Preference.kind, Preference.channel)).all() == [(DIGESTED.name, "email")]
    assert client.post("/notifications/preferences", data={INAPP.name: "loud"}).status_code == 400


def test_the_daily_digest_gathers_a_days_notices_in_one_mail_in_the_users_time_zone(
    app, make_user, smtp_server
):
    user = make_user(time_zone="Asia/Tokyo")
    early = datetime(2026, 12, 7, 21, 0, tzinfo=UTC)  # 06:00 in Tokyo: before the digest hour
    # The notices are written before the digest's day starts in Tokyo (not at the real time of the run).
    with time_machine.travel(early - timedelta(hours=1), tick=False):
        for title in ("Searches that found nothing: refund", "Searches that found nothing: invoice"):
            services.notify(user, DIGESTED.name, title=title, actor=SYSTEM, link=("notify.index", {}))
        db.session.commit()
    assert build_daily_digests(early) == "0 digests queued"
    morning = early + timedelta(hours=2)  # 08:00 in Tokyo
    assert build_daily_digests(morning) == "1 digest queued"
    assert build_daily_digests(morning + timedelta(hours=3)) == "0 digests queued"  # one per day
    send_pending(morning + timedelta(hours=3))
    [got] = smtp_server.wait_for(1)
    assert got.message["Subject"] == "kms: 2 updates for Tuesday 08 December"
    assert "refund" in got.text and "invoice" in got.text and "JST" in got.text
    assert got.text.count("https://kms.example.com/notifications") >= 2
    assert db.session.scalar(select(func.count(OutgoingMessage.id))) == 1


def test_the_one_click_unsubscribe_link_stops_that_email_without_login_or_csrf_token(
    app, make_user, smtp_server
):
    user = make_user()
    services.set_preferences(user, {DIGESTED.name: "email"})
    services.notify(user, DIGESTED.name, title="A gap", actor=SYSTEM)
    db.session.commit()
    send_pending(utcnow())
    [got] = smtp_server.wait_for(1)
    url = got.message["List-Unsubscribe"].strip("<>").replace("https://kms.example.com", "")
    stranger = app.test_client()
    app.config["WTF_CSRF_ENABLED"] = True
    assert stranger.post(url, data={"List-Unsubscribe": "One-Click"}).status_code == 200
    assert services.channel_for(user, DIGESTED.name) == "inapp"
    forged = url[:-3] + ("aaa" if not url.endswith("aaa") else "bbb")
    assert stranger.get(forged).status_code == 404


def test_without_smtp_everything_stays_in_app_and_the_admin_page_says_why(app, client, make_user):
    app.config["KMS_SMTP_URL"] = ""
    admin = make_user("admin")
    assert login(client, admin).status_code == 302
    page = client.post(
        "/admin/users",
        data={"name": "Lee", "email": "lee@example.test", "role": "member", "time_zone": "UTC"},
    ).get_data(as_text=True)
    assert "/invite/" in page and "No e-mail was sent: KMS_SMTP_URL is not set" in page
    assert "KMS_SMTP_URL is not set" in client.get("/admin/mail").get_data(as_text=True)
    assert send_pending(utcnow()).startswith("no e-mail sent")
