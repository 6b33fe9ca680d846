"""Migrations build the schema from empty and match the models; the import rules of DESIGN.md hold."""
import subprocess
import sys
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import upgrade
from sqlalchemy import inspect

from kms.extensions import db
from tests.conftest import _postgres_database, make_app

ROOT = Path(__file__).resolve().parents[1]


def test_migrations_from_empty_match_the_models(backend, tmp_path):
    drop = None
    if backend["name"] == "postgresql":
        url, drop = _postgres_database()
    else:
        url = f"sqlite:///{tmp_path / 'migrated.db'}"
    try:
        app = make_app({"name": backend["name"], "url": url}, tmp_path)
        with app.app_context():
            upgrade(directory=app.config["KMS_MIGRATIONS_DIR"])
            with db.engine.connect() as conn:
                diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}),
                                        db.metadata)
                tables = set(inspect(conn).get_table_names())
            db.engine.dispose()
        assert diff == [], f"models and migrations differ; run `kms db migrate`: {diff}"
        assert {table.name for table in db.metadata.sorted_tables} <= tables
    finally:
        if drop:
            drop()


def test_sqlite_connections_use_wal_busy_timeout_and_foreign_keys(app):
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        return
    with db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 5000
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_the_import_rules_of_the_architecture_hold():
    result = subprocess.run([str(Path(sys.executable).parent / "lint-imports")], cwd=ROOT,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]


