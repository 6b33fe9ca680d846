"""The first-run flow works end to end through the web client."""
from tests.conftest import login


def test_first_run_setup_creates_admin_and_then_disappears(client):
    assert client.get("/login").location.endswith("/setup")
    response = client.post("/setup", data={"name": "Ann", "email": "ann@example.com", "time_zone": "UTC",
                                           "password": "a long password", "confirm": "a long password"})
    assert response.status_code == 302
    assert client.get("/admin/users").status_code == 200
    assert client.get("/setup").status_code == 404


def test_member_logs_in_and_sees_own_account(client, make_user):
    user = make_user(name="Mo Member")
    assert login(client, user).status_code == 302
    assert b"Mo Member" in client.get("/account").data
