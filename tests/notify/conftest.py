"""E-mail test fixtures: a real SMTP server (aiosmtpd) and an app that sends to it."""

from __future__ import annotations

import os

import pytest


@pytest.fixture
def smtp_server():
    """A real SMTP server on a free 127.0.0.1 port; skipped (failed under CI=true) without aiosmtpd."""
    try:
        from tests.notify.smtp_server import SmtpServer
    except ImportError as error:  # pragma: no cover - the test extra installs it
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true requires aiosmtpd (test extra): {error}", pytrace=False)
        pytest.skip(f"aiosmtpd is not installed (pip install -e '.[test]'): {error}")
    server = SmtpServer()
    yield server
    server.stop()


@pytest.fixture
def app_overrides(smtp_server):
    return {
        "KMS_SMTP_URL": smtp_server.url,
        "KMS_BASE_URL": "https://kms.example.com",
        "KMS_MAIL_FROM": "kms <kms@example.com>",
    }
