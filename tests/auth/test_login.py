"""Login: generic errors, throttling per email (shared by processes) and per address, redirects, cookies."""
import multiprocessing
import os

import pytest

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


def test_eleventh_wrong_password_in_a_row_is_throttled_even_with_the_right_one(client, make_user):
    user = make_user(Role.MEMBER)
    statuses = [login(client, user, f"wrong-{n}-password").status_code for n in range(10)]
    assert statuses == [401] * 10
    blocked = login(client, user)
    assert blocked.status_code == 429
    assert int(blocked.headers["Retry-After"]) > 0
    other = make_user(Role.MEMBER)
    assert login(client, other).status_code == 302


def test_unknown_emails_lock_too_so_accounts_cannot_be_discovered(client, make_user):
    make_user(Role.MEMBER)
    for n in range(10):
        login(client, "ghost@example.com", f"guess-{n}-password")
    assert login(client, "ghost@example.com", "guess-password").status_code == 429


def test_a_successful_login_resets_the_failure_count(client, make_user):
    user = make_user(Role.MEMBER)
    for n in range(9):
        login(client, user, f"wrong-{n}-password")
    assert login(client, user).status_code == 302
    client.post("/logout")
    for n in range(9):
        assert login(client, user, f"wrong-{n}-password").status_code == 401


def _hammer(db_url, instance, email, attempts, queue):
    app = make_app({"name": "x", "url": db_url}, instance)
    client = app.test_client()
    queue.put([login(client, email, f"wrong-{os.getpid()}-{n}").status_code for n in range(attempts)])


def test_the_failure_limit_holds_across_server_processes(app, make_user, tmp_path, backend):
    user = make_user(Role.MEMBER)
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    workers = [context.Process(target=_hammer, args=(url, tmp_path / f"w{n}", user.email, 8, queue))
               for n in range(2)]
    for worker in workers:
        worker.start()
    results = [status for _ in workers for status in queue.get(timeout=120)]
    for worker in workers:
        worker.join(timeout=30)
    assert results.count(401) == 10, results
    assert results.count(429) == 6, results


@pytest.mark.parametrize("app_overrides", [{"RATELIMIT_ENABLED": True, "KMS_LOGIN_RATE": "5 per minute"}])
def test_one_address_is_rate_limited_across_many_emails(client, make_user):
    make_user(Role.MEMBER)
    statuses = [login(client, f"someone{n}@example.com", "pw-guess-xyz").status_code for n in range(6)]
    assert statuses == [401] * 5 + [429]


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x", "/\\evil.example",
                                    "javascript:alert(1)", "http:/evil.example", "/%0d%0aLocation:evil"])
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
