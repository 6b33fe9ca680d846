"""Fixtures for the browser journeys: live servers under gunicorn and fresh headless Chromium sessions.

Two servers, each started once per test session and only when a journey asks for it:
- `fresh_server`: an empty site, for the journey that goes through first-run setup;
- `live_server`: a site with the demo team and every feature's demo data (`kms.demo.create_demo`), for the
  journeys that start from an established team. `demo_team` gives its logins by role.
"""

from __future__ import annotations

import os

import pytest

from tests.e2e.harness import Journey, LiveServer, missing_browser


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/e2e/" in item.nodeid.replace("\\", "/"):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session")
def browser_available():
    """Skip (or, with CI=true, fail) when Chromium or chromedriver is missing, with the reason."""
    reason = missing_browser()
    if reason:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true requires the browser journeys to run. {reason}", pytrace=False)
        pytest.skip(reason)


def _server(tmp_path_factory, name: str) -> LiveServer:
    return LiveServer(instance=tmp_path_factory.mktemp(name)).start()


@pytest.fixture(scope="session")
def fresh_server(browser_available, tmp_path_factory):
    """An empty kms (no users yet) under gunicorn with 2 workers."""
    server = _server(tmp_path_factory, "e2e-fresh")
    yield server
    server.stop()


@pytest.fixture(scope="session")
def smtp_server():
    """A real SMTP server (aiosmtpd) on 127.0.0.1 that the demo site's e-mail goes to; journeys read it back."""
    try:
        from tests.notify.smtp_server import SmtpServer
    except ImportError as error:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true requires aiosmtpd (test extra): {error}", pytrace=False)
        pytest.skip(f"aiosmtpd is not installed (pip install -e '.[test]'): {error}")
    server = SmtpServer()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def live_server(browser_available, tmp_path_factory, smtp_server):
    """A kms with the demo team and demo data, under gunicorn with 2 workers, e-mailing to `smtp_server`."""
    from kms.demo import create_demo

    server = LiveServer(
        instance=tmp_path_factory.mktemp("e2e-demo"),
        extra_env={"KMS_SMTP_URL": smtp_server.url, "KMS_MAIL_FROM": "kms <kms@example.test>"},
    ).start()
    app = server.app()
    with app.app_context():
        team = create_demo()
        server.demo_logins = {}
        for email, role, password in team.logins:
            server.demo_logins.setdefault(role, []).append((email, password))
    yield server
    server.stop()


@pytest.fixture
def journey():
    """`journey(name, server)` starts a journey: its browsers are closed and its artifacts kept at the end."""
    started: list[Journey] = []

    def start(name: str, server: LiveServer) -> Journey:
        run = Journey(name, server)
        started.append(run)
        return run

    yield start
    for run in started:
        run.close()
        errors = run.server.server_errors(since=run.log_start)
        if errors:
            pytest.fail(
                "the server logged errors during the journey:\n" + "\n".join(errors[-20:]), pytrace=False
            )
