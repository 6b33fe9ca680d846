"""The server-process tests run on SQLite and on PostgreSQL; PostgreSQL is required in CI, skipped elsewhere."""

from __future__ import annotations

import os

import pytest


def postgres_reachable() -> str | None:
    """None when the local PostgreSQL answers, else the reason it does not."""
    try:
        import psycopg

        url = os.environ.get("KMS_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
        psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), connect_timeout=3).close()
    except Exception as error:  # noqa: BLE001 - any failure means "not here"
        return f"PostgreSQL not reachable: {type(error).__name__}: {error}"
    return None


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request) -> str:
    if request.param == "postgresql" and (reason := postgres_reachable()):
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true requires PostgreSQL. {reason}", pytrace=False)
        pytest.skip(reason)
    return request.param
