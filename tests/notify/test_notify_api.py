"""notify() and announce(): rows written in the caller's transaction, preferences and defaults respected."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from kms.auth import SYSTEM
from kms.auth.models import Role
from kms.extensions import db
from kms.notify import services
from kms.notify.kinds import KINDS, Kind, add_kind
from kms.notify.models import Event, Notification, OutgoingMessage

TEAM_NOTICE = Kind("test.team_notice", "A team notice (tests)", "email", manager_default="digest")


@pytest.fixture(autouse=True)
def _test_kind():
    add_kind(TEAM_NOTICE)
    yield
    KINDS.pop(TEAM_NOTICE.name, None)


def test_notify_writes_inapp_rows_and_outbox_per_default_and_role(app, make_user):
    member, manager = make_user(Role.MEMBER), make_user(Role.MANAGER)
    count = services.notify([member, manager], TEAM_NOTICE.name, title="Module overdue", actor=SYSTEM)
    db.session.commit()
    assert count == 2
    channels = dict(db.session.execute(select(Notification.user_id, Notification.channel)).all())
    assert channels == {member.id: "email", manager.id: "digest"}
    outbox = db.session.scalars(select(OutgoingMessage.user_id)).all()
    assert outbox == [member.id]  # the manager's goes in the digest, not at once


def test_off_and_inactive_users_get_nothing_and_dedupe_records_once(app, make_user):
    quiet, gone = make_user(), make_user()
    gone.active = False
    services.set_preferences(quiet, {TEAM_NOTICE.name: "off"})
    assert services.notify([quiet, gone], TEAM_NOTICE.name, title="x", actor=SYSTEM) == 0
    other = make_user()
    for _ in range(2):
        services.notify(other, TEAM_NOTICE.name, title="once", actor=SYSTEM, dedupe_key="k1")
    db.session.commit()
    assert db.session.scalar(select(db.func.count(Notification.id))) == 1


def test_a_notice_recorded_by_another_transaction_after_the_check_is_skipped_not_an_error(
    app, make_user, monkeypatch
):
    """Two jobs or requests may both find no (user, kind, key) and both insert: the second must neither fail
    the caller's transaction (a unique violation would) nor e-mail the person twice."""
    first, second = make_user(), make_user()
    services.notify(first, TEAM_NOTICE.name, title="once", actor=SYSTEM, dedupe_key="race")
    db.session.commit()
    # The other transaction's row is committed, but this one checked before it was: the check saw nothing.
    monkeypatch.setattr(services, "_already_recorded", lambda *args: set())
    count = services.notify([first, second], TEAM_NOTICE.name, title="once", actor=SYSTEM, dedupe_key="race")
    db.session.commit()
    assert count == 1
    notices = db.session.execute(select(Notification.user_id, Notification.title)).all()
    assert sorted(user_id for user_id, _ in notices) == sorted([first.id, second.id])
    mailed = db.session.scalars(select(OutgoingMessage.user_id)).all()
    assert sorted(mailed) == sorted([first.id, second.id])  # one each, none twice


def test_mandatory_kind_is_emailed_only_and_ignores_preferences(app, make_user):
    user = make_user()
    services.notify(user, "auth.password_reset", title="Reset", actor=SYSTEM)
    assert db.session.scalar(select(db.func.count(Notification.id))) == 0
    assert db.session.scalar(select(db.func.count(OutgoingMessage.id))) == 1


def test_announce_records_an_event_in_the_callers_transaction(app):
    services.announce("article.published", {"title": "Refunds"}, team="Support", actor=SYSTEM)
    db.session.rollback()
    assert db.session.scalar(select(db.func.count(Event.id))) == 0
    services.announce("article.published", {"title": "Refunds"}, team=None, actor=SYSTEM)
    db.session.commit()
    event = db.session.scalar(select(Event))
    assert (event.name, event.team, event.payload["title"]) == ("article.published", None, "Refunds")
