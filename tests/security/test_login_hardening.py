"""Session cookies, login throttling and the login page's `next` parameter, seen from outside."""

from __future__ import annotations

from http.cookies import SimpleCookie
from urllib.parse import quote, urljoin, urlsplit

import pytest

from kms.auth.models import Role
from tests.conftest import PASSWORD, login

SITE = "http://kms.test/"


def cookies_set_by(response) -> dict[str, dict]:
    jar = SimpleCookie()
    for header in response.headers.getlist("Set-Cookie"):
        jar.load(header)
    return {
        name: {"httponly": bool(m["httponly"]), "secure": bool(m["secure"]), "samesite": m["samesite"]}
        for name, m in jar.items()
    }


@pytest.mark.parametrize("app_overrides", [{"KMS_HTTPS": "0"}, {"KMS_HTTPS": "1"}], ids=["http", "https"])
def test_login_cookies_are_httponly_samesite_lax_and_secure_exactly_over_https(
    client, make_user, app_overrides
):
    response = login(client, make_user(Role.MEMBER), remember=True)
    cookies = cookies_set_by(response)
    assert {"kms_session", "kms_remember"} <= set(cookies)
    https = app_overrides["KMS_HTTPS"] == "1"
    for name in ("kms_session", "kms_remember"):
        assert cookies[name] == {"httponly": True, "secure": https, "samesite": "Lax"}, name


@pytest.mark.parametrize("app_overrides", [{"KMS_LOGIN_MAX_FAILURES": "3", "KMS_LOGIN_LOCK_MINUTES": "15"}])
def test_guessing_a_password_makes_the_guesser_wait_even_with_the_right_password(client, make_user):
    user = make_user(Role.MEMBER)
    statuses = [login(client, user, "wrong guess 12345").status_code for _ in range(3)]
    assert statuses == [401] * 3
    held = login(client, user)
    assert held.status_code == 429
    assert 0 < int(held.headers["Retry-After"]) <= 15
    assert "Too many failed logins" in held.get_data(as_text=True)
    assert client.get("/account").status_code == 302  # not logged in


@pytest.mark.parametrize("app_overrides", [{"KMS_LOGIN_MAX_FAILURES": "3"}])
def test_a_guessed_at_account_does_not_slow_anyone_else(client, make_user):
    victim, other = make_user(Role.MEMBER), make_user(Role.MEMBER)
    for _ in range(3):
        login(client, victim, "wrong guess 12345")
    assert login(client, victim).status_code == 429
    assert login(client, other).status_code == 302


def test_guesses_from_elsewhere_never_keep_the_owner_out_of_their_own_browser(app, client, make_user):
    victim = make_user(Role.MEMBER)
    assert login(client, victim).status_code == 302  # the owner's browser gets its device cookie
    client.post("/logout")
    for address in ("198.51.100.1", "198.51.100.2"):  # two guessers, each far past every limit
        guesser = app.test_client()
        for n in range(30):
            guesser.post(
                "/login",
                data={"email": victim.email, "password": f"guess {n} abc"},
                environ_base={"REMOTE_ADDR": address},
            )
    assert login(client, victim).status_code == 302


OFFSITE_TARGETS = [
    "https://evil.example/",
    "http://evil.example",
    "//evil.example/x",
    "///evil.example",
    "////evil.example",
    "/\\evil.example",
    "\\\\evil.example",
    "\\/evil.example",
    "/\t/evil.example",
    "/\n/evil.example",
    " //evil.example",
    "https:evil.example",
    "http:/evil.example",
    "javascript:alert(1)",
    "JavaScript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "evil.example",
    "@evil.example",
    "/%09/evil.example",
    "https://kms.test@evil.example/",
    "//kms.test@evil.example",
    "/\u3002evil.example",
]


def browser_target(location: str) -> str:
    """Where a browser would go: it ignores tabs and newlines and treats backslashes as slashes."""
    cleaned = "".join(ch for ch in location if ch not in "\t\r\n").replace("\\", "/").strip()
    return urljoin(SITE + "login", cleaned)


def stays_on_site(location: str) -> bool:
    target = urlsplit(browser_target(location))
    return target.scheme in {"http", "https"} and target.netloc == "kms.test"


@pytest.mark.parametrize("target", OFFSITE_TARGETS)
def test_login_never_redirects_off_the_site(client, make_user, target):
    user = make_user(Role.MEMBER)
    response = client.post(
        f"/login?next={quote(target, safe='')}", data={"email": user.email, "password": PASSWORD}
    )
    assert response.status_code == 302
    assert stays_on_site(response.location), f"next={target!r} sent the user to {response.location!r}"
    # Already logged in, the login page redirects at once: the same rule applies.
    again = client.get(f"/login?next={quote(target, safe='')}")
    assert again.status_code == 302 and stays_on_site(again.location), again.location


def test_the_redirect_check_itself_spots_an_offsite_location():
    assert not stays_on_site("//evil.example/")
    assert not stays_on_site("/\\evil.example")
    assert stays_on_site("/account")


def test_a_local_next_is_followed_after_login(client, make_user):
    user = make_user(Role.MEMBER)
    response = client.post(
        "/login?next=%2Faccount%3Ftab%3Dtokens", data={"email": user.email, "password": PASSWORD}
    )
    assert urlsplit(response.location).path == "/account"
