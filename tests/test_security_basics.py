"""CSRF, security headers, request size limits and error pages that leak nothing."""

import pytest

from kms.auth.models import Role, User
from kms.extensions import db
from tests.conftest import PASSWORD, csrf_token_from, login

CSRF_ON = {"WTF_CSRF_ENABLED": True}


@pytest.mark.parametrize("app_overrides", [CSRF_ON])
def test_a_form_post_without_the_csrf_token_is_rejected_and_changes_nothing(client, make_user):
    admin = make_user(Role.ADMIN)
    page = client.get("/login").get_data(as_text=True)
    client.post(
        "/login", data={"email": admin.email, "password": PASSWORD, "csrf_token": csrf_token_from(page)}
    )
    before = db.session.scalar(db.select(db.func.count(User.id)))
    response = client.post(
        "/admin/users", data={"name": "Eve", "email": "eve@example.com", "role": "admin", "time_zone": "UTC"}
    )
    assert response.status_code == 400
    assert db.session.scalar(db.select(db.func.count(User.id))) == before


@pytest.mark.parametrize("app_overrides", [CSRF_ON])
def test_a_token_from_another_session_is_rejected(app, client, make_user):
    user = make_user(Role.MEMBER)
    stranger = app.test_client()
    foreign_token = csrf_token_from(stranger.get("/login").get_data(as_text=True))
    client.post(
        "/login",
        data={
            "email": user.email,
            "password": PASSWORD,
            "csrf_token": csrf_token_from(client.get("/login").get_data(as_text=True)),
        },
    )
    response = client.post(
        "/account",
        data={
            "action": "profile",
            "profile-name": "Hacked",
            "profile-time_zone": "UTC",
            "csrf_token": foreign_token,
        },
    )
    assert response.status_code == 400
    db.session.rollback()
    assert db.session.get(User, user.id).name != "Hacked"


@pytest.mark.parametrize("app_overrides", [CSRF_ON])
def test_the_csrf_error_page_gives_back_what_the_user_typed_but_never_passwords(client, make_user):
    user = make_user(Role.MEMBER)
    client.post(
        "/login",
        data={
            "email": user.email,
            "password": PASSWORD,
            "csrf_token": csrf_token_from(client.get("/login").get_data(as_text=True)),
        },
    )
    draft = "A long text I spent an hour writing.\nSecond line."
    response = client.post(
        "/account", data={"action": "profile", "profile-name": draft, "password-password": "do-not-echo-me"}
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "A long text I spent an hour writing." in page and "Second line." in page
    assert "do-not-echo-me" not in page


@pytest.mark.parametrize("app_overrides", [CSRF_ON])
def test_a_form_sent_after_the_session_ended_says_so_in_plain_words_and_keeps_the_text(
    app, client, make_user
):
    user = make_user(Role.MEMBER)
    client.post(
        "/login",
        data={
            "email": user.email,
            "password": PASSWORD,
            "csrf_token": csrf_token_from(client.get("/login").get_data(as_text=True)),
        },
    )
    token = csrf_token_from(client.get("/account").get_data(as_text=True))
    client.delete_cookie("kms_session", domain="kms.test")  # the session ended while the page stayed open
    response = client.post(
        "/account",
        data={
            "action": "profile",
            "profile-name": "My carefully typed name",
            "profile-time_zone": "UTC",
            "csrf_token": token,
        },
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "open too long" in page and "session ended" in page and "kept below" in page
    assert "CSRF" not in page.replace('name="csrf_token"', "")
    assert "My carefully typed name" in page


@pytest.mark.parametrize("app_overrides", [CSRF_ON])
def test_csrf_tokens_do_not_expire_during_a_long_edit(app):
    assert app.config["WTF_CSRF_TIME_LIMIT"] is None


def test_every_html_page_sends_the_security_headers(client, make_user):
    login(client, make_user(Role.ADMIN))
    for path in ["/login", "/account", "/admin/users", "/no-such-page"]:
        headers = client.get(path).headers
        csp = headers["Content-Security-Policy"]
        assert "default-src 'self'" in csp and "object-src 'none'" in csp and "frame-ancestors 'none'" in csp
        assert "unsafe-inline" not in csp
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["X-Frame-Options"] == "DENY"
        assert headers["Referrer-Policy"]


def test_pages_have_no_inline_scripts(client, make_user):
    login(client, make_user(Role.ADMIN))
    for path in ["/account", "/admin/users"]:
        page = client.get(path).get_data(as_text=True)
        assert "<script>" not in page and "onclick=" not in page and "style=" not in page


@pytest.mark.parametrize("app_overrides", [{"KMS_MAX_REQUEST_KB": "64"}])
def test_a_request_over_the_size_limit_gets_a_friendly_413(client, make_user):
    login(client, make_user(Role.MEMBER))
    response = client.post(
        "/account", data={"action": "profile", "profile-name": "x" * 70_000, "profile-time_zone": "UTC"}
    )
    assert response.status_code == 413
    assert "larger than this site accepts" in response.get_data(as_text=True)


def test_a_missing_page_is_a_friendly_404(client, make_user):
    login(client, make_user(Role.MEMBER))
    response = client.get("/definitely/not/here")
    assert response.status_code == 404 and "Not found" in response.get_data(as_text=True)


def test_an_error_in_a_view_is_a_500_page_without_a_traceback_and_is_logged(app, client, caplog):
    def broken():
        raise RuntimeError("secret internal detail")

    broken.required_action = "public"
    app.add_url_rule("/boom", "boom", broken)
    response = client.get("/boom")
    page = response.get_data(as_text=True)
    assert response.status_code == 500
    assert "secret internal detail" not in page and "Traceback" not in page
    assert "Something went wrong" in page
    assert any("secret internal detail" in (r.exc_text or "") for r in caplog.records)


def test_api_errors_are_json(client):
    response = client.get("/api/no-such-thing")
    assert response.status_code == 404 and response.is_json


def test_health_check_reports_version_and_database_without_login(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json["database"] == "ok" and response.json["version"]
