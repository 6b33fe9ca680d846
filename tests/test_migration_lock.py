"""Several servers started together migrate the database once (issue 17 item 3): `kms init` and `kms serve`
take a database lock around the migrations and the starter content, so the second finds the work done."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, text

from kms.config import _resource_dir
from kms.extensions import db
from tests.conftest import _postgres_database


@pytest.fixture
def fresh_postgres():
    try:
        url, drop = _postgres_database()
    except Exception as error:  # noqa: BLE001 - any failure means "not reachable here"
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true requires PostgreSQL: {error}", pytrace=False)
        pytest.skip(f"PostgreSQL not reachable: {type(error).__name__}: {error}")
    yield url
    drop()


@pytest.mark.slow
def test_two_kms_init_at_once_on_a_fresh_postgresql_both_succeed_and_migrate_once(fresh_postgres, tmp_path):
    processes = []
    for name in ("a", "b"):
        env = {
            **os.environ,
            "KMS_DATABASE_URL": fresh_postgres,
            "KMS_INSTANCE_PATH": str(tmp_path / name),
            "KMS_LOAD_STARTER_CONTENT": "0",  # (the starter import runs under the same lock; it takes ~15 s here)
        }
        processes.append(
            subprocess.Popen(
                [sys.executable, "-m", "kms", "init"],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
        )
    outputs = [process.communicate(timeout=240)[0] for process in processes]
    for process, output in zip(processes, outputs, strict=True):
        assert process.returncode == 0, output

    head = ScriptDirectory.from_config(_alembic_config()).get_current_head()
    engine = create_engine(fresh_postgres)
    try:
        with engine.connect() as connection:
            assert connection.execute(text("SELECT version_num FROM alembic_version")).scalars().all() == [
                head
            ]
            assert set(db.metadata.tables) <= set(inspect(connection).get_table_names())
    finally:
        engine.dispose()


def _alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(_resource_dir("migrations")))
    return config
