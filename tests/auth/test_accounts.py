"""First-run setup, invites, roles, deactivation and profile changes."""

import re

import pytest
import time_machine

from kms.auth import SYSTEM, services
from kms.auth.models import Role, User
from kms.errors import Forbidden, Invalid, NotFound
from kms.extensions import db
from tests.conftest import PASSWORD, login

SETUP = {
    "name": "Ann Admin",
    "email": "ann@example.com",
    "time_zone": "Europe/Oslo",
    "password": "a long password",
    "confirm": "a long password",
}


def invite_path(response) -> str:
    match = re.search(r'value="https?://[^/"]+(/invite/[^"]+)"', response.get_data(as_text=True))
    assert match, "the page shows no invite link"
    return match.group(1)


def test_setup_page_creates_the_first_admin_and_logs_them_in(client):
    response = client.post("/setup", data=SETUP)
    assert response.status_code == 302
    admin = db.session.scalar(db.select(User))
    assert admin.role == Role.ADMIN and admin.email == "ann@example.com"
    assert client.get("/admin/users").status_code == 200


def test_setup_is_gone_once_a_user_exists(client, make_user):
    make_user(Role.MEMBER)
    assert client.get("/setup").status_code == 404
    assert client.post("/setup", data=SETUP).status_code == 404
    with pytest.raises(Forbidden):
        services.create_first_admin("x@example.com", "X", "a long password")
    assert services.user_count() == 1


def test_login_page_sends_a_fresh_site_to_setup(client):
    assert client.get("/login").location.endswith("/setup")


def test_setup_with_a_bad_email_shows_the_error_and_keeps_the_typed_name(client):
    response = client.post("/setup", data={**SETUP, "email": "not-an-email"})
    page = response.get_data(as_text=True)
    assert "Enter a valid email address." in page
    assert 'value="Ann Admin"' in page
    assert services.user_count() == 0


def test_setup_rejects_a_short_password(client):
    response = client.post("/setup", data={**SETUP, "password": "short", "confirm": "short"})
    assert "at least 10" in response.get_data(as_text=True)
    assert services.user_count() == 0


def test_admin_invites_a_member_who_sets_a_password_with_the_link_once(app, client, login_as):
    login_as(Role.ADMIN)
    response = client.post(
        "/admin/users",
        data={"name": "Mo Member", "email": "mo@example.com", "role": "member", "time_zone": "UTC"},
    )
    assert response.status_code == 200
    path = invite_path(response)
    invited = app.test_client()
    assert "Mo Member" in invited.get(path).get_data(as_text=True)
    done = invited.post(path, data={"password": "member password", "confirm": "member password"})
    assert done.status_code == 302
    assert "Mo Member" in invited.get("/account").get_data(as_text=True)
    again = app.test_client().get(path)
    assert again.status_code == 404 and "not valid" in again.get_data(as_text=True)
    assert login(app.test_client(), "mo@example.com", "member password").status_code == 302


def test_an_invite_link_expires(app, client, login_as):
    login_as(Role.ADMIN)
    path = invite_path(
        client.post(
            "/admin/users",
            data={"name": "Late", "email": "late@example.com", "role": "member", "time_zone": "UTC"},
        )
    )
    with time_machine.travel("2099-01-01", tick=False):
        response = app.test_client().post(
            path, data={"password": "member password", "confirm": "member password"}
        )
    assert response.status_code == 404
    assert services.find_user_by_email("late@example.com").password_hash is None


def test_a_new_invite_link_replaces_the_old_one(app, client, login_as):
    login_as(Role.ADMIN)
    old = invite_path(
        client.post(
            "/admin/users",
            data={"name": "Lost", "email": "lost@example.com", "role": "author", "time_zone": "UTC"},
        )
    )
    user = services.find_user_by_email("lost@example.com")
    new = invite_path(client.post(f"/admin/users/{user.id}/invite"))
    assert old != new
    assert app.test_client().get(old).status_code == 404
    assert app.test_client().get(new).status_code == 200


def test_inviting_an_existing_email_is_refused_with_the_form_kept(client, login_as):
    admin = login_as(Role.ADMIN)
    response = client.post(
        "/admin/users",
        data={"name": "Copy", "email": admin.email.upper(), "role": "member", "time_zone": "UTC"},
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "already exists" in page and 'value="Copy"' in page


def test_unknown_role_and_time_zone_are_named_in_the_error(app):
    with pytest.raises(Invalid, match="Unknown role"):
        services.create_user("a@example.com", "A", "wizard", actor=SYSTEM)
    with pytest.raises(Invalid, match="time zone"):
        services.create_user("a@example.com", "A", "member", actor=SYSTEM, time_zone="Mars/Olympus")


def test_only_admins_create_users(make_user):
    author = make_user(Role.AUTHOR)
    with pytest.raises(Forbidden):
        services.create_user("x@example.com", "X", "member", actor=author)


def test_admin_changes_a_role(client, login_as, make_user):
    login_as(Role.ADMIN)
    user = make_user(Role.MEMBER)
    client.post(f"/admin/users/{user.id}", data={"role": "author", "team": "EMEA", "active": "y"})
    db.session.rollback()
    assert db.session.get(User, user.id).role == Role.AUTHOR


def test_deactivating_a_user_ends_their_session_at_once(app, client, login_as, make_user):
    login_as(Role.ADMIN)
    user = make_user(Role.MEMBER)
    theirs = app.test_client()
    login(theirs, user)
    assert theirs.get("/account").status_code == 200
    client.post(f"/admin/users/{user.id}", data={"role": "member", "team": ""})  # active unticked
    assert theirs.get("/account").status_code == 302
    assert login(app.test_client(), user).status_code == 401


def test_admins_cannot_demote_or_deactivate_themselves(client, login_as):
    admin = login_as(Role.ADMIN)
    response = client.post(f"/admin/users/{admin.id}", data={"role": "member", "active": "y"})
    assert "cannot remove your own admin role" in response.get_data(as_text=True)
    db.session.rollback()
    assert db.session.get(User, admin.id).role == Role.ADMIN


def test_users_change_their_own_name_and_time_zone(client, login_as):
    user = login_as(Role.MEMBER)
    client.post(
        "/account",
        data={"action": "profile", "profile-name": "New Name", "profile-time_zone": "Asia/Kolkata"},
    )
    db.session.rollback()
    saved = db.session.get(User, user.id)
    assert (saved.name, saved.time_zone) == ("New Name", "Asia/Kolkata")


def test_an_unknown_time_zone_is_refused_and_the_typed_value_kept(client, login_as):
    login_as(Role.MEMBER)
    response = client.post(
        "/account",
        data={"action": "profile", "profile-name": "Kept Name", "profile-time_zone": "Nowhere/Land"},
    )
    page = response.get_data(as_text=True)
    assert "Unknown time zone" in page and 'value="Nowhere/Land"' in page


def test_passwords_are_stored_as_argon2id(make_user):
    user = make_user(Role.MEMBER)
    assert user.password_hash.startswith("$argon2id$")
    assert PASSWORD not in user.password_hash


def test_production_hash_parameters_meet_owasp_minimums(fast_password_hashing):
    params = fast_password_hashing
    assert params.memory_cost >= 19 * 1024 and params.time_cost >= 2 and params.parallelism >= 1
    assert params.hash("x").startswith("$argon2id$")


def test_an_unknown_email_costs_a_check_at_the_production_hash_parameters(fast_password_hashing):
    # The stored stand-in hash is checked when no account has the email: with other parameters a wrong
    # email would answer faster (or slower) than a wrong password and tell who has an account.
    assert not fast_password_hashing.check_needs_rehash(services.DUMMY_HASH)
    assert fast_password_hashing.verify(services.DUMMY_HASH, "not-a-real-password")


def test_an_old_hash_is_upgraded_on_login(client, make_user, fast_password_hashing):
    user = make_user(Role.MEMBER)
    cheap = user.password_hash
    services.hasher, previous = fast_password_hashing, services.hasher
    try:
        assert login(client, user).status_code == 302
    finally:
        services.hasher = previous
    db.session.rollback()
    upgraded = db.session.get(User, user.id).password_hash
    assert upgraded != cheap and "m=24576" in upgraded


def test_expired_or_unknown_invite_tokens_are_not_found(app):
    with pytest.raises(NotFound):
        services.user_for_invite("no-such-token")
