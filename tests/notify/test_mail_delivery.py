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
