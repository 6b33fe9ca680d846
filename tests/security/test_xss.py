"""Every XSS payload of the corpus comes out inert wherever a user's text is shown.

The corpus is data (tests/data/xss_payloads*.txt, one payload a line). Each payload goes through the Markdown
renderer and through every text field the site shows back: a user's name (header, users list, invite page,
user page), a team, an API token's name, and the path and form values echoed by the 404 and CSRF pages.
The handbook, training and hiring fields (and the search query echo, once search lands) are in
test_xss_features.py.
"""

from __future__ import annotations

import html
import re
from urllib.parse import quote, urljoin, urlsplit

import pytest

from kms import markdown
from kms.auth.models import Role
from tests.conftest import PASSWORD, csrf_token_from
from tests.security.inert import assert_inert, inspect, load_payloads, read_payloads

PAYLOADS = load_payloads()
MIN_PAYLOADS = 40


def short(payload: str, limit: int) -> str:
    """What a field of `limit` characters keeps of a payload (forms refuse longer values)."""
    return payload[:limit].strip()


def test_the_corpus_has_enough_distinct_payloads():
    own = read_payloads("xss_payloads_extra.txt")
    assert len(own) >= MIN_PAYLOADS, "xss_payloads_extra.txt has too few payloads"
    assert len(set(own)) == len(own), "xss_payloads_extra.txt repeats a payload"
    assert len(PAYLOADS) >= len(own)


@pytest.mark.parametrize(
    "html",
    [
        "<script>alert(1)</script>",
        "<img src=x onerror=alert(1)>",
        '<a href="java&#x09;script:alert(1)">x</a>',
        '<a href=" JAVASCRIPT:alert(1)">x</a>',
        "<iframe srcdoc='x'></iframe>",
        '<svg onload="alert(1)">',
        '<a href="data:text/html;base64,PHNjcmlwdD4=">x</a>',
        '<meta http-equiv="refresh" content="0;url=x">',
        '<form><button formaction="javascript:alert(1)">x</button></form>',
        '<div style="x:expression(alert(1))">',
        '<script src="/static/kms.js">alert(1)</script>',
    ],
)
def test_the_checker_catches_each_kind_of_executable_content(html):
    problems, _ = inspect(html)
    assert problems


def test_the_checker_accepts_the_sites_own_script_and_plain_links():
    problems, text = inspect(
        '<script src="/static/kms.js" defer></script><a href="/x">a &lt;b&gt;</a>'
        '<a href="https://example.com/javascript:">y</a>'
    )
    assert problems == [] and "a <b>" in text


@pytest.mark.parametrize("payload", PAYLOADS, ids=range(len(PAYLOADS)))
def test_markdown_renders_the_payload_without_executable_content(payload):
    assert_inert(markdown.render(payload), f"markdown.render({payload!r})")
    assert_inert(
        markdown.render(f"# Title\n\n{payload}\n\n- item {payload}\n\n> {payload}\n"),
        f"markdown.render(block around {payload!r})",
    )


def test_names_are_shown_as_text_in_the_header_and_the_users_list(client, login_as):
    admin = login_as(Role.ADMIN)
    for payload in PAYLOADS:
        name = short(payload, 120)
        response = client.post(
            "/account", data={"action": "profile", "profile-name": name, "profile-time_zone": "UTC"}
        )
        assert response.status_code == 302, f"profile name {name!r} refused"
        for path in ("/account", "/admin/users", f"/admin/users/{admin.id}"):
            text = assert_inert(client.get(path).get_data(as_text=True), f"{path} with name {name!r}")
            assert name in text, f"{path} does not show the name {name!r} as text"


def test_invited_names_and_teams_are_shown_as_text(client, login_as):
    login_as(Role.ADMIN)
    shown = []
    for number, payload in enumerate(PAYLOADS):
        name, team = short(payload, 120), short(payload, 80)
        response = client.post(
            "/admin/users",
            data={
                "name": name,
                "email": f"p{number}@example.test",
                "role": "member",
                "team": team,
                "time_zone": "UTC",
            },
        )
        assert response.status_code == 200, f"invite for {name!r} refused"
        text = assert_inert(response.get_data(as_text=True), f"invite page for {name!r}")
        assert name in text
        shown.append((name, team))
    text = assert_inert(client.get("/admin/users").get_data(as_text=True), "users list")
    missing = [(name, team) for name, team in shown if name not in text or team not in text]
    assert not missing, f"not shown as text in the users list: {missing[:5]}"


def test_token_names_are_shown_as_text_on_the_account_page(client, login_as):
    login_as(Role.MEMBER)
    for payload in PAYLOADS:
        name = short(payload, 80)
        response = client.post("/account", data={"action": "token", "token-name": name})
        assert response.status_code == 200
        text = assert_inert(response.get_data(as_text=True), f"account page with token {name!r}")
        assert name in text


def test_the_not_found_page_never_executes_the_requested_path(client, login_as):
    login_as(Role.MEMBER)
    for payload in PAYLOADS:
        response = client.get("/" + quote(payload, safe=""))
        assert response.status_code == 404
        assert_inert(response.get_data(as_text=True), f"404 page for path {payload!r}")


@pytest.mark.parametrize("app_overrides", [{"WTF_CSRF_ENABLED": True}])
def test_the_csrf_page_echoes_the_path_and_typed_values_as_text(client, make_user):
    user = make_user(Role.MEMBER)
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    assert (
        client.post(
            "/login", data={"email": user.email, "password": PASSWORD, "csrf_token": token}
        ).status_code
        == 302
    )
    for payload in PAYLOADS:
        response = client.post("/" + quote(payload, safe=""), data={"note": payload})
        assert response.status_code == 400
        text = assert_inert(response.get_data(as_text=True), f"CSRF page for {payload!r}")
        assert payload.strip() in text, f"the CSRF page lost what was typed: {payload!r}"


@pytest.mark.parametrize("app_overrides", [{"WTF_CSRF_ENABLED": True}])
@pytest.mark.parametrize("path", ["//evil.example/x", "/\\evil.example/x", "///evil.example"])
def test_the_csrf_pages_link_back_never_leaves_the_site(client, path):
    response = client.post("/x", environ_overrides={"PATH_INFO": path})
    assert response.status_code == 400
    hrefs = re.findall(r'<a class="button" href="([^"]*)"', response.get_data(as_text=True))
    assert hrefs, "no link back on the CSRF page"
    for href in hrefs:
        target = urljoin("https://kms.test/page", html.unescape(href).replace("\\", "/"))
        assert urlsplit(target).netloc == "kms.test", f"{href!r} leads to {target}"
