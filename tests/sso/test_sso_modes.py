"""SSO-only mode, fresh login through the provider, logging out there too, and the admin settings page."""

from __future__ import annotations

import time

import httpx
from sqlalchemy import select

from kms.auth import services as accounts
from kms.auth.models import Role, User
from kms.errors import Invalid
from kms.extensions import db, unit_of_work
from kms.sso import services
from tests.conftest import login
from tests.sso import provider as oidc
from tests.sso.conftest import CALLBACK
from tests.sso.helpers import flashed_page, query, resigned, sign_in, start


def _sso_only(admin, break_glass):
    with unit_of_work():
        services.update_settings(
            sso_only=True, break_glass=break_glass, unmapped_role="member", providers=1, actor=admin
        )


def test_sso_only_needs_a_break_glass_admin_who_is_an_active_admin_with_a_password(app, idp, make_user):
    admin, member = make_user(Role.ADMIN), make_user(Role.MEMBER)
    for break_glass, message in (
        ("", "Name at least one break-glass admin"),
        (member.email, "is not an active admin with a password"),
    ):
        try:
            _sso_only(admin, break_glass)
        except Invalid as error:
            assert message in error.message
        else:
            raise AssertionError("SSO-only mode was accepted without a usable break-glass admin")
    assert services.get_settings().sso_only is False


def test_sso_only_turns_off_passwords_except_for_break_glass_admins(client, idp, make_user):
    admin, other_admin, member = make_user(Role.ADMIN), make_user(Role.ADMIN), make_user(Role.MEMBER)
    _sso_only(admin, admin.email)
    page = client.get("/login").get_data(as_text=True)
    assert "Password login is turned off: sign in with Acme ID" in page
    refused = login(client, member)
    assert refused.status_code == 403 and "Password login is turned off" in refused.get_data(as_text=True)
    assert login(client, other_admin).status_code == 403  # an admin not named is no exception
    wrong = login(client, member, password="not the password at all")
    assert wrong.status_code == 401 and "Email or password is not correct." in wrong.get_data(as_text=True)
    assert client.get("/account").status_code == 302
    assert login(client, admin).status_code == 302  # the break-glass admin


def test_sso_only_invites_say_sign_in_with_the_provider_and_set_no_password(client, idp, make_user):
    admin = make_user(Role.ADMIN)
    _sso_only(admin, admin.email)
    login(client, admin)
    created = client.post(
        "/admin/users",
        data={"name": "Nina New", "email": "nina@example.test", "role": "member", "time_zone": "UTC"},
    )
    page = created.get_data(as_text=True)
    assert "signs in with Acme ID" in page and "nina@example.test" in page
    _, token = accounts.create_user("omar@example.test", "Omar", Role.MEMBER, actor=admin)
    invitee = client.application.test_client()
    assert "signs in with Acme ID" in invitee.get(f"/invite/{token}").get_data(as_text=True)
    posted = invitee.post(
        f"/invite/{token}", data={"password": "a long password 123", "confirm": "a long password 123"}
    )
    assert posted.status_code == 403
    db.session.rollback()
    assert db.session.scalar(select(User.password_hash).where(User.email == "omar@example.test")) is None


def test_a_provider_that_is_down_in_sso_only_mode_does_not_offer_the_password(backend, tmp_path, make_user):
    from tests.conftest import make_app

    down = make_app(
        backend,
        tmp_path,
        KMS_OIDC_ISSUER=f"http://127.0.0.1:{oidc.free_port()}",
        KMS_OIDC_CLIENT_ID="kms",
        KMS_OIDC_LABEL="Acme ID",
    )
    with down.app_context():
        admin, member = make_user(Role.ADMIN), make_user(Role.MEMBER)
        _sso_only(admin, admin.email)
        browser = down.test_client()
        page = flashed_page(browser, browser.get("/login/sso/default"))
        assert "Acme ID cannot be reached right now" in page and "log in with your password" not in page
        assert login(browser, member).status_code == 403
        assert login(browser, admin).status_code == 302


def _stale(client) -> None:
    """The session is no longer fresh (as after Flask-Login's session protection noticed a new address)."""
    with client.session_transaction() as session:
        session["_fresh"] = False


def test_a_stale_sso_session_confirms_at_the_provider_with_a_new_login_before_hiring(client, idp, make_user):
    with unit_of_work():
        services.add_rule(group_name="cs-leads", role="manager", team="EMEA", actor=make_user(Role.ADMIN))
    sign_in(client, "lead")
    _stale(client)
    asked = client.get("/hiring/")
    assert asked.status_code == 302 and "/reauthenticate" in asked.location
    page = client.get(asked.location).get_data(as_text=True)
    assert "Confirm with Acme ID" in page
    url = start(client, "/hiring/", path="/login/sso/default/reauthenticate")
    assert query(url)["prompt"] == "login" and query(url)["max_age"] == "0"
    back = client.get(oidc.log_in_at_provider(url, "lead", CALLBACK))
    assert back.status_code == 302 and back.location.endswith("/hiring/")
    assert client.get("/hiring/").status_code == 200


def test_a_confirmation_without_a_new_login_at_the_provider_is_refused(
    client, idp, make_user, replace_id_token
):
    make_user(Role.ADMIN)
    sign_in(client, "lead")
    _stale(client)
    replace_id_token["with"] = resigned(idp, {"auth_time": int(time.time()) - 3600})
    url = start(client, "/hiring/", path="/login/sso/default/reauthenticate")
    refused = client.get(oidc.log_in_at_provider(url, "lead", CALLBACK))
    assert "did not ask for your password again" in flashed_page(client, refused)
    assert "/reauthenticate" in client.get("/hiring/").location


def test_a_confirmation_as_another_person_is_refused(client, idp, make_user):
    make_user(Role.ADMIN)
    sign_in(client, "rep")
    _stale(client)
    url = start(client, "/hiring/", path="/login/sso/default/reauthenticate")
    refused = client.get(oidc.log_in_at_provider(url, "lead", CALLBACK))
    assert "different Acme ID account" in flashed_page(client, refused)
    assert "/reauthenticate" in client.get("/hiring/").location


def test_logout_ends_the_kms_session_and_offers_signing_out_at_the_provider(client, idp, make_user):
    make_user(Role.ADMIN)
    sign_in(client, "rep")
    out = client.post("/logout")
    page = client.get(out.location).get_data(as_text=True)
    assert client.get("/account").status_code == 302
    assert "Sign out of Acme ID too" in page
    end = client.get("/logout/sso/default")
    params = query(end.location)
    assert (
        end.location.startswith(idp.issuer) and params["post_logout_redirect_uri"] == "http://kms.test/login"
    )
    assert params["id_token_hint"].count(".") == 2 and params["client_id"] == "kms"
    answer = httpx.get(end.location, timeout=10)  # the provider accepts it: its sign-out confirmation
    assert (
        answer.status_code == 200 and "logout" in answer.text.lower() and "error" not in answer.text.lower()
    )
    assert client.get("/logout/sso/default").location.endswith("/login")  # offered once


def test_admins_add_a_provider_and_a_group_rule_in_the_settings(client, idp, make_user):
    login(client, make_user(Role.ADMIN))
    page = client.get("/admin/sso").get_data(as_text=True)
    assert "Sign in with Acme ID" in page and "read-only" in page and idp.issuer in page
    bad = client.post(
        "/admin/sso/providers",
        data={
            "label": "Okta",
            "slug": "Not A Slug",
            "issuer": idp.issuer,
            "client_id": "kms",
            "scopes": "openid email",
        },
    )
    assert bad.status_code == 400 and "lower-case letters" in bad.get_data(as_text=True)
    assert 'value="Okta"' in bad.get_data(as_text=True)  # what was typed stays
    added = client.post(
        "/admin/sso/providers",
        data={
            "label": "Okta",
            "slug": "okta",
            "issuer": idp.issuer,
            "client_id": "kms",
            "client_secret": "s",
            "scopes": "openid email profile",
            "groups_claim": "groups",
        },
    )
    assert added.status_code == 302
    anonymous = client.application.test_client()
    assert "Sign in with Okta" in anonymous.get("/login").get_data(as_text=True)
    assert start(anonymous, path="/login/sso/okta").startswith(idp.issuer)
    rule = client.post("/admin/sso/rules", data={"group_name": "cs-leads", "role": "manager", "team": "EMEA"})
    assert rule.status_code == 302
    assert "cs-leads" in client.get("/admin/sso").get_data(as_text=True)
    refused = client.post(
        "/admin/sso/settings", data={"sso_only": "y", "break_glass": "", "unmapped_role": "member"}
    )
    assert refused.status_code == 400 and "break-glass" in refused.get_data(as_text=True)


def test_members_cannot_open_the_sso_settings(client, idp, login_as):
    login_as(Role.MEMBER)
    assert client.get("/admin/sso").status_code == 403
    assert client.post("/admin/sso/rules", data={"group_name": "x", "role": "admin"}).status_code == 403
