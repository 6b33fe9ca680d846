"""The app-wide `kms` commands (init, serve, import, export, demo); each is a few lines around a service.
Each feature defines its own commands in kms/<feature>/commands.py and adds them in its init_app."""

from __future__ import annotations

import contextvars
import errno
import fcntl
import os
import socket
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext
from flask_migrate import upgrade
from sqlalchemy import text

from kms import content
from kms.articles import services as handbook_services
from kms.auth import services as auth_services
from kms.commands import needs_database
from kms.errors import KmsError
from kms.extensions import InterruptedAfterCommit, db
from kms.progress import ProgressReporter, reporting
from kms.search import CHECK_ON_START
from kms.search import services as search_services
from kms.search.indexer import EXTENSION as SEARCH_INDEX

# Other features append (label, function) pairs here: run after migrations on `kms init` and `kms serve`.
STARTUP_TASKS: list = []


def load_starter_content() -> str | None:
    """Import the content folder into an empty handbook when KMS_LOAD_STARTER_CONTENT=1."""
    if current_app.config.get("KMS_LOAD_STARTER_CONTENT", "1").strip() != "1":
        return None
    if not handbook_services.handbook_is_empty():
        return None
    report = content.import_content(current_app.config["KMS_CONTENT_DIR"])
    return f"loaded the starter content ({report.summary()})"


STARTUP_TASKS.append(("Starter content", load_starter_content))


def ensure_search_index() -> str | None:
    """Rebuild a missing, unreadable or out-of-date search index (counts and stamps vs the database)."""
    return search_services.ensure_index(current_app.extensions[SEARCH_INDEX])


STARTUP_TASKS.append(("Search index", ensure_search_index))


def migrate_database() -> None:
    upgrade(directory=current_app.config["KMS_MIGRATIONS_DIR"])


# "kms_migr" as a number: the PostgreSQL advisory lock key servers starting together take turns on.
MIGRATION_LOCK_KEY = int.from_bytes(b"kms_migr", "big")
MIGRATION_LOCK_FILE = "kms-migrate.lock"


@contextmanager
def database_lock():
    """Held while one process migrates the database and loads the starter content; several servers started
    together take turns, and each after the first finds the work done. PostgreSQL: a session advisory lock
    (held by the connection, released if the process dies). SQLite: the database is a file on one machine,
    so an flock next to it does (the exclusive write transaction alone would not stop two processes from
    both reading the old schema version, then both migrating)."""
    if db.engine.dialect.name == "postgresql":
        with db.engine.connect() as connection:
            connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
            connection.commit()  # a session lock outlives the transaction; no snapshot is kept open
            try:
                yield
            finally:
                connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK_KEY})
                connection.commit()
        return
    path = Path(current_app.config["KMS_INSTANCE_DIR"]) / MIGRATION_LOCK_FILE
    with open(path, "a+") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def prepare(skip: tuple[str, ...] = ()) -> None:
    """Bring the database to the newest schema, then run each feature's start-up task (but those in skip).

    Migrations and the tasks that write shared rows run under database_lock(); the search index is each
    server's own (in its instance folder), so its check runs after the lock is released."""
    later = [(label, task) for label, task in STARTUP_TASKS if label == "Search index"]
    with database_lock():
        migrate_database()
        _run_tasks([item for item in STARTUP_TASKS if item not in later], skip)
    _run_tasks(later, skip)


def _run_tasks(tasks, skip: tuple[str, ...]) -> None:
    for label, task in tasks:
        if label in skip:
            continue
        message = task()
        if message:
            click.echo(f"{label}: {message}")


@click.command("init")
@with_appcontext
def init_command() -> None:
    """Create or upgrade the database and load starter content into an empty site."""
    prepare()
    click.echo(f"Database ready: {current_app.config['SQLALCHEMY_DATABASE_URI'].split('@')[-1]}")


def gunicorn_command(host: str, port: int, workers: int, threads: int = 4, keep_alive: int = 5) -> list[str]:
    """The gunicorn command line for `kms serve`: each worker builds its own app from the environment.

    Threaded workers (gthread): a worker answers `threads` requests at once and keeps connections alive
    between requests. Sync workers answer one request at a time and close every connection, waiting for the
    client to close its side first: a slow or stalled client held a whole worker, and each page cost a new
    connection (docs/benchmarks.md, "Sixth pass": the article page 390 -> 625-677 requests/s on 2 cores).
    With --reuse-port, serve_command checks first that nothing else listens on the port (cannot_listen)."""
    from gunicorn.config import KNOWN_SETTINGS

    # --pythonpath: the workers import the same kms as this command, wherever it was started from.
    source = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    argv = [
        sys.executable,
        "-m",
        "gunicorn",
        "--bind",
        f"{host}:{port}",
        "--workers",
        str(workers),
        "--worker-class",
        "gthread",
        "--threads",
        str(threads),
        "--keep-alive",
        str(keep_alive),
        "--access-logfile",
        "-",
        "--timeout",
        "60",
        "--pythonpath",
        source,
        # The search box takes 500 characters; in Chinese or Greek that is up to 4,500 characters of
        # %-escapes in the URL, past gunicorn's default 4,094-byte request line. 8,190 is gunicorn's maximum.
        "--limit-request-line",
        "8190",
        # Each worker listens on a socket of its own (SO_REUSEPORT) and the kernel spreads new connections
        # over them. On one shared socket, a burst of connections could all go to whichever worker woke
        # first and stay there while kept alive: half the server idle (docs/benchmarks.md, "Seventh pass").
        "--reuse-port",
    ]
    if any(setting.name == "control_socket_disable" for setting in KNOWN_SETTINGS):
        # gunicorn >= 24 opens one control socket per user by default; several kms servers on one machine
        # (tests, benchmarks) would fight over it, and kms never uses it.
        argv.append("--no-control-socket")
    return [*argv, "kms:create_app()"]


def cannot_listen(host: str, port: int) -> str | None:
    """Why kms cannot listen on (host, port), else None. gunicorn's workers listen with SO_REUSEPORT, which
    would let a second `kms serve` on the same port share it silently; a plain bind is refused instead."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    except OSError as error:
        return f"{error.strerror or error}. Check --host (an address of this machine or a name for one)."
    try:
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as gunicorn: TIME_WAIT is no owner
            probe.bind(address)
    except OSError as error:
        if error.errno == errno.EADDRINUSE:
            return f"{error.strerror}. Is another server using it? Choose another --port."
        return f"{error.strerror or error}. Check --host and --port."
    return None


def start_worker() -> subprocess.Popen:
    """`kms worker` as a child of the server (after the migrations, so it finds its tables). Ctrl+C reaches
    both (one process group); a server stopped alone (SIGTERM, crash) leaves the worker orphaned, and it
    notices and stops within a second."""
    source = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = {key: value for key, value in os.environ.items() if key != CHECK_ON_START}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [source, env.get("PYTHONPATH")]))
    return subprocess.Popen([sys.executable, "-m", "kms", "worker", "--stop-with-parent"], env=env)


def serve_debug(app, host: str, port: int) -> None:
    """Flask's reloading development server with the debugger. Not app.run(): inside a `kms` (Flask CLI)
    command that returns at once without serving."""
    from werkzeug.serving import run_simple

    app.debug = True
    run_simple(host, port, app, use_reloader=True, use_debugger=True, threaded=True)


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--workers", default=2, show_default=True, type=click.IntRange(1, 64), help="Server processes.")
@click.option(
    "--threads",
    default=4,
    show_default=True,
    type=click.IntRange(1, 64),
    help="Requests each worker answers at once.",
)
@click.option(
    "--keep-alive",
    default=5,
    show_default=True,
    type=click.IntRange(1, 3600),
    help="Seconds an idle connection stays open. Behind a load balancer, more than its idle timeout "
    "(e.g. 75 behind nginx, which keeps idle connections 60 s), so it never reuses one being closed.",
)
@click.option("--debug", is_flag=True, help="Flask's reloading development server instead of gunicorn.")
@click.option(
    "--with-worker", is_flag=True, help="Also run `kms worker` (scheduled jobs); it stops with the server."
)
@with_appcontext
def serve_command(
    host: str, port: int, workers: int, threads: int, keep_alive: int, debug: bool, with_worker: bool
) -> None:
    """Migrate, then serve kms with gunicorn (or the development server with --debug)."""
    if debug and current_app.config["KMS_ENV"] == "production":
        raise click.ClickException(
            "--debug is for development: it serves the interactive debugger. "
            "Unset KMS_ENV=production or drop --debug."
        )
    problem = None if debug else cannot_listen(host, port)  # (the development server says so itself)
    if problem:
        raise click.ClickException(f"Cannot listen on {host}:{port}: {problem}")
    # The server listens at once: a missing or out-of-date search index is rebuilt by a worker in the
    # background, while search answers "being rebuilt" (503) and everything else works.
    prepare(skip=("Search index",))
    if with_worker:
        start_worker()
    os.environ[CHECK_ON_START] = "1"
    app = current_app._get_current_object()
    first_run = auth_services.user_count() == 0
    url = f"http://{host}:{port}/"
    click.echo(f"\n  kms is running at {url}")
    click.echo(
        "  First visit: create the admin account on the setup page.\n"
        if first_run
        else "  Log in with your account.\n"
    )
    # The command runs inside an app context; the development server must not (requests would share its
    # `g` and database session), so it runs from an empty context.
    if debug:
        search_services.ensure_index_in_background(app.extensions[SEARCH_INDEX])
        contextvars.Context().run(serve_debug, app, host, port)
        return
    # gunicorn replaces this process. It must not fork workers from here: the app context this command
    # runs in would be inherited by every request a worker serves (one shared `g`, so one shared logged-in
    # user, and one database session with a stale snapshot), and SQLite connections must not cross fork().
    db.session.remove()
    db.engine.dispose()
    sys.stdout.flush()
    argv = gunicorn_command(host, port, workers, threads, keep_alive)
    os.execv(argv[0], argv)


@click.command("import")
@click.argument("directory", required=False, type=click.Path(file_okay=False, path_type=str))
@click.option(
    "--owners",
    type=click.Choice(["create", "clear", "require"]),
    default="create",
    show_default=True,
    help="An owner with no account here: create it deactivated (to invite), leave the owner empty, "
    "or refuse the import.",
)
@with_appcontext
@needs_database
def import_command(directory: str | None, owners: str) -> None:
    """Load a content folder (default: the configured content/) into the database; all or nothing."""
    try:
        with ProgressReporter("import") as progress, reporting(progress):
            report = content.import_content(
                directory or current_app.config["KMS_CONTENT_DIR"], owners=owners, progress=progress
            )
    except KmsError as error:
        raise click.ClickException(f"{error.message}\nNothing was imported.") from None
    except InterruptedAfterCommit:
        click.echo(
            "\nInterrupted after the import was saved, while updating the search index: the rest is "
            "indexed at the next start or by `kms search-check --fix`.",
            err=True,
        )
        sys.exit(130)
    except KeyboardInterrupt:
        click.echo("\nInterrupted: nothing was imported (the database is as it was before).", err=True)
        sys.exit(130)
    click.echo(f"Imported: {report.summary()}.")
    for warning in report.warnings:
        click.echo(f"Warning: {warning}.", err=True)


@click.command("export")
@click.argument("directory", type=click.Path(file_okay=False, path_type=str))
@with_appcontext
@needs_database
def export_command(directory: str) -> None:
    """Write the handbook (and other content) into DIRECTORY in the format `kms import` reads."""
    with ProgressReporter("export") as progress:
        counts = content.export_content(directory, progress=progress)
    click.echo(
        "Exported " + ", ".join(f"{name}: {n} files" for name, n in counts.items()) + f" to {directory}."
    )


@click.command("demo")
@with_appcontext
def demo_command() -> None:
    """Create a demo team and demo data, and print the logins; refused when users exist."""
    from kms import demo

    prepare()
    try:
        team = demo.create_demo()
    except KmsError as error:
        raise click.ClickException(error.message) from None
    click.echo("Demo logins (email, role, password, who):")
    for email, role, password in team.logins:
        click.echo(f"  {email:<28} {role:<8} {password}  {team.about.get(email, '')}")


def init_app(app) -> None:
    """Add the app-wide commands; each feature adds its own in its init_app (kms/<feature>/commands.py)."""
    for command in (init_command, serve_command, import_command, export_command, demo_command):
        app.cli.add_command(command)
