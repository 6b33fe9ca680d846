"""Migrations build the schema from empty and match the models; the import rules of DESIGN.md hold."""

import logging
import subprocess
import sys
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import upgrade
from sqlalchemy import inspect, select
from sqlalchemy import text as sql

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
                diff = compare_metadata(
                    MigrationContext.configure(conn, opts={"compare_type": True}), db.metadata
                )
                tables = set(inspect(conn).get_table_names())
            db.engine.dispose()
        assert diff == [], f"models and migrations differ; run `kms db migrate`: {diff}"
        assert {table.name for table in db.metadata.sorted_tables} <= tables
    finally:
        if drop:
            drop()


def test_the_name_key_migration_keeps_clashing_process_names_and_reports_each_rename(
    backend, tmp_path, caplog
):
    """Before name_key, SQLite let in names differing only in non-ASCII case or spacing; upgrading keeps every
    process, renames the later of each clashing pair and says so."""
    drop = None
    if backend["name"] == "postgresql":
        url, drop = _postgres_database()
    else:
        url = f"sqlite:///{tmp_path / 'old.db'}"
    names = ["Refund request", "Über uns", "über uns", "Billing", "refund  REQUEST", "Refund request (2)"]
    try:
        app = make_app({"name": backend["name"], "url": url}, tmp_path)
        with app.app_context():
            upgrade(directory=app.config["KMS_MIGRATIONS_DIR"], revision="1bd90f2f1fc1")
            with db.engine.begin() as conn:
                for name in names:
                    conn.execute(
                        sql(
                            "INSERT INTO processes (name, category, frequency, status, notes, created_at,"
                            " updated_at) VALUES (:name, 'Billing', 1, 'undocumented', '', :now, :now)"
                        ),
                        {"name": name, "now": "2026-01-01 00:00:00+00:00"},
                    )
            with caplog.at_level(logging.WARNING, logger="alembic"):
                upgrade(directory=app.config["KMS_MIGRATIONS_DIR"])
            with db.engine.connect() as conn:
                after = conn.execute(sql("SELECT name, name_key FROM processes ORDER BY id")).all()
            db.engine.dispose()
    finally:
        if drop:
            drop()
    assert [name for name, _ in after] == [
        "Refund request",
        "Über uns",
        "über uns (2)",
        "Billing",
        "refund  REQUEST (3)",
        "Refund request (2)",
    ]
    assert len({key for _, key in after}) == len(names)
    renames = [r.getMessage() for r in caplog.records if "renamed to" in r.getMessage()]
    assert len(renames) == 2 and "'über uns (2)'" in renames[0] and "'Über uns'" in renames[0], renames


def test_the_database_refuses_a_process_name_that_differs_only_in_case(app):
    from sqlalchemy.exc import IntegrityError

    from kms.articles.models import Process

    db.session.add(Process(name="Straße sperren", category="Billing"))
    db.session.commit()
    with pytest.raises(IntegrityError):
        db.session.add(Process(name="STRASSE  SPERREN", category="Billing"))
        db.session.commit()
    db.session.rollback()
    assert [p.name for p in db.session.scalars(select(Process))] == ["Straße sperren"]


def test_sqlite_connections_use_wal_busy_timeout_and_foreign_keys(app):
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        return
    with db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 5000
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_the_import_rules_of_the_architecture_hold():
    result = subprocess.run(
        [str(Path(sys.executable).parent / "lint-imports")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
