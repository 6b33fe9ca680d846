"""Forgot your password: the same answer for any address, one-time expiring links, limits, and the e-mail."""

from __future__ import annotations

import re
from datetime import timedelta

import time_machine

from kms.auth.models import PasswordReset
from kms.extensions import db, utcnow
from kms.notify.models import OutgoingMessage
from kms.notify.sender import send_pending
from tests.conftest import PASSWORD, login

NEW_PASSWORD = "a brand new password 42"


def ask(client, email):
    return client.post("/password/forgot", data={"email": email}, follow_redirects=True)


def reset_link(smtp_server, email) -> str:
    send_pending(utcnow())
    [got] = smtp_server.to(email)[-1:]
    link = re.search(r"https://kms\.example\.com(/password/reset/\S+)", got.text).group(1)
    return link


def test_the_answer_is_the_same_for_known_and_unknown_addresses_and_only_the_known_one_gets_mail(
    client, make_user, smtp_server
):
    user = make_user()
    known = ask(client, user.email).get_data(as_text=True).replace(user.email, "ADDRESS")
    unknown = (
        ask(client, "nobody@example.test").get_data(as_text=True).replace("nobody@example.test", "ADDRESS")
    )
    assert known == unknown and "If ADDRESS belongs to a kms account" in known
    send_pending(utcnow())
    assert [m.recipients for m in smtp_server.wait_for(1)] == [[user.email]]
    assert smtp_server.messages[0].message["Subject"] == "Reset your kms password"
    assert smtp_server.messages[0].message["List-Unsubscribe"] is None  # a mandatory kind: no opt-out


def test_a_link_resets_the_password_once_and_is_refused_the_second_time(client, make_user, smtp_server):
    user = make_user()
    ask(client, user.email)
    link = reset_link(smtp_server, user.email)
    page = client.post(link, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}, follow_redirects=True)
    assert "Log in with the new password" in page.get_data(as_text=True)
    assert login(client, user, NEW_PASSWORD).status_code == 302
    again = client.get(link)
    assert again.status_code == 404 and "already used" in again.get_data(as_text=True)
    token = link.rsplit("/", 1)[1]
    db.session.rollback()
    assert token not in db.session.scalars(db.select(PasswordReset.token_hash)).all()  # only its hash is kept
    assert db.session.scalars(db.select(OutgoingMessage.link_values)).all() == [None]  # scrubbed once sent


def test_an_expired_link_is_refused(client, make_user, smtp_server):
    user = make_user()
    ask(client, user.email)
    link = reset_link(smtp_server, user.email)
    with time_machine.travel(utcnow() + timedelta(minutes=61), tick=False):
        response = client.post(link, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert response.status_code == 404 and "expired" in response.get_data(as_text=True)
    assert login(client, user, PASSWORD).status_code == 302  # the old password still works


def test_a_link_for_a_user_who_changed_the_password_since_is_refused(client, make_user, smtp_server):
    user = make_user()
    ask(client, user.email)
    link = reset_link(smtp_server, user.email)
    assert login(client, user).status_code == 302
    client.post(
        "/account",
        data={
            "action": "password",
            "password-current_password": PASSWORD,
            "password-password": "changed in the meantime 1",
            "password-confirm": "changed in the meantime 1",
        },
    )
    client.post("/logout")
    response = client.get(link)
    assert response.status_code == 404 and "changed after this link was sent" in response.get_data(
        as_text=True
    )


def test_requests_are_limited_per_address_and_per_client(app, client, make_user, smtp_server):
    user = make_user()
    for _ in range(5):
        assert ask(client, user.email).status_code == 200
    send_pending(utcnow())
    assert len(smtp_server.wait_for(3)) == 3  # KMS_RESET_PER_HOUR = 3 e-mails per address
    for number in range(30 - 5):
        ask(client, f"someone{number}@example.test")
    refused = client.post("/password/forgot", data={"email": user.email})
    assert refused.status_code == 429 and "Too many password-reset requests" in refused.get_data(as_text=True)
