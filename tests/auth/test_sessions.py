"""Logging out, changing the password or being deactivated ends sessions everywhere."""

from datetime import UTC, datetime, timedelta

import time_machine
from flask_login import current_user

from kms.auth import load_user
from kms.auth.models import Role, SessionUser, User
from kms.extensions import db
from tests.conftest import PASSWORD, login


def _cookie(client, name):
    cookie = client.get_cookie(name, domain="kms.test")
    return cookie.value if cookie else None


def test_a_session_cookie_replayed_after_logout_is_refused(app, client, make_user):
    login(client, make_user(Role.MEMBER))
    stolen = _cookie(client, "kms_session")
    client.post("/logout")
    replay = app.test_client()
    replay.set_cookie("kms_session", stolen, domain="kms.test")
    assert replay.get("/account").status_code == 302


def test_logout_ends_the_sessions_on_other_devices_too(app, client, make_user):
    user = make_user(Role.MEMBER)
    other = app.test_client()
    login(client, user)
    login(other, user)
    client.post("/logout")
    assert other.get("/account").status_code == 302


def test_logout_deletes_the_remember_cookie_and_an_old_one_no_longer_works(app, client, make_user):
    login(client, make_user(Role.MEMBER), remember=True)
    remembered = _cookie(client, "kms_remember")
    assert remembered
    response = client.post("/logout")
    deleted = [h for h in response.headers.getlist("Set-Cookie") if h.startswith("kms_remember=")]
    assert deleted and ("Expires=Thu, 01 Jan 1970" in deleted[0] or "Max-Age=0" in deleted[0])
    replay = app.test_client()
    replay.set_cookie("kms_remember", remembered, domain="kms.test")
    assert replay.get("/account").status_code == 302


def test_a_remember_cookie_alone_logs_the_user_back_in(app, client, make_user):
    login(client, make_user(Role.MEMBER), remember=True)
    fresh = app.test_client()
    fresh.set_cookie("kms_remember", _cookie(client, "kms_remember"), domain="kms.test")
    assert fresh.get("/account").status_code == 200


def test_changing_the_password_ends_other_sessions_but_keeps_this_one(app, client, make_user):
    user = make_user(Role.MEMBER)
    other = app.test_client()
    login(client, user)
    login(other, user, remember=True)
    response = client.post(
        "/account",
        data={
            "action": "password",
            "password-current_password": PASSWORD,
            "password-password": "a brand new password",
            "password-confirm": "a brand new password",
        },
    )
    assert response.status_code == 302
    assert client.get("/account").status_code == 200
    assert other.get("/account").status_code == 302
    assert login(app.test_client(), user, "a brand new password").status_code == 302


def test_a_wrong_current_password_changes_nothing(client, make_user):
    user = make_user(Role.MEMBER)
    login(client, user)
    response = client.post(
        "/account",
        data={
            "action": "password",
            "password-current_password": "nope-nope",
            "password-password": "a brand new password",
            "password-confirm": "a brand new password",
        },
    )
    assert "current password is not correct" in response.get_data(as_text=True)
    client.post("/logout")
    assert login(client, user).status_code == 302


def test_logout_and_other_state_changes_refuse_get(client, make_user):
    login(client, make_user(Role.MEMBER))
    assert client.get("/logout").status_code == 405
    assert client.get("/account").status_code == 200


def test_a_login_ends_after_the_idle_limit_without_remember_me(client, make_user):
    login(client, make_user(Role.MEMBER))
    with time_machine.travel(datetime.now(UTC) + timedelta(hours=13)):
        assert client.get("/account").status_code == 302


def test_activity_keeps_a_login_alive(client, make_user):
    login(client, make_user(Role.MEMBER))
    start = datetime.now(UTC)
    for hours in (8, 16):
        with time_machine.travel(start + timedelta(hours=hours)):
            assert client.get("/account").status_code == 200


def test_the_session_cookie_is_re_signed_at_most_once_a_minute_unless_the_session_changes(client, make_user):
    login(client, make_user(Role.MEMBER))
    start = datetime.now(UTC)

    def session_cookie_sent(response):
        return any(h.startswith("kms_session=") for h in response.headers.getlist("Set-Cookie"))

    client.get("/account")  # the first form page stores the CSRF secret in the session
    with time_machine.travel(start + timedelta(seconds=10)):
        assert not session_cookie_sent(client.get("/account"))  # nothing changed: no new signature
        saved = client.post(
            "/account",
            data={
                "action": "profile",
                "profile-name": "New Name",
                "profile-time_zone": "UTC",
                "csrf_token": _csrf(client),
            },
        )
        assert saved.status_code == 302 and session_cookie_sent(
            saved
        )  # its flash message changes the session
    with time_machine.travel(start + timedelta(minutes=2)):
        assert session_cookie_sent(client.get("/account"))  # the idle expiry slides forward


def _csrf(client):
    from tests.conftest import csrf_token_from

    return csrf_token_from(client.get("/account").data)


def test_the_session_user_is_the_row_read_for_the_request_and_refuses_to_be_changed(app, make_user):
    """Pages read the logged-in user as values (no ORM object): every column, the features' facts, and equal
    to the account's User; a change made to it raises instead of being silently lost."""
    user = make_user(Role.AUTHOR, name="Ada Author", time_zone="Asia/Tokyo")
    with app.test_request_context():
        loaded = load_user(user.get_id())
        assert isinstance(loaded, SessionUser) and loaded == db.session.get(User, user.id)
        assert (loaded.name, loaded.role, loaded.time_zone, loaded.active) == (
            "Ada Author",
            Role.AUTHOR,
            "Asia/Tokyo",
            True,
        )
        assert loaded.is_authenticated and loaded.get_id() == user.get_id() and current_user.is_anonymous
        try:
            loaded.name = "Changed"
        except AttributeError as error:
            assert "read-only" in str(error)
        else:
            raise AssertionError("a change to the session's user was accepted and would be lost")
        assert load_user(f"{user.id}:not-the-token") is None
