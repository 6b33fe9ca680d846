"""The outbox sender against a real SMTP server: what arrives, and the faults it must survive."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from kms.auth import SYSTEM
from kms.extensions import db, utcnow
from kms.notify import services
from kms.notify.kinds import KINDS, Kind, add_kind
from kms.notify.models import MailStatus, OutgoingMessage
from kms.notify.sender import send_pending

NOTICE = Kind("test.notice", "A notice (tests)", "email")


@pytest.fixture(autouse=True)
def _notice_kind():
    add_kind(NOTICE)
    yield
    KINDS.pop(NOTICE.name, None)


def queue(users, title="Module assigned: Refunds", **kwargs):
    services.notify(users, NOTICE.name, title=title, actor=SYSTEM, **kwargs)
    db.session.commit()


def statuses() -> dict[int, str]:
    db.session.rollback()
    return dict(db.session.execute(select(OutgoingMessage.user_id, OutgoingMessage.status)).all())


def test_a_notification_arrives_as_multipart_mail_with_absolute_links_and_unsubscribe(
    app, make_user, smtp_server
):
    user = make_user(name="Ana Lima", time_zone="America/Sao_Paulo")
    queue(user, body="Start with lesson 1.", link=("notify.index", {}))
    assert smtp_server.messages == []  # notify() never talks to the server
    send_pending(utcnow())
    [got] = smtp_server.wait_for(1)
    mail = got.message
    assert got.recipients == [user.email]
    assert mail["Subject"] == "Module assigned: Refunds"
    assert mail["To"].addresses[0].display_name == "Ana Lima"
    assert mail["Message-ID"].endswith("@example.com>")
    assert "https://kms.example.com/notifications" in got.text
    assert 'href="https://kms.example.com/notifications"' in got.html
    assert mail["List-Unsubscribe"].startswith("<https://kms.example.com/notifications/unsubscribe/")
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert statuses() == {user.id: MailStatus.SENT}


def test_sending_again_sends_nothing_twice(app, make_user, smtp_server):
    queue([make_user(), make_user()])
    send_pending(utcnow())
    send_pending(utcnow() + timedelta(hours=1))
    assert len(smtp_server.wait_for(2)) == 2
    assert len(smtp_server.messages) == 2


@pytest.fixture
def dead_port():
    from tests.notify.smtp_server import free_port

    return free_port()  # nothing listens there: connection refused


def test_smtp_down_keeps_the_message_for_a_later_try_and_spends_one_try_only(
    app, make_user, smtp_server, dead_port
):
    first, second = make_user(), make_user()
    queue([first, second])
    app.config["KMS_SMTP_URL"] = f"smtp://127.0.0.1:{dead_port}?timeout=2"
    now = utcnow()
    summary = send_pending(now)
    db.session.rollback()
    rows = {m.user_id: m for m in db.session.scalars(select(OutgoingMessage))}
    assert {m.status for m in rows.values()} == {MailStatus.PENDING}
    assert sorted(m.attempts for m in rows.values()) == [0, 1]  # the batch stopped at the first refusal
    tried = next(m for m in rows.values() if m.attempts == 1)
    assert "refused" in tried.last_error.lower() and tried.next_attempt_at > now
    assert "retry" in summary or "unreachable" in summary
    app.config["KMS_SMTP_URL"] = smtp_server.url  # the server is back
    send_pending(now + timedelta(hours=1))
    assert sorted(m.recipients[0] for m in smtp_server.wait_for(2)) == sorted([first.email, second.email])
    assert set(statuses().values()) == {MailStatus.SENT}


def test_a_slow_server_times_out_and_the_message_is_tried_later_while_requests_never_wait(
    app, make_user, smtp_server, client
):
    from tests.conftest import login

    admin = make_user("admin")
    assert login(client, admin).status_code == 302
    smtp_server.handler.rcpt_delay = 4  # longer than the 2 s timeout of the URL
    response = client.post(
        "/admin/users",
        data={"name": "Nia Okafor", "email": "nia@example.test", "role": "member", "time_zone": "UTC"},
    )
    assert response.status_code == 200 and b"on its way" in response.data
    assert smtp_server.handler.connections == 0  # the request only wrote the outbox row
    send_pending(utcnow())
    db.session.rollback()
    message = db.session.scalar(select(OutgoingMessage))
    assert message.status == MailStatus.PENDING and message.attempts == 1
    assert "timed out" in message.last_error.lower()
    smtp_server.handler.rcpt_delay = 0
    send_pending(utcnow() + timedelta(hours=1))
    [got] = smtp_server.wait_for(1)
    assert got.recipients == ["nia@example.test"] and "/invite/" in got.text


def test_a_refused_recipient_fails_alone_with_the_servers_error_and_the_others_are_sent(
    app, make_user, smtp_server
):
    refused, busy, fine = make_user(), make_user(), make_user()
    smtp_server.handler.refuse = {
        refused.email: "550 5.1.1 No such user here",
        busy.email: "451 4.3.0 Mailbox busy, try later",
    }
    queue([refused, busy, fine])
    send_pending(utcnow())
    assert [m.recipients for m in smtp_server.wait_for(1)] == [[fine.email]]
    db.session.rollback()
    rows = {m.user_id: m for m in db.session.scalars(select(OutgoingMessage))}
    assert rows[fine.id].status == MailStatus.SENT
    assert rows[refused.id].status == MailStatus.FAILED  # permanent: on the admin page at once
    assert "550 5.1.1 No such user here" in rows[refused.id].last_error
    assert rows[busy.id].status == MailStatus.PENDING  # temporary: tried again after a back-off
    assert "451" in rows[busy.id].last_error


def test_the_last_try_puts_the_message_on_the_admin_page_where_it_can_be_retried_or_dropped(
    app, make_user, smtp_server, client
):
    from tests.conftest import login

    app.config["KMS_MAIL_MAX_TRIES"] = "2"
    user = make_user(name="Rui Costa")
    smtp_server.handler.refuse = {user.email: "452 4.2.2 Mailbox full"}
    queue(user)
    now = utcnow()
    send_pending(now)
    send_pending(now + timedelta(hours=1))
    assert statuses() == {user.id: MailStatus.FAILED}
    assert login(client, make_user("admin")).status_code == 302
    page = client.get("/admin/mail").get_data(as_text=True)
    assert "Rui Costa" in page and "452 4.2.2 Mailbox full" in page and "Retry" in page
    message_id = db.session.scalar(select(OutgoingMessage.id))
    smtp_server.handler.refuse = {}
    assert client.post(f"/admin/mail/{message_id}/retry").status_code == 302
    send_pending(utcnow())
    assert [m.recipients for m in smtp_server.wait_for(1)] == [[user.email]]
    assert client.post(f"/admin/mail/{message_id}/drop").status_code == 400  # sent: nothing to drop


def test_the_address_is_read_when_sending_and_deactivated_users_get_nothing(app, make_user, smtp_server):
    moved, gone = make_user(), make_user()
    queue([moved, gone])
    moved.email = "new-address@example.test"
    gone.active = False
    db.session.commit()
    send_pending(utcnow())
    assert [m.recipients for m in smtp_server.wait_for(1)] == [["new-address@example.test"]]
    assert statuses() == {moved.id: MailStatus.SENT, gone.id: MailStatus.DROPPED}


def test_line_breaks_in_names_and_titles_never_make_headers(app, make_user, smtp_server):
    user = make_user()
    user.name = "Eve\r\nBcc: victim@example.test"
    db.session.commit()
    queue(user, title="Hello\r\nBcc: victim@example.test\nX-Evil: 1")
    send_pending(utcnow())
    [got] = smtp_server.wait_for(1)
    assert got.recipients == [user.email]
    assert got.message["Bcc"] is None and got.message["X-Evil"] is None
    assert got.message["Subject"] == "Hello Bcc: victim@example.test X-Evil: 1"
    assert [a.addr_spec for a in got.message["To"].addresses] == [user.email]


def test_two_senders_at_once_send_each_message_once(app, make_user, smtp_server):
    import threading

    users = [make_user() for _ in range(12)]
    queue(users)
    now, errors = utcnow(), []

    def run():
        try:
            with app.app_context():
                send_pending(now)
        except Exception as error:  # noqa: BLE001 - reported by the assertion below
            errors.append(error)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors
    received = sorted(r for m in smtp_server.wait_for(12) for r in m.recipients)
    assert received == sorted(u.email for u in users)  # all of them, none twice
    assert set(statuses().values()) == {MailStatus.SENT}
