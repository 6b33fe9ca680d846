"""Against the real thing: `kms serve` (gunicorn, 2 worker processes) on 127.0.0.1, spoken to over HTTP.

These catch what the in-process test client cannot: state shared between requests inside a worker, and
state that must be shared between workers (the database).
"""

from __future__ import annotations

import re
from contextlib import closing

import httpx
import pytest

from tests.e2e.harness import LiveServer

pytestmark = pytest.mark.slow
PASSWORD = "live server passphrase"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    from kms.auth import SYSTEM, services
    from kms.extensions import unit_of_work

    live = LiveServer(instance=tmp_path_factory.mktemp("live-security")).start()
    with live.app().app_context():
        for email, role in (("admin@example.test", "admin"), ("member@example.test", "member")):
            with unit_of_work():
                services.create_user(
                    email, email.split("@")[0].title(), role, actor=SYSTEM, password=PASSWORD
                )
    yield live
    live.stop()


def csrf(page: httpx.Response) -> str:
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.text).group(1)


def logged_in(server, email: str) -> httpx.Client:
    client = httpx.Client(base_url=server.url, timeout=30)
    response = client.post(
        "/login", data={"email": email, "password": PASSWORD, "csrf_token": csrf(client.get("/login"))}
    )
    assert response.status_code == 302, response.text[:300]
    return client


def test_a_visitor_without_cookies_is_never_served_as_the_previous_visitor(server):
    with (
        closing(logged_in(server, "admin@example.test")) as admin,
        httpx.Client(base_url=server.url, timeout=30) as stranger,
    ):
        for _ in range(8):  # enough requests that both workers serve each client
            assert admin.get("/admin/users").status_code == 200
            assert stranger.get("/admin/users").status_code == 302
            assert stranger.get("/login").status_code == 200
            assert stranger.get("/api/me").status_code == 401


def test_what_one_worker_commits_every_worker_shows_at_once(server):
    with closing(logged_in(server, "admin@example.test")) as admin:
        for number in range(4):
            page = admin.get("/admin/users")
            created = admin.post(
                "/admin/users",
                data={
                    "name": f"Fresh Person {number}",
                    "email": f"fresh{number}@example.test",
                    "role": "member",
                    "time_zone": "UTC",
                    "csrf_token": csrf(page),
                },
            )
            assert created.status_code == 200
            for _ in range(4):
                assert f"Fresh Person {number}" in admin.get("/admin/users").text


def test_failed_logins_spread_over_both_workers_still_make_the_guesser_wait(server):
    with httpx.Client(base_url=server.url, timeout=30) as guesser:
        token = csrf(guesser.get("/login"))
        statuses = [
            guesser.post(
                "/login",
                data={"email": "member@example.test", "password": f"guess {n} xyz", "csrf_token": token},
            ).status_code
            for n in range(5)
        ]
        assert statuses == [401] * 5
        held = guesser.post(
            "/login", data={"email": "member@example.test", "password": PASSWORD, "csrf_token": token}
        )
        assert held.status_code == 429 and "Retry-After" in held.headers
