"""Bounded load test: N simulated users against `kms serve` (gunicorn, 2 workers) on 127.0.0.1.

    python benchmarks/load.py                          # 50 users, 60 s, SQLite (WAL)
    python benchmarks/load.py --database postgresql    # a throwaway database on 127.0.0.1:5432
    python benchmarks/load.py --duration 10 --smoke    # CI: exits 1 on any error
    python benchmarks/load.py --article-only [--client wrk]  # the article page against the bare route

It starts the server itself on a fresh instance folder (starter content imported by `kms init`), creates the
users, logs each one in, and then every user loops over the SCENARIOS table (reads and writes, by weight)
until the time is up. Scenarios whose page does not exist yet are skipped (they are discovered by trying
them), so handbook, search and training traffic joins in as those features land. Then it measures the bare
route (/healthz) with the same number of users on the same server, as the ceiling.

Printed: requests/s, median and p95 per page, errors, "database is locked" lines in the server log, and the
after-run checks (every acknowledged save is in the database). Only 127.0.0.1 is ever contacted; every loop
is bounded by the duration and every request by a timeout.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # this checkout's kms, for creating users and the after-run checks
PASSWORD = "load test passphrase"
PG_ADMIN_URL = os.environ.get("KMS_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REQUEST_TIMEOUT = 30.0
MAX_USERS = 500


# ---------------------------------------------------------------------------------------------------------
# Measuring


@dataclass
class PageStats:
    latencies: list[float] = field(default_factory=list)  # seconds, successful and expected answers
    errors: int = 0
    expected: int = 0  # answers that are part of normal use under load, e.g. 409 edit conflicts


class Recorder:
    def __init__(self):
        self.pages: dict[str, PageStats] = {}
        self.error_samples: list[str] = []

    def page(self, label: str) -> PageStats:
        return self.pages.setdefault(label, PageStats())

    def error(self, label: str, detail: str) -> None:
        self.page(label).errors += 1
        if len(self.error_samples) < 20:
            self.error_samples.append(f"{label}: {detail}")

    @property
    def total_errors(self) -> int:
        return sum(stats.errors for stats in self.pages.values())


def percentile(values: list[float], fraction: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


# ---------------------------------------------------------------------------------------------------------
# Pages and forms


class FormReader(HTMLParser):
    """The forms of a page as (action, {field: value}), as a browser would submit them unchanged."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.forms: list[dict] = []
        self._textarea: str | None = None
        self._select: str | None = None

    def handle_starttag(self, tag, attrs):
        attrs = {name: value or "" for name, value in attrs}
        if tag == "form":
            self.forms.append(
                {
                    "action": attrs.get("action", ""),
                    "method": attrs.get("method", "get").lower(),
                    "fields": {},
                }
            )
        if not self.forms:
            return
        fields = self.forms[-1]["fields"]
        name = attrs.get("name")
        if tag == "input" and name:
            kind = attrs.get("type", "text").lower()
            if kind in {"checkbox", "radio"}:
                if "checked" in attrs:
                    fields[name] = attrs.get("value", "y")
            elif kind not in {"submit", "button", "file", "image", "reset"}:
                fields[name] = attrs.get("value", "")
        elif tag == "textarea" and name:
            self._textarea = name
            fields[name] = ""
        elif tag == "select" and name:
            self._select = name
        elif tag == "option" and self._select and (self._select not in fields or "selected" in attrs):
            fields[self._select] = attrs.get("value", "")

    def handle_endtag(self, tag):
        if tag == "textarea":
            self._textarea = None
        elif tag == "select":
            self._select = None

    def handle_data(self, data):
        if self._textarea and self.forms:
            self.forms[-1]["fields"][self._textarea] += data


def forms_of(html: str) -> list[dict]:
    reader = FormReader()
    reader.feed(html)
    return reader.forms


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html)
    if not match:
        raise RuntimeError("no csrf_token on the page")
    return match.group(1)


# ---------------------------------------------------------------------------------------------------------
# Simulated users


@dataclass
class SimUser:
    number: int
    email: str
    role: str
    client: httpx.AsyncClient
    recorder: Recorder
    api_token: str = ""
    anonymous: httpx.AsyncClient | None = None  # a second client without the session cookie
    csrf: str = ""
    saves: list[str] = field(default_factory=list)  # acknowledged profile names, in order
    edits: list[str] = field(default_factory=list)  # markers of acknowledged article edits
    lessons: set[int] = field(default_factory=set)  # lessons whose completion the server acknowledged

    async def call(
        self, label: str, method: str, path: str, *, ok=(200,), expected=(), client=None, **kwargs
    ) -> httpx.Response | None:
        """One timed request; anything but an `ok` or `expected` status (or a failure) counts as an error."""
        started = time.perf_counter()
        try:
            response = await (client or self.client).request(method, path, **kwargs)
        except httpx.HTTPError as error:
            self.recorder.error(label, f"{type(error).__name__}: {error}")
            return None
        elapsed = time.perf_counter() - started
        stats = self.recorder.page(label)
        if response.status_code in ok:
            stats.latencies.append(elapsed)
            return response
        if response.status_code in expected:
            stats.latencies.append(elapsed)
            stats.expected += 1
            return response
        self.recorder.error(label, f"{method} {path} -> {response.status_code}")
        return None

    async def log_in(self) -> bool:
        page = await self.call("GET /login", "GET", "/login")
        if page is None:
            return False
        done = await self.call(
            "POST /login",
            "POST",
            "/login",
            ok=(302,),
            data={"email": self.email, "password": PASSWORD, "csrf_token": csrf_of(page.text)},
        )
        if done is None:
            return False
        account = await self.call("GET /account", "GET", "/account")  # a new session has a new CSRF token
        if account is None:
            return False
        self.csrf = csrf_of(account.text)
        return True


@dataclass
class World:
    """What discovery found on the running server, shared by the scenarios."""

    articles: list[str] = field(default_factory=list)  # article page paths
    lessons: list[str] = field(default_factory=list)  # lesson page paths
    search_terms: tuple[str, ...] = (
        "refund",
        "escalation",
        "renewal",
        "password",
        "churn",
        "invoice",
        "refnd",
    )


# ---------------------------------------------------------------------------------------------------------
# The scenario table: add a row when a feature lands. `probe` is a path that must answer 200 to an admin for
# the scenario to run (None: always runs); `roles` limits who does it.


async def login_page(user: SimUser, world: World) -> None:
    await user.call("GET /login (anonymous)", "GET", "/login", client=user.anonymous)


async def account_page(user: SimUser, world: World) -> None:
    await user.call("GET /account", "GET", "/account")


async def api_me(user: SimUser, world: World) -> None:
    await user.call(
        "GET /api/me (token)",
        "GET",
        "/api/me",
        client=user.anonymous,
        headers={"Authorization": f"Bearer {user.api_token}"},
    )


async def users_list(user: SimUser, world: World) -> None:
    await user.call("GET /admin/users", "GET", "/admin/users")


async def save_profile(user: SimUser, world: World) -> None:
    name = f"Load User {user.number} save {len(user.saves) + 1}"
    done = await user.call(
        "POST /account (profile)",
        "POST",
        "/account",
        ok=(302,),
        data={"action": "profile", "profile-name": name, "profile-time_zone": "UTC", "csrf_token": user.csrf},
    )
    if done is not None:
        user.saves.append(name)


async def log_in_again(user: SimUser, world: World) -> None:
    page = await user.call("GET /login (anonymous)", "GET", "/login", client=user.anonymous)
    if page is not None:
        await user.call(
            "POST /login",
            "POST",
            "/login",
            ok=(302,),
            client=user.anonymous,
            data={"email": user.email, "password": PASSWORD, "csrf_token": csrf_of(page.text)},
        )
        user.anonymous.cookies.clear()


async def handbook_home(user: SimUser, world: World) -> None:
    await user.call("GET /handbook/", "GET", "/handbook/")


async def article_page(user: SimUser, world: World) -> None:
    if world.articles:
        await user.call("GET article page", "GET", random.choice(world.articles))


async def search(user: SimUser, world: World) -> None:
    await user.call("GET /search", "GET", "/search", params={"q": random.choice(world.search_terms)})


async def my_onboarding(user: SimUser, world: World) -> None:
    await user.call("GET /training/me", "GET", "/training/me")


async def edit_article(user: SimUser, world: World) -> None:
    """Open an article's edit form, append a line, save. A 409 (someone saved first) is normal use."""
    if not world.articles:
        return
    path = random.choice(world.articles) + "/edit"
    page = await user.call("GET article edit form", "GET", path)
    if page is None:
        return
    form = next((f for f in forms_of(page.text) if "body" in f["fields"]), None)
    if form is None:
        user.recorder.error("POST article edit", f"no form with a body field on {path}")
        return
    marker = f"load-edit-{user.number}-{len(user.edits) + 1}-{secrets.token_hex(3)}"
    body = form["fields"]["body"].rstrip() + f"\n\nChecked under load: {marker}\n"
    done = await user.call(
        "POST article edit",
        "POST",
        form["action"] or path,
        ok=(302, 303),
        expected=(409,),
        data=dict(form["fields"], body=body),
    )
    if done is not None and done.status_code != 409:
        user.edits.append(marker)


async def complete_lesson(user: SimUser, world: World) -> None:
    """Open a lesson of my onboarding and mark it done (ticking "I have read and understood" when asked)."""
    if not world.lessons:
        return
    path = random.choice(world.lessons)
    page = await user.call("GET lesson page", "GET", path)
    if page is None:
        return
    form = next((f for f in forms_of(page.text) if f["action"].endswith("/complete")), None)
    if form is None:
        user.recorder.error("POST lesson complete", f"no completion form on {path}")
        return
    fields = dict(form["fields"])
    if 'name="acknowledge"' in page.text:
        fields["acknowledge"] = "y"
    # A 409 (an article of the lesson changed while it was open: read it again) is normal under edits.
    done = await user.call(
        "POST lesson complete", "POST", form["action"], ok=(302, 303), expected=(409,), data=fields
    )
    if done is not None and done.status_code == 409:
        return
    if done is not None:
        user.lessons.add(int(path.rsplit("/", 1)[1]))


@dataclass
class Scenario:
    run: Callable[[SimUser, World], Awaitable[None]]
    weight: int
    kind: str  # "read" or "write"
    probe: str | None = None
    roles: frozenset = frozenset({"admin", "manager", "author", "member"})


SCENARIOS: list[Scenario] = [
    Scenario(login_page, 4, "read"),
    Scenario(account_page, 6, "read"),
    Scenario(api_me, 6, "read"),
    Scenario(users_list, 2, "read", roles=frozenset({"admin"})),
    Scenario(handbook_home, 10, "read", probe="/handbook/"),
    Scenario(article_page, 20, "read", probe="/handbook/"),
    Scenario(search, 10, "read", probe="/search?q=refund"),
    Scenario(my_onboarding, 8, "read", probe="/training/me"),
    Scenario(save_profile, 3, "write"),
    Scenario(log_in_again, 1, "write"),
    Scenario(edit_article, 3, "write", probe="/handbook/", roles=frozenset({"admin", "author"})),
    Scenario(complete_lesson, 3, "write", probe="/training/me", roles=frozenset({"member"})),
]


async def discover(server_url: str, admin: SimUser, member: SimUser) -> tuple[list[Scenario], World]:
    """Keep the scenarios whose page exists, and collect article and lesson paths to visit."""
    world = World()
    available = []
    for scenario in SCENARIOS:
        if scenario.probe is None:
            available.append(scenario)
            continue
        response = await admin.client.get(scenario.probe)
        if response.status_code == 200:
            available.append(scenario)
    handbook = await admin.client.get("/handbook/articles")
    if handbook.status_code == 200:
        world.articles = sorted(set(re.findall(r'href="(/handbook/articles/[a-z0-9-]+)"', handbook.text)))
    onboarding = await member.client.get("/training/me")
    if onboarding.status_code == 200:
        lessons = set(re.findall(r'href="(/training/lessons/\d+)"', onboarding.text))
        for module in sorted(set(re.findall(r'href="(/training/modules/\d+)"', onboarding.text))):
            page = await member.client.get(module)
            lessons.update(re.findall(r'href="(/training/lessons/\d+)"', page.text))
        world.lessons = sorted(lessons)
    return available, world


# ---------------------------------------------------------------------------------------------------------
# Server and database


T0 = time.monotonic()


def progress(message: str) -> None:
    print(f"[{time.monotonic() - T0:6.1f}s] {message}", file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Postgres:
    """A throwaway database on the local server (trust auth), dropped at the end."""

    def __init__(self):
        import psycopg

        self.psycopg = psycopg
        self.name = f"kms_load_{os.getpid()}_{secrets.token_hex(3)}"
        with psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'CREATE DATABASE "{self.name}"')
        server = PG_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
        self.url = f"{server}/{self.name}"

    def drop(self) -> None:
        with self.psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


class Server:
    def __init__(self, instance: Path, database_url: str, workers: int):
        self.instance, self.workers = instance, workers
        self.env = {name: value for name, value in os.environ.items() if not name.startswith("KMS_")}
        self.env.update(
            {
                "KMS_INSTANCE_PATH": str(instance),
                "KMS_ENV": "production",
                "KMS_SECRET_KEY": secrets.token_hex(32),
                "KMS_DATABASE_URL": database_url,
                # Every simulated user comes from 127.0.0.1: the per-address login limit would stop the test.
                "KMS_LOGIN_RATE": "1000000 per minute",
                "PYTHONUNBUFFERED": "1",
            }
        )
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = instance / "server.log"
        self.process: subprocess.Popen | None = None

    def kms_settings(self) -> dict:
        return {name: value for name, value in self.env.items() if name.startswith("KMS_")}

    def init(self) -> None:
        done = subprocess.run(
            [sys.executable, "-m", "kms", "init"],
            check=False,
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        if done.returncode:
            raise SystemExit(f"kms init failed:\n{done.stdout}\n{done.stderr}")

    def start(self) -> None:
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "kms",
                    "serve",
                    "--port",
                    str(self.port),
                    "--workers",
                    str(self.workers),
                ],
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=2) as response:
                    if response.status == 200:
                        return
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise SystemExit(f"kms serve did not start; log:\n{self.log_path.read_text()[-3000:]}")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=5)

    def log_problems(self) -> dict[str, int]:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return {
            "database is locked": text.count("database is locked"),
            "tracebacks": text.count("Traceback"),
            "5xx answers": len(re.findall(r'" 5\d\d ', text)),
            "worker timeouts": text.count("WORKER TIMEOUT"),
        }


def create_users(server: Server, count: int) -> list[tuple[str, str, str]]:
    """(email, role, api token) for `count` users: one admin, then members, authors and managers. Members are
    new hires who started today with the starter "first 30 days" path assigned (when the training feature
    and the starter content are there), so "my onboarding" has lessons to complete."""
    from datetime import date

    from kms import create_app
    from kms.auth import SYSTEM, services
    from kms.extensions import unit_of_work

    app = create_app(server.kms_settings())
    people = []
    with app.app_context():
        admin = None
        for number in range(count):
            # One admin and at least one member whatever the count; then a fifth authors, a tenth managers.
            role = (
                "admin"
                if number == 0
                else "member"
                if number == 1
                else "author"
                if number % 5 == 2
                else "manager"
                if number % 10 == 3
                else "member"
            )
            email = f"load{number}@example.test"
            with unit_of_work():  # this script is the caller: one person, their token and path at a time
                user, _ = services.create_user(
                    email,
                    f"Load User {number}",
                    role,
                    actor=SYSTEM,
                    password=PASSWORD,
                    start_date=date.today() if role == "member" else None,
                )
                admin = admin or user
                _, token = services.create_token(user, "load test")
                if role == "member":
                    assign_starter_path(user, admin)
            people.append((email, role, token))
        from kms.extensions import db

        db.session.remove()
        db.engine.dispose()
    return people


def assign_starter_path(user, admin) -> None:
    try:
        from sqlalchemy import select

        from kms.extensions import db
        from kms.training import services as training
        from kms.training.models import Path as TrainingPath
    except ImportError:
        return
    path = db.session.scalar(select(TrainingPath).order_by(TrainingPath.id).limit(1))
    if path is not None:
        training.assign_path(user.id, path.id, actor=admin)


# ---------------------------------------------------------------------------------------------------------
# After-run checks: each returns (name, passed, detail). Add one when a feature's writes join the mix
# (e.g. "search index document count equals database count" once kms.search offers a count).


def check_profile_saves(server: Server, users: list[SimUser]) -> tuple[str, bool, str]:
    from kms import create_app
    from kms.auth import services

    app = create_app(server.kms_settings())
    with app.app_context():
        lost = [
            user.email
            for user in users
            if user.saves and services.find_user_by_email(user.email).name != user.saves[-1]
        ]
    acknowledged = sum(len(user.saves) for user in users)
    return (
        "every acknowledged profile save is the stored name",
        not lost,
        f"{acknowledged} saves, {len(lost)} users whose last save is missing",
    )


def check_article_edits(server: Server, users: list[SimUser]) -> tuple[str, bool, str] | None:
    markers = [marker for user in users for marker in user.edits]
    if not markers:
        return None
    from sqlalchemy import select

    from kms import create_app
    from kms.extensions import db

    try:
        from kms.articles.models import Revision
    except ImportError:
        return None
    app = create_app(server.kms_settings())
    with app.app_context():
        bodies = "\n".join(db.session.scalars(select(Revision.body)))
    missing = [marker for marker in markers if marker not in bodies]
    return (
        "every acknowledged article edit is in the revision history",
        not missing,
        f"{len(markers)} edits, {len(missing)} missing",
    )


def check_lesson_completions(server: Server, users: list[SimUser]) -> tuple[str, bool, str] | None:
    done = {(user.email, lesson) for user in users for lesson in user.lessons}
    if not done:
        return None
    from sqlalchemy import select

    from kms import create_app
    from kms.auth.models import User
    from kms.extensions import db
    from kms.training.models import LessonCompletion

    app = create_app(server.kms_settings())
    with app.app_context():
        stored = set(
            db.session.execute(
                select(User.email, LessonCompletion.lesson_id).join(User, User.id == LessonCompletion.user_id)
            ).all()
        )
    missing = done - stored
    return (
        "every acknowledged lesson completion is stored",
        not missing,
        f"{len(done)} learner-lesson completions, {len(missing)} missing",
    )


def check_search_index(server: Server, users: list[SimUser]) -> tuple[str, bool, str] | None:
    """Once the load stops, the search index holds exactly what the database holds (same ids, same versions).
    Rows still in the outbox (a drain that found the index busy) are drained first: they are queued, not lost."""
    from kms import create_app

    try:
        from kms.search import services as search_services
        from kms.search.indexer import EXTENSION
    except ImportError:
        return None
    app = create_app(server.kms_settings())
    with app.app_context():
        index = app.extensions[EXTENSION]
        queued = index.outbox_size()
        if queued:
            index.drain_quietly(wait=10)
        drift = search_services.check_index(index)
    return (
        "the search index equals the database",
        drift.clean,
        f"index {drift.index_count} documents, database {drift.database_count}; "
        f"{len(drift.missing)} missing, {len(drift.extra)} extra, {len(drift.stale)} stale "
        f"({queued} changes were still queued)",
    )


CHECKS = [check_profile_saves, check_article_edits, check_lesson_completions, check_search_index]


# ---------------------------------------------------------------------------------------------------------
# Running


def new_client(base_url: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=base_url,
        timeout=REQUEST_TIMEOUT,
        limits=httpx.Limits(max_connections=4, max_keepalive_connections=2),
    )


async def user_loop(user: SimUser, scenarios: list[Scenario], world: World, deadline: float, think: float):
    mine = [s for s in scenarios if user.role in s.roles]
    weights = [s.weight for s in mine]
    while time.monotonic() < deadline:
        scenario = random.choices(mine, weights)[0]
        await scenario.run(user, world)
        if think:
            await asyncio.sleep(random.uniform(0, 2 * think))


async def hammer(clients: list[httpx.AsyncClient], path: str, seconds: float) -> tuple[int, int, float]:
    """(answers, errors, seconds) for each client requesting one path in a loop, all at once."""
    deadline = time.monotonic() + seconds
    counts = [0, 0]

    async def one(client: httpx.AsyncClient):
        while time.monotonic() < deadline:
            try:
                response = await client.get(path)
                counts[0 if response.status_code == 200 else 1] += 1
            except httpx.HTTPError:
                counts[1] += 1

    started = time.monotonic()
    await asyncio.gather(*(one(client) for client in clients))
    return counts[0], counts[1], time.monotonic() - started


def hammer_wrk(
    url: str, connections: int, seconds: float, cookie: str = "", user_agent: str = ""
) -> tuple[int, int, float]:
    """hammer() with wrk (C, one thread) instead of this process's Python client: on 2 cores the Python
    client spends most of a core itself, more per kilobyte answered, and so measures itself as well.

    With a cookie, send the User-Agent of the browser that logged in: the login is bound to it (Flask-Login's
    session protection), and a session seen from another browser is marked "not fresh" and its cookie signed
    and sent again on every response that the client (which never stores it) provokes again."""
    argv = ["wrk", "-t1", f"-c{connections}", f"-d{seconds:g}s", "--latency", url]
    if cookie:
        argv[1:1] = ["-H", f"Cookie: {cookie}", "-H", f"User-Agent: {user_agent}"]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 60, check=True).stdout
    answered = int(re.search(r"(\d+) requests in", out).group(1))
    took = re.search(r"requests in ([\d.]+)(m?s)", out)
    failed = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    failed_count = (int(failed.group(1)) if failed else 0) + (sum(map(int, errors.groups())) if errors else 0)
    elapsed = float(took.group(1)) / (1000 if took.group(2) == "ms" else 1)
    return answered - (int(failed.group(1)) if failed else 0), failed_count, elapsed


def worker_cpu(server: Server) -> dict[int, float]:
    """CPU seconds used so far by each gunicorn worker of the server (Linux /proc; empty elsewhere)."""
    tick, found = os.sysconf("SC_CLK_TCK"), {}
    if server.process is None or not os.path.isdir("/proc"):
        return found
    for entry in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{entry}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == server.process.pid:
            found[int(entry)] = (int(fields[11]) + int(fields[12])) / tick
    return found


async def run_load(server: Server, people, args) -> dict:
    recorder = Recorder()
    users = [
        SimUser(
            number,
            email,
            role,
            new_client(server.url),
            recorder,
            api_token=token,
            anonymous=new_client(server.url),
        )
        for number, (email, role, token) in enumerate(people)
    ]
    try:
        logged = await asyncio.gather(*(user.log_in() for user in users))
        if not all(logged):
            raise SystemExit(f"{logged.count(False)} users could not log in: {recorder.error_samples[:5]}")
        progress(f"{len(users)} users logged in; discovering pages")
        member = next(user for user in users if user.role == "member")
        scenarios, world = await discover(server.url, users[0], member)
        progress(f"mixed load for {args.duration:g} s")
        recorder.pages.clear()  # the mixed run's figures start now
        cpu_started = time.process_time()
        started = time.monotonic()
        deadline = started + args.duration
        await asyncio.gather(*(user_loop(user, scenarios, world, deadline, args.think) for user in users))
        elapsed = time.monotonic() - started
        client_cpu = time.process_time() - cpu_started
        # The ceiling: the bare route, same server, same number of clients. Then the article page alone.
        seconds = args.ceiling_seconds or min(10.0, args.duration)
        progress(f"ceiling: /healthz for {seconds:g} s")
        bare = await hammer([user.anonymous for user in users], "/healthz", seconds)
        page = None
        if world.articles:
            clients = [user.client for user in users]
            page = (world.articles[0], await hammer(clients, world.articles[0], seconds))
    finally:
        for user in users:
            await user.client.aclose()
            await user.anonymous.aclose()
    progress("after-run checks")
    checks = [result for check in CHECKS if (result := check(server, users))]
    return {
        "recorder": recorder,
        "elapsed": elapsed,
        "client_cpu": client_cpu,
        "scenarios": scenarios,
        "world": world,
        "bare": bare,
        "page": page,
        "checks": checks,
        "users": users,
    }


async def run_article_only(server: Server, people, args) -> dict:
    """The article page against the bare route only, in alternating rounds (bare, article, bare, ...), so that
    a change in what else the machine runs hits both alike; the ratio is of the summed rates."""
    recorder = Recorder()
    users = [
        SimUser(
            number,
            email,
            role,
            new_client(server.url),
            recorder,
            api_token=token,
            anonymous=new_client(server.url),
        )
        for number, (email, role, token) in enumerate(people)
    ]
    try:
        if not all(await asyncio.gather(*(user.log_in() for user in users))):
            raise SystemExit(f"users could not log in: {recorder.error_samples[:5]}")
        member = next(user for user in users if user.role == "member")
        _, world = await discover(server.url, users[0], member)
        if not world.articles:
            raise SystemExit("no article page to measure")
        path = world.articles[0]
        seconds = args.ceiling_seconds or 4.0
        # With wrk, every connection carries the member's session cookie (one logged-in reader).
        cookie = "; ".join(f"{c.name}={c.value}" for c in member.client.cookies.jar)
        agent = member.client.headers["User-Agent"]
        totals = {"bare": [0, 0, 0.0], "bare, logged in": [0, 0, 0.0], "article": [0, 0, 0.0]}
        splits: dict[str, list[list[float]]] = {name: [] for name in totals}
        for number in range(args.rounds):
            progress(f"round {number + 1}/{args.rounds}: /healthz, then {path}, {seconds:g} s each")
            for name, clients, target, sent in (
                ("bare", [u.anonymous for u in users], "/healthz", ""),
                ("bare, logged in", [u.client for u in users], "/healthz", cookie),
                ("article", [u.client for u in users], path, cookie),
            ):
                before = worker_cpu(server)
                if args.client == "wrk":
                    answered, failed, took = hammer_wrk(server.url + target, len(users), seconds, sent, agent)
                else:
                    answered, failed, took = await hammer(clients, target, seconds)
                after = worker_cpu(server)
                splits[name].append(sorted(after[pid] - before.get(pid, 0.0) for pid in after))
                totals[name] = [totals[name][0] + answered, totals[name][1] + failed, totals[name][2] + took]
    finally:
        for user in users:
            await user.client.aclose()
            await user.anonymous.aclose()
    return {"path": path, "totals": totals, "splits": splits}


def report_article_only(result: dict, args, database: str) -> dict:
    bare, article = result["totals"]["bare"], result["totals"]["article"]
    ceiling, rate = bare[0] / bare[2], article[0] / article[2]
    print(
        f"\nkms article page vs bare route: {args.users} users, {args.rounds} alternating rounds of "
        f"{args.ceiling_seconds or 4.0:g} s, {database}, gunicorn {args.workers} workers, client {args.client}"
    )
    print(f"ceiling, GET /healthz: {ceiling:.1f} req/s, {bare[1]} errors")
    logged = result["totals"]["bare, logged in"]
    print(
        f"GET /healthz by the logged-in clients (their session cookie sent): {logged[0] / logged[2]:.1f} req/s"
    )
    print(
        f"article page ({result['path']}): {rate:.1f} req/s = {100 * rate / ceiling:.0f}% of the ceiling "
        f"(target >= 75%), {article[1]} errors"
    )
    # Each round's CPU per worker, least busy first: a worker near 0 means the connections all went to another.
    for name, rounds in result["splits"].items():
        shown = "  ".join("/".join(f"{seconds:.1f}" for seconds in split) for split in rounds)
        print(f"workers' CPU s per round, {name}: {shown}")
    return {
        "database": database,
        "users": args.users,
        "rounds": args.rounds,
        "ceiling_rps": ceiling,
        "article_rps": rate,
        "article_share": rate / ceiling,
        "errors": bare[1] + article[1],
        "logged_in_bare_rps": logged[0] / logged[2],
        "client": args.client,
        "worker_cpu_split": result["splits"],
    }


def report(result: dict, server: Server, args, database: str) -> dict:
    recorder, elapsed = result["recorder"], result["elapsed"]
    print(
        f"\nkms load: {args.users} users for {args.duration:g} s on {database}, "
        f"gunicorn {args.workers} workers, {server.url}"
    )
    print("scenarios: " + ", ".join(f"{s.run.__name__} ({s.kind})" for s in result["scenarios"]))
    print(
        f"\n{'page':32} {'requests':>9} {'req/s':>8} {'median ms':>10} {'p95 ms':>8} {'errors':>7} "
        f"{'409s':>5}"
    )
    rows = {}
    for label in sorted(recorder.pages):
        stats = recorder.pages[label]
        count = len(stats.latencies) + stats.errors
        row = {
            "requests": count,
            "rps": count / elapsed,
            "median_ms": 1000 * statistics.median(stats.latencies) if stats.latencies else float("nan"),
            "p95_ms": 1000 * percentile(stats.latencies, 0.95),
            "errors": stats.errors,
            "expected": stats.expected,
        }
        rows[label] = row
        print(
            f"{label:32} {count:9d} {row['rps']:8.1f} {row['median_ms']:10.1f} {row['p95_ms']:8.1f} "
            f"{stats.errors:7d} {stats.expected:5d}"
        )
    total = sum(row["requests"] for row in rows.values())
    every = [lat for stats in recorder.pages.values() for lat in stats.latencies]
    median = 1000 * statistics.median(every) if every else 0
    p95 = 1000 * percentile(every, 0.95) if every else 0
    errors = recorder.total_errors
    print(f"{'all':32} {total:9d} {total / elapsed:8.1f} {median:10.1f} {p95:8.1f} {errors:7d}")
    share = result["client_cpu"] / elapsed
    print(
        f"load client CPU during the mixed run: {100 * share:.0f}% of one core "
        "(it shares the machine's cores with the server)"
    )
    answered, failed, seconds = result["bare"]
    ceiling = answered / seconds
    print(
        f"\nceiling, GET /healthz alone ({args.users} users, {seconds:.0f} s): {ceiling:.1f} req/s, "
        f"{failed} errors"
    )
    summary = {
        "database": database,
        "users": args.users,
        "duration": args.duration,
        "workers": args.workers,
        "pages": rows,
        "total_rps": total / elapsed,
        "errors": recorder.total_errors,
        "ceiling_rps": ceiling,
        "ceiling_errors": failed,
        "client_cpu_share": share,
        "cores": os.cpu_count(),
    }
    if result["page"]:
        path, (ok, bad, secs) = result["page"]
        rate = ok / secs
        print(
            f"article page alone ({path}): {rate:.1f} req/s = {100 * rate / ceiling:.0f}% of the ceiling "
            f"(target >= 50%), {bad} errors"
        )
        summary.update(article_rps=rate, article_share=rate / ceiling, article_errors=bad)
        summary["errors"] += bad
    summary["errors"] += failed
    problems = server.log_problems()
    summary["server_log"] = problems
    print("server log: " + ", ".join(f"{name}: {count}" for name, count in problems.items()))
    summary["checks"] = []
    for name, passed, detail in result["checks"]:
        print(f"check: {name}: {'ok' if passed else 'FAILED'} ({detail})")
        summary["checks"].append({"name": name, "passed": passed, "detail": detail})
    if recorder.error_samples:
        print("first errors:\n  " + "\n  ".join(recorder.error_samples))
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=50, help="simulated users (default 50)")
    parser.add_argument("--duration", type=float, default=60, help="seconds of mixed load (default 60)")
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (default 2)")
    parser.add_argument("--think", type=float, default=0.0, help="mean pause between a user's requests, s")
    parser.add_argument("--ceiling-seconds", type=float, default=0, help="seconds for the bare-route ceiling")
    parser.add_argument("--smoke", action="store_true", help="exit 1 on any error, lock or failed check")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument(
        "--article-only",
        action="store_true",
        help="no mixed load: the article page against the bare route, in alternating rounds",
    )
    parser.add_argument("--rounds", type=int, default=5, help="rounds of --article-only (default 5)")
    parser.add_argument(
        "--client",
        choices=["python", "wrk"],
        default="python",
        help="--article-only's load generator: this process (httpx) or Debian's wrk, which costs the machine "
        "far less per request (default python)",
    )
    args = parser.parse_args(argv)
    if not 1 <= args.users <= MAX_USERS or not 1 <= args.duration <= 3600:
        parser.error(f"--users must be 1..{MAX_USERS} and --duration 1..3600")
    args.users = max(args.users, 2)  # at least the admin and one member
    if args.client == "wrk" and not shutil.which("wrk"):
        parser.error("--client wrk needs wrk on the PATH (Debian: apt-get install wrk)")

    instance = Path(tempfile.mkdtemp(prefix="kms-load-"))
    postgres = Postgres() if args.database == "postgresql" else None
    database = "PostgreSQL" if postgres else "SQLite (WAL)"
    server = Server(instance, postgres.url if postgres else "", args.workers)
    try:
        progress(f"kms init on {instance} ({database})")
        server.init()
        progress(f"creating {args.users} users")
        people = create_users(server, args.users)
        progress("starting gunicorn")
        server.start()
        progress("server answers; logging the users in")
        runner = run_article_only if args.article_only else run_load
        result = asyncio.run(runner(server, people, args))
    finally:
        progress("stopping the server")
        server.stop()
        if postgres:
            postgres.drop()
        progress("done")
    if args.article_only:
        summary = report_article_only(result, args, database)
        if args.json:
            args.json.write_text(json.dumps(summary, indent=2))
        return 1 if args.smoke and summary["errors"] else 0
    summary = report(result, server, args, database)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(summary, indent=2))
    failed = (
        summary["errors"]
        or any(summary["server_log"].values())
        or not all(check["passed"] for check in summary["checks"])
    )
    if args.smoke and failed:
        print("\nSMOKE FAILED: errors, server-log problems or failed checks above.")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
