"""Personal API tokens: shown once, stored hashed, for /api/ only, revocable."""

import re

import pytest

from kms.auth.models import ApiToken, Role
from kms.extensions import db
from tests.conftest import login


def create_token(client, name="chat bot") -> str:
    page = client.post("/account", data={"action": "token", "token-name": name}).get_data(as_text=True)
    match = re.search(r'id="new-token"[^>]*value="(kms_[^"]+)"', page)
    assert match, "the new token is not shown"
    return match.group(1)


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


def test_a_token_is_shown_once_and_only_its_hash_is_stored(client, make_user):
    login(client, make_user(Role.AUTHOR))
    secret = create_token(client)
    stored = db.session.scalar(db.select(ApiToken))
    assert secret not in (stored.token_hash, stored.prefix) and secret.startswith(stored.prefix)
    assert secret not in client.get("/account").get_data(as_text=True)


def test_a_token_authenticates_api_calls_as_its_user(app, client, make_user):
    user = make_user(Role.AUTHOR, name="Tina Token")
    login(client, user)
    secret = create_token(client)
    response = app.test_client().get("/api/me", headers=bearer(secret))
    assert response.status_code == 200
    assert response.json["email"] == user.email and response.json["role"] == "author"
    assert "Set-Cookie" not in response.headers


def test_a_token_never_opens_html_pages(app, client, make_user):
    login(client, make_user(Role.ADMIN))
    secret = create_token(client)
    anonymous = app.test_client()
    assert anonymous.get("/account", headers=bearer(secret)).status_code == 302
    assert anonymous.get("/admin/users", headers=bearer(secret)).status_code == 302


def test_a_revoked_token_stops_working(app, client, make_user):
    login(client, make_user(Role.MEMBER))
    secret = create_token(client)
    token = db.session.scalar(db.select(ApiToken))
    client.post(f"/account/tokens/{token.id}/revoke")
    response = app.test_client().get("/api/me", headers=bearer(secret))
    assert response.status_code == 401 and response.json["error"]


def test_deactivating_a_user_disables_their_tokens(app, client, make_user):
    user = make_user(Role.MEMBER)
    login(client, user)
    secret = create_token(client)
    admin_client = app.test_client()
    login(admin_client, make_user(Role.ADMIN))
    admin_client.post(f"/admin/users/{user.id}", data={"role": "member"})
    assert app.test_client().get("/api/me", headers=bearer(secret)).status_code == 401


def test_someone_elses_token_cannot_be_revoked(app, client, make_user):
    login(client, make_user(Role.MEMBER))
    create_token(client)
    token = db.session.scalar(db.select(ApiToken))
    intruder = app.test_client()
    login(intruder, make_user(Role.MEMBER))
    assert intruder.post(f"/account/tokens/{token.id}/revoke").status_code == 404
    db.session.rollback()
    assert db.session.get(ApiToken, token.id).revoked_at is None


@pytest.mark.parametrize("header", ["Bearer kms_not-a-real-token", "Bearer ", "Basic abc", "Bearer x"])
def test_bad_credentials_get_a_json_401(client, header):
    response = client.get("/api/me", headers={"Authorization": header})
    assert response.status_code == 401 and response.is_json


def test_the_api_also_accepts_a_logged_in_session(client, make_user):
    user = make_user(Role.MEMBER)
    login(client, user)
    assert client.get("/api/me").json["id"] == user.id


def test_create_token_command_prints_a_working_token(app, runner, make_user):
    user = make_user(Role.MANAGER)
    result = runner.invoke(args=["create-token", user.email, "provisioning"])
    assert result.exit_code == 0, result.output
    secret = result.output.strip()
    assert app.test_client().get("/api/me", headers=bearer(secret)).json["id"] == user.id


def test_create_token_command_names_an_unknown_user(runner):
    result = runner.invoke(args=["create-token", "nobody@example.com", "x"])
    assert result.exit_code != 0 and "nobody@example.com" in result.output


def test_the_bearer_scheme_is_case_insensitive(app, client, make_user):
    """RFC 6750/7235: clients that send 'bearer' or 'BEARER' are authenticated like 'Bearer'."""
    login(client, make_user(Role.AUTHOR))
    secret = create_token(client)
    for scheme in ("bearer", "BEARER"):
        response = app.test_client().get("/api/me", headers={"Authorization": f"{scheme} {secret}"})
        assert response.status_code == 200


def test_api_calls_without_a_usable_token_get_a_401_saying_what_is_wrong(app):
    app.config["WTF_CSRF_ENABLED"] = True  # a POST without credentials is a 401, not a CSRF failure
    anonymous = app.test_client()
    for method in ("get", "post"):
        missing = getattr(anonymous, method)(
            "/api/hiring/scorecards/1/draft" if method == "post" else "/api/me",
            json={"summary": "x"} if method == "post" else None,
        )
        assert missing.status_code == 401 and "Authorization: Bearer" in missing.json["error"]
        assert missing.headers["WWW-Authenticate"].startswith("Bearer")
        wrong = getattr(anonymous, method)(
            "/api/hiring/scorecards/1/draft" if method == "post" else "/api/me",
            json={"summary": "x"} if method == "post" else None,
            headers=bearer("kms_not-a-real-token"),
        )
        assert wrong.status_code == 401 and "token is not valid" in wrong.json["error"]


def test_api_tokens_sit_behind_a_closed_integrations_disclosure_until_one_is_made(client, login_as):
    login_as(Role.MEMBER)
    page = client.get("/account").get_data(as_text=True)
    disclosure = re.search(
        r"<details class=\"integrations\"( open)?>\s*<summary><h2>Integrations</h2></summary>"
        r"(.*?)</details>",
        page,
        re.S,
    )
    assert disclosure is not None and disclosure.group(1) is None  # closed: a rep sees just "Integrations"
    assert "API tokens" in disclosure.group(2) and 'id="token-name"' in disclosure.group(2)
    assert "API tokens" not in page.replace(disclosure.group(0), "")
    created = client.post("/account", data={"action": "token", "token-name": "chat bot"}).get_data(
        as_text=True
    )
    assert '<details class="integrations" open>' in created and 'id="new-token"' in created
