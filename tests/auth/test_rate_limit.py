"""Per-address login rate limit (Flask-Limiter), in memory and in Redis so several workers share it."""

import os

import pytest

from kms.auth.models import Role
from tests.conftest import login


def _redis_url() -> str:
    import redis

    url = "redis://127.0.0.1:6379/15"
    try:
        redis.Redis.from_url(url, socket_connect_timeout=1).flushdb()
    except Exception as error:  # noqa: BLE001 - any failure means "not reachable here"
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true requires Redis at 127.0.0.1:6379: {error}", pytrace=False)
        pytest.skip(f"Redis not reachable at 127.0.0.1:6379: {error}")
    return url


@pytest.fixture(params=["memory", "redis"])
def app_overrides(request):
    storage = "memory://" if request.param == "memory" else _redis_url()
    return {"RATELIMIT_ENABLED": True, "KMS_LOGIN_RATE": "5 per minute", "KMS_RATELIMIT_STORAGE_URL": storage}


def test_one_address_is_rate_limited_across_many_emails(client, make_user):
    make_user(Role.MEMBER)
    statuses = [login(client, f"someone{n}@example.com", "pw-guess-xyz").status_code for n in range(6)]
    assert statuses == [401] * 5 + [429]
