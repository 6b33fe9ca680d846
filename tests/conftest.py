"""Shared fixtures: an app on a fresh database (SQLite always, PostgreSQL when reachable), clients, factories."""

from __future__ import annotations

import contextvars
import os
import re
import secrets
import sqlite3
import uuid
from contextlib import contextmanager

import pytest
from argon2 import PasswordHasher
from flask.testing import FlaskClient
from sqlalchemy import event

from kms import create_app
from kms.auth import SYSTEM
from kms.auth import services as auth_services
from kms.auth.models import Role, User
from kms.extensions import db, unit_of_work

PASSWORD = "pw-for-tests-123"
PG_ADMIN_URL = os.environ.get("KMS_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def _postgres_database():
    """Create a throwaway database on the local server; return (url, drop) or raise with the reason."""
    import psycopg

    admin = PG_ADMIN_URL.replace("postgresql+psycopg://", "postgresql://")
    name = f"kms_test_{os.getpid()}_{secrets.token_hex(3)}"
    with psycopg.connect(admin, autocommit=True, connect_timeout=3) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')

    def drop():
        with psycopg.connect(admin, autocommit=True, connect_timeout=3) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    return f"{base}/{name}", drop


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def backend(request):
    """Which database the tests run on. PostgreSQL is required in CI and skipped (with the reason) elsewhere."""
    if request.param == "sqlite":
        yield {"name": "sqlite", "url": None}
        return
    try:
        url, drop = _postgres_database()
    except Exception as error:  # noqa: BLE001 - any failure means "not reachable here"
        reason = f"PostgreSQL not reachable at {PG_ADMIN_URL.split('@')[-1]}: {type(error).__name__}: {error}"
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true requires PostgreSQL. {reason}", pytrace=False)
        pytest.skip(reason)
    try:
        yield {"name": "postgresql", "url": url, "schema_ready": False}
    finally:
        drop()


@pytest.fixture(scope="session", autouse=True)
def fast_password_hashing():
    """Argon2 at production cost makes every created user ~40 ms; tests use a cheap instance of the same scheme."""
    production = auth_services.hasher
    auth_services.hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    yield production
    auth_services.hasher = production


class IsolatedClient(FlaskClient):
    """Each request runs in an empty context, so it gets its own app context, `g` and database session,
    as in production; the test's own app context and session are left alone."""

    def open(self, *args, **kwargs):
        self._end_test_transaction()
        try:
            return contextvars.Context().run(super().open, *args, **kwargs)
        finally:
            self._end_test_transaction()

    @staticmethod
    def _end_test_transaction() -> None:
        # The test is the caller of the services it runs itself, so it owns their transaction: what they
        # flushed is committed before the request. Otherwise the test's session may hold a read snapshot; end
        # it so the test and the request each see the other's committed writes (objects reload when used).
        from flask import has_app_context

        if has_app_context():
            session = db.session()
            if not (session.new or session.dirty or session.deleted):
                if session.info.get("kms_flushed_uncommitted"):
                    session.commit()
                else:
                    session.rollback()


def make_app(backend, tmp_path, **overrides):
    url = backend["url"] or f"sqlite:///{tmp_path / 'kms.db'}"
    settings = {
        "TESTING": True,
        "SECRET_KEY": "test-secret-key-that-is-long-enough-0123456789",
        "WTF_CSRF_ENABLED": False,
        "RATELIMIT_ENABLED": False,
        "KMS_INSTANCE_PATH": str(tmp_path),
        "KMS_DATABASE_URL": url,
        "SERVER_NAME": "kms.test",
        "KMS_LOAD_STARTER_CONTENT": "0",
    }
    settings.update(overrides)
    app = create_app(settings)
    app.test_client_class = IsolatedClient
    return app


def _empty_all_tables() -> None:
    db.session.rollback()
    with db.engine.begin() as conn:
        for table in reversed(db.metadata.sorted_tables):
            conn.execute(table.delete())


@pytest.fixture
def app_overrides():
    """Override in a test module (or with @pytest.mark.parametrize) to change settings."""
    return {}


@pytest.fixture
def app(backend, tmp_path, app_overrides):
    app = make_app(backend, tmp_path, **app_overrides)
    with app.app_context():
        if backend["name"] == "sqlite":
            db.create_all()
        elif not backend["schema_ready"]:
            db.create_all()
            backend["schema_ready"] = True
        yield app
        db.session.remove()
        if backend["name"] == "postgresql":
            _empty_all_tables()
        db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def make_user(app):
    """A factory: each call adds one active user with a password (PASSWORD) and returns it."""

    def make(role: Role | str = Role.MEMBER, **fields) -> User:
        fields.setdefault("email", f"u{uuid.uuid4().hex[:10]}@example.test")
        fields.setdefault("name", fields["email"].split("@")[0].title())
        password = fields.pop("password", PASSWORD)
        # The test is the caller, so it opens the unit of work, as a view would: on SQLite that begins with
        # the write lock (BEGIN IMMEDIATE), waiting for a search drain thread's write instead of failing with
        # "database is locked" when that write outdated a plain transaction's first read. What the test had
        # changed is committed first.
        db.session.commit()
        with unit_of_work():
            user, _ = auth_services.create_user(
                fields.pop("email"), fields.pop("name"), Role(role), actor=SYSTEM, password=password, **fields
            )
        db.session.expire_all()  # as a commit by the test would: what requests change later is read afresh
        return user

    return make


def login(client, user_or_email, password: str = PASSWORD, remember: bool = False, follow: bool = False):
    email = getattr(user_or_email, "email", user_or_email)
    data = {"email": email, "password": password}
    if remember:
        data["remember"] = "y"
    return client.post("/login", data=data, follow_redirects=follow)


@pytest.fixture
def login_as(client, make_user):
    """Log the test client in as a new user of the given role; returns the user."""

    def do(role: Role | str = Role.MEMBER, **fields) -> User:
        user = make_user(role, **fields)
        response = login(client, user)
        assert response.status_code == 302, response.data[:500]
        return user

    return do


@contextmanager
def _counting(engine):
    statements: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        if not re.match(r"\s*(BEGIN|COMMIT|ROLLBACK|SAVEPOINT|RELEASE|PRAGMA)", statement, re.I):
            statements.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", count)


@pytest.fixture
def count_queries(app):
    """`with count_queries() as statements:` collects the SQL statements run inside the block."""
    return lambda: _counting(db.engine)


def csrf_token_from(html: bytes | str) -> str:
    text = html.decode() if isinstance(html, bytes) else html
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', text) or re.search(
        r'value="([^"]+)"[^>]*name="csrf_token"', text
    )
    assert match, "no csrf_token in the page"
    return match.group(1)


# Test files whose checks race the clock or kill processes they started (a save found on another server within
# 2 s, a worker killed mid-job, 200 KB of hostile text rendered well under a second). `make test` runs the rest on two pytest-xdist workers first, then these in one
# process of their own, so a neighbour's CPU never decides them. Plain `pytest` runs everything in one process.
ALONE = (
    "tests/cluster/",
    "tests/load/",
    "tests/jobs/test_worker.py",
    "tests/notify/test_mail_crash.py",
    "tests/articles/test_import_scale.py",
    "tests/test_render_linear.py",
    "tests/test_regex_linear.py",
)


def pytest_collection_modifyitems(config, items):
    for item in items:
        if item.nodeid.startswith(ALONE):
            item.add_marker(pytest.mark.alone)


def pytest_report_header(config):
    return f"kms databases: SQLite always; PostgreSQL at {PG_ADMIN_URL.split('@')[-1]} (a throwaway database per run)"


def pytest_terminal_summary(terminalreporter):
    """Say in the log how many tests ran on each database, so a CI run shows PostgreSQL was really used."""
    counts: dict[str, dict[str, int]] = {}
    for outcome in ("passed", "failed", "skipped", "error"):
        for report in terminalreporter.stats.get(outcome, []):
            if getattr(report, "when", "call") != "call" and outcome != "skipped":
                continue
            match = re.search(r"\[(sqlite|postgresql)[-\]]", getattr(report, "nodeid", ""))
            backend = match.group(1) if match else None
            if backend:
                counts.setdefault(backend, {}).setdefault(outcome, 0)
                counts[backend][outcome] += 1
    for backend, outcomes in sorted(counts.items()):
        summary = ", ".join(f"{n} {outcome}" for outcome, n in sorted(outcomes.items()))
        terminalreporter.write_line(f"kms tests on {backend}: {summary}")


@pytest.fixture
def sqlite_writer(app, backend):
    """Another connection to the database, to hold SQLite's write lock as a long import does (BEGIN IMMEDIATE);
    the app's connections wait 0.2 s for it (15 s on a real site)."""
    if backend["name"] != "sqlite":
        pytest.skip("SQLite's single writer: PostgreSQL lets both transactions write")

    def short_wait(dbapi_connection, _record):
        dbapi_connection.execute("PRAGMA busy_timeout=200")

    event.listen(db.engine, "connect", short_wait)
    db.session.remove()
    db.engine.dispose()  # new connections get the short wait
    holder = sqlite3.connect(db.engine.url.database, isolation_level=None)
    yield holder
    holder.close()
    event.remove(db.engine, "connect", short_wait)
