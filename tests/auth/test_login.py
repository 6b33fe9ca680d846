"""Login: generic errors, throttling (shared by processes) that slows guessers without locking out the owner,
redirects, cookies."""

import multiprocessing
import os
from datetime import UTC, datetime, timedelta

import pytest

from kms.auth import services
from kms.auth.models import Role
from tests.conftest import PASSWORD, login, make_app


def test_unknown_email_and_wrong_password_get_the_same_answer(client, make_user):
    user = make_user(Role.MEMBER)
    unknown = login(client, "nobody@example.com", "whatever-password")
    wrong = login(client, user, "wrong-password-here")
    assert unknown.status_code == wrong.status_code == 401
    strip = lambda r: r.get_data(as_text=True).replace("nobody@example.com", "").replace(user.email, "")  # noqa: E731
    assert strip(unknown) == strip(wrong)
    assert "Email or password is not correct." in strip(wrong)


ATTACKER, HOME, TRAVEL = "198.51.100.66", "203.0.113.10", "192.0.2.44"


def attempt(client, user_or_email, password: str = PASSWORD, address: str = "127.0.0.1"):
    """A login through the form from a given client address."""
    email = getattr(user_or_email, "email", user_or_email)
    return client.post(
        "/login", data={"email": email, "password": password}, environ_base={"REMOTE_ADDR": address}
    )


@pytest.fixture
def clock(monkeypatch):
    """The login throttle's clock, moved forward by the test instead of waiting."""
    now = [datetime(2026, 12, 10, 9, 0, tzinfo=UTC)]
    monkeypatch.setattr(services, "utcnow", lambda: now[0])

    def advance(seconds: float) -> None:
        now[0] += timedelta(seconds=seconds)

    return advance


def test_after_five_wrong_passwords_the_next_attempt_waits_even_with_the_right_one(client, make_user):
    user = make_user(Role.MEMBER)
    statuses = [attempt(client, user, f"wrong-{n}-password").status_code for n in range(5)]
    assert statuses == [401] * 5
    blocked = attempt(client, user)
    assert blocked.status_code == 429
    assert 0 < int(blocked.headers["Retry-After"]) <= 15
    assert "Too many failed logins. Wait 15 seconds and try again." in blocked.get_data(as_text=True)
    assert client.get("/account").status_code == 302  # not logged in
    other = make_user(Role.MEMBER)
    assert attempt(client, other).status_code == 302


def test_each_further_failure_doubles_the_wait_up_to_the_longest(client, make_user, clock):
    user = make_user(Role.MEMBER)
    for n in range(5):
        attempt(client, user, f"wrong-{n}-password", address=ATTACKER)
    waits = []
    for n in range(9):
        blocked = attempt(client, user, "another-guess-123", address=ATTACKER)
        assert blocked.status_code == 429
        waits.append(int(blocked.headers["Retry-After"]))
        clock(waits[-1])
        assert attempt(client, user, f"guess-{n}-after-waiting", address=ATTACKER).status_code == 401
    assert waits == [15, 30, 60, 120, 240, 480, 900, 900, 900]
    clock(900)
    assert attempt(client, user, address=ATTACKER).status_code == 302  # the owner, once the wait is over


def test_an_attacker_cannot_keep_the_owner_out_of_an_address_they_logged_in_from_before(
    app, client, make_user, clock
):
    victim = make_user(Role.MEMBER)
    assert attempt(client, victim, address=HOME).status_code == 302
    attacker = app.test_client()
    statuses = [
        attempt(attacker, victim, f"guess-{n}-password", address=ATTACKER).status_code for n in range(30)
    ]
    assert statuses[:5] == [401] * 5 and set(statuses[5:]) == {429}  # the attacker is held back
    clock(60)
    new_browser_at_home = app.test_client()  # no cookies at all: the address alone is known
    assert attempt(new_browser_at_home, victim, address=HOME).status_code == 302


def test_the_owners_browser_gets_in_from_a_new_address_while_strangers_are_slowed(app, client, make_user):
    victim = make_user(Role.MEMBER)
    response = attempt(client, victim, address=HOME)
    cookie = next(h for h in response.headers.getlist("Set-Cookie") if h.startswith("kms_device="))
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    client.post("/logout")
    # Guesses from ten different addresses: each address only once, the account's count of unknown clients
    # reaches its limit.
    for n in range(10):
        assert (
            attempt(app.test_client(), victim, "a-wrong-guess-1", address=f"198.51.100.{n}").status_code
            == 401
        )
    stranger = attempt(app.test_client(), victim, address=TRAVEL)
    assert stranger.status_code == 429 and int(stranger.headers["Retry-After"]) > 0
    assert attempt(client, victim, address=TRAVEL).status_code == 302  # the device cookie is known


def test_one_address_guessing_many_accounts_is_slowed_down(client, make_user):
    make_user(Role.MEMBER)
    statuses = [
        attempt(client, f"someone{n}@example.com", "pw-guess-xyz", address=ATTACKER).status_code
        for n in range(26)
    ]
    assert statuses == [401] * 25 + [429]


def test_unknown_emails_are_slowed_too_so_accounts_cannot_be_discovered(client, make_user):
    make_user(Role.MEMBER)
    for n in range(5):
        attempt(client, "ghost@example.com", f"guess-{n}-password")
    assert attempt(client, "ghost@example.com", "guess-password").status_code == 429


def test_a_successful_login_resets_the_failure_count(client, make_user):
    user = make_user(Role.MEMBER)
    for n in range(4):
        attempt(client, user, f"wrong-{n}-password")
    assert attempt(client, user).status_code == 302
    client.post("/logout")
    for n in range(4):
        assert attempt(client, user, f"wrong-{n}-password").status_code == 401


def test_failures_are_forgotten_after_a_quiet_spell(client, make_user, clock):
    user = make_user(Role.MEMBER)
    for n in range(5):
        attempt(client, user, f"wrong-{n}-password", address=ATTACKER)
    clock(15 + 15 * 60 + 1)
    assert [attempt(client, user, f"again-{n}-password", address=ATTACKER).status_code for n in range(5)] == [
        401
    ] * 5


def _hammer(db_url, instance, email, attempts, queue):
    app = make_app({"name": "x", "url": db_url}, instance)
    client = app.test_client()
    queue.put([login(client, email, f"wrong-{os.getpid()}-{n}").status_code for n in range(attempts)])


def test_the_failure_limit_holds_across_server_processes(app, make_user, tmp_path, backend):
    user = make_user(Role.MEMBER)
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    workers = [
        context.Process(target=_hammer, args=(url, tmp_path / f"w{n}", user.email, 8, queue))
        for n in range(2)
    ]
    for worker in workers:
        worker.start()
    results = [status for _ in workers for status in queue.get(timeout=120)]
    for worker in workers:
        worker.join(timeout=30)
    assert results.count(401) == 5, results
    assert results.count(429) == 11, results


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/",
        "//evil.example/x",
        "/\\evil.example",
        "javascript:alert(1)",
        "http:/evil.example",
        "/%0d%0aLocation:evil",
    ],
)
def test_next_never_leaves_the_site(client, make_user, target):
    user = make_user(Role.MEMBER)
    response = client.post(f"/login?next={target}", data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 302
    assert response.location in ("/", "http://kms.test/")


def test_next_to_a_local_page_is_followed(client, make_user):
    user = make_user(Role.MEMBER)
    response = client.post("/login?next=/account", data={"email": user.email, "password": PASSWORD})
    assert response.location.endswith("/account")


def test_session_cookie_is_httponly_and_samesite_lax(client, make_user):
    response = login(client, make_user(Role.MEMBER))
    cookie = next(h for h in response.headers.getlist("Set-Cookie") if h.startswith("kms_session="))
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie


@pytest.mark.parametrize("app_overrides", [{"KMS_HTTPS": "1"}])
def test_cookies_are_secure_when_served_over_https(client, make_user):
    response = login(client, make_user(Role.MEMBER), remember=True)
    cookies = response.headers.getlist("Set-Cookie")
    assert cookies and all("Secure" in c and "HttpOnly" in c for c in cookies)
    assert "Strict-Transport-Security" in response.headers


def test_the_session_cookie_changes_at_login_and_the_old_one_grants_nothing(app, client, make_user):
    user = make_user(Role.MEMBER)
    client.get("/login")
    before = client.get_cookie("kms_session", domain="kms.test")
    login(client, user)
    after = client.get_cookie("kms_session", domain="kms.test")
    assert after is not None and (before is None or before.value != after.value)
    if before is not None:
        stranger = app.test_client()
        stranger.set_cookie("kms_session", before.value, domain="kms.test")
        assert stranger.get("/account").status_code == 302
