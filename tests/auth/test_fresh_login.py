"""A session restored from a "keep me logged in" cookie must confirm the password before hiring pages,
user administration or a new API token; everything else works as before."""

from kms.auth import services
from kms.auth.models import ApiToken, Role
from kms.extensions import db
from tests.conftest import PASSWORD, login


def remembered_client(app, client, user):
    """A second browser that only has the remember-me cookie of `user` (the session cookie has expired)."""
    assert login(client, user, remember=True).status_code == 302
    restored = app.test_client()
    restored.set_cookie(
        "kms_remember", client.get_cookie("kms_remember", domain="kms.test").value, domain="kms.test"
    )
    return restored


def test_a_remembered_manager_confirms_the_password_before_hiring_and_goes_on_to_the_page(
    app, client, make_user
):
    restored = remembered_client(app, client, make_user(Role.MANAGER))
    assert restored.get("/handbook/").status_code == 200  # reading needs no password
    response = restored.get("/hiring/")
    assert response.status_code == 302 and "/reauthenticate?next=%2Fhiring%2F" in response.location
    page = restored.get(response.location).get_data(as_text=True)
    assert "Please confirm your password to open that page." in page and "Confirm your password" in page

    wrong = restored.post("/reauthenticate?next=/hiring/", data={"password": "not my password at all"})
    assert wrong.status_code == 401 and "That is not your password." in wrong.get_data(as_text=True)
    assert restored.get("/hiring/").status_code == 302  # still not confirmed

    confirmed = restored.post("/reauthenticate?next=/hiring/", data={"password": PASSWORD})
    assert confirmed.status_code == 302 and confirmed.location.endswith("/hiring/")
    assert restored.get("/hiring/").status_code == 200


def test_a_password_login_opens_hiring_and_user_admin_directly(client, make_user):
    login(client, make_user(Role.ADMIN))
    assert client.get("/hiring/").status_code == 200
    assert client.get("/admin/users").status_code == 200


def test_user_admin_and_the_hiring_api_ask_a_remembered_session_too_but_not_a_bearer_token(
    app, client, make_user
):
    admin = make_user(Role.ADMIN)
    restored = remembered_client(app, client, admin)
    assert "/reauthenticate" in restored.get("/admin/users").location
    answer = restored.get("/api/hiring/candidates")
    assert answer.status_code == 401 and "confirm your password" in answer.get_json()["error"]
    _, secret = services.create_token(admin, "script")
    api = app.test_client()
    assert api.get("/api/hiring/candidates", headers={"Authorization": f"Bearer {secret}"}).status_code == 200


def test_a_remembered_session_cannot_create_an_api_token_without_the_password(app, client, make_user):
    user = make_user(Role.MEMBER)
    restored = remembered_client(app, client, user)
    page = restored.get("/account").get_data(as_text=True)
    assert "Create token" not in page and "/reauthenticate?next=/account" in page
    response = restored.post("/account", data={"action": "token", "token-name": "laptop script"})
    assert response.status_code == 302 and "/reauthenticate" in response.location
    assert db.session.query(ApiToken).filter_by(user_id=user.id).count() == 0


def test_after_confirming_the_password_a_remembered_session_creates_a_token(app, client, make_user):
    user = make_user(Role.MEMBER)
    restored = remembered_client(app, client, user)
    confirmed = restored.post("/reauthenticate?next=/account", data={"password": PASSWORD})
    assert confirmed.status_code == 302 and confirmed.location.endswith("/account")
    assert "Create token" in restored.get("/account").get_data(as_text=True)
    created = restored.post("/account", data={"action": "token", "token-name": "laptop script"})
    assert created.status_code == 200 and "copy it now" in created.get_data(as_text=True)
    assert db.session.query(ApiToken).filter_by(user_id=user.id).count() == 1
