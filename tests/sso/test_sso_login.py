"""Signing in with a real OpenID provider: the button, accounts matched, linked or created, group rules."""

from __future__ import annotations

from sqlalchemy import select

from kms.auth.models import Role, User
from kms.extensions import db, unit_of_work
from kms.sso import services
from kms.sso.models import SsoIdentity
from tests.conftest import make_app
from tests.sso.helpers import flashed_page, query, sign_in, start


def _rule(admin, group, role, team=""):
    with unit_of_work():
        services.add_rule(group_name=group, role=role, team=team, actor=admin)


def _user(email) -> User:
    db.session.rollback()
    return db.session.scalar(select(User).where(User.email == email))


def test_the_login_page_shows_the_button_and_it_redirects_to_the_provider_with_pkce_state_and_nonce(
    client, idp, make_user
):
    make_user(Role.ADMIN)
    page = client.get("/login").get_data(as_text=True)
    assert "Sign in with Acme ID" in page and 'href="/login/sso/default"' in page
    url = start(client)
    params = query(url)
    assert url.startswith(idp.issuer + "/auth?")
    assert (
        params["client_id"] == "kms"
        and params["redirect_uri"] == "http://kms.test/login/sso/default/callback"
    )
    assert params["code_challenge_method"] == "S256" and params["code_challenge"]
    assert params["state"] and params["nonce"] and "openid" in params["scope"].split()


def test_no_button_without_a_provider(backend, tmp_path, make_user):
    plain = make_app(backend, tmp_path)
    with plain.app_context():
        assert "Sign in with" not in plain.test_client().get("/login").get_data(as_text=True)
        assert plain.test_client().get("/login/sso/default").status_code == 404


def test_a_new_person_in_a_mapped_group_is_created_with_its_role_and_team_and_lands_on_next(
    client, idp, make_user
):
    _rule(make_user(Role.ADMIN), "cs-leads", "manager", "EMEA")
    response = sign_in(client, "lead", next_url="/account")
    assert response.status_code == 302 and response.location.endswith("/account")
    user = _user("lead@example.test")
    assert (user.name, user.role, user.team, user.has_password) == ("Lena Lead", Role.MANAGER, "EMEA", False)
    assert db.session.scalar(select(SsoIdentity.subject).where(SsoIdentity.user_id == user.id)) == "lead"
    assert "Lena Lead" in client.get("/account").get_data(as_text=True)


def test_a_person_in_no_mapped_group_gets_what_the_admin_chose(client, idp, make_user):
    admin = make_user(Role.ADMIN)
    sign_in(client, "rep")
    assert _user("rep@example.test").role == Role.MEMBER
    with unit_of_work():
        services.update_settings(
            sso_only=False, break_glass="", unmapped_role="deny", providers=1, actor=admin
        )
    other = client.application.test_client()
    refused = sign_in(other, "lead")
    assert "none of the groups that may use kms" in flashed_page(other, refused)
    assert _user("lead@example.test") is None


def test_a_verified_email_links_the_existing_account_and_the_subject_is_used_afterwards(
    client, idp, make_user
):
    admin = make_user(Role.ADMIN, email="admin@example.test")
    response = sign_in(client, "owner")
    assert response.status_code == 302
    assert db.session.scalar(select(SsoIdentity.user_id).where(SsoIdentity.subject == "owner")) == admin.id
    # no group rule maps the owner's groups: with a groups claim set, the unmapped choice (member) applies
    assert _user("admin@example.test").role == Role.MEMBER


def test_an_unverified_email_matching_an_admin_is_not_linked(client, idp, make_user):
    make_user(Role.ADMIN, email="admin@example.test")
    refused = sign_in(client, "mallory")
    page = flashed_page(client, refused)
    assert "does not say that admin@example.test is verified" in page
    assert db.session.scalar(select(SsoIdentity)) is None
    assert client.get("/admin/users").status_code == 302  # not logged in at all


def test_someone_removed_from_the_group_is_demoted_at_the_next_login(client, idp, make_user):
    _rule(make_user(Role.ADMIN), "cs-leads", "manager", "EMEA")
    sign_in(client, "lead")
    assert _user("lead@example.test").role == Role.MANAGER
    idp.set_groups("lead", ["cs-reps"])
    again = client.application.test_client()
    assert sign_in(again, "lead").status_code == 302
    assert _user("lead@example.test").role == Role.MEMBER


def test_a_deactivated_user_cannot_sign_in(client, idp, make_user):
    from kms.auth import services as accounts

    admin = make_user(Role.ADMIN)
    sign_in(client, "rep")
    rep = _user("rep@example.test")
    accounts.update_user(rep.id, actor=admin, role="member", team="", start_date=None, active=False)
    other = client.application.test_client()
    refused = sign_in(other, "rep")
    assert "This kms account is deactivated" in flashed_page(other, refused)
    assert other.get("/account").status_code == 302
