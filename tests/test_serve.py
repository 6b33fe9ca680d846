"""`kms serve` under gunicorn: each request gets its own context, so sessions and CSRF work per user."""

import http.cookiejar
import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Browser:
    def __init__(self, base: str):
        self.base = base
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
        )

    def get(self, path: str) -> tuple[int, str]:
        try:
            with self.opener.open(self.base + path, timeout=20) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()

    def post(self, path: str, form: dict, token_from: str | None = None) -> tuple[int, str]:
        if token_from is not None:
            form = {
                **form,
                "csrf_token": re.search(
                    r'name="csrf_token"[^>]*value="([^"]+)"', self.get(token_from)[1]
                ).group(1),
            }
        try:
            with self.opener.open(self.base + path, urllib.parse.urlencode(form).encode(), timeout=20) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()


@pytest.fixture
def server(tmp_path):
    port = _free_port()
    env = {**os.environ, "KMS_INSTANCE_PATH": str(tmp_path), "KMS_LOAD_STARTER_CONTENT": "0"}
    env.pop("KMS_DATABASE_URL", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "kms", "serve", "--port", str(port), "--workers", "2"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(base + "/healthz", timeout=2)
            break
        except OSError:
            if process.poll() is not None:
                pytest.fail(f"kms serve exited: {process.stderr.read()[-2000:]}")
            time.sleep(0.3)
    yield base
    process.terminate()
    process.wait(timeout=30)


@pytest.mark.slow
def test_gunicorn_keeps_each_visitors_session_and_csrf_token_apart(server):
    admin, other = Browser(server), Browser(server)
    status, _ = admin.post(
        "/setup",
        {
            "name": "Ann Admin",
            "email": "ann@example.com",
            "time_zone": "UTC",
            "password": "a long password",
            "confirm": "a long password",
        },
        token_from="/setup",
    )
    assert status == 200
    for n in range(4):  # several requests, spread over both workers
        status, page = admin.post(
            "/admin/users",
            {"name": f"Person {n}", "email": f"p{n}@example.com", "role": "member", "time_zone": "UTC"},
            token_from="/admin/users",
        )
        assert status == 200 and "/invite/" in page
    status, page = other.get("/account")
    assert "Ann Admin" not in page and "Log in to kms" in page
    status, page = other.post(
        "/login", {"email": "ann@example.com", "password": "wrong password"}, token_from="/login"
    )
    assert status == 401 and "Email or password is not correct." in page


@pytest.mark.slow
def test_a_full_search_box_in_chinese_reaches_kms_through_gunicorn(server):
    admin = Browser(server)
    admin.post(
        "/setup",
        {
            "name": "Ann Admin",
            "email": "ann@example.com",
            "time_zone": "UTC",
            "password": "a long password",
            "confirm": "a long password",
        },
        token_from="/setup",
    )
    query = ("退款请求处理流程" * 63)[:500]  # the search box's maxlength, 3 bytes a character
    status, page = admin.get("/search?" + urllib.parse.urlencode({"q": query}))
    assert status == 200 and "Search" in page and query[:40] in page


@pytest.mark.slow
def test_gunicorn_keeps_connections_alive_and_answers_past_stalled_clients(server):
    import http.client

    host, port = server.removeprefix("http://").split(":")
    # Two clients that stop sending halfway through their request line (a slow network, or someone holding
    # connections open on purpose): as many as there are workers, each of which waited for its client alone.
    stalled = [socket.create_connection((host, int(port)), timeout=5) for _ in range(2)]
    try:
        for sock in stalled:
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: kms\r\n")
        time.sleep(0.5)
        connection = http.client.HTTPConnection(host, int(port), timeout=5)
        answers = []
        for _ in range(3):
            connection.request("GET", "/healthz")
            response = connection.getresponse()
            answers.append((response.status, response.read(), connection.sock))
        connection.close()
    finally:
        for sock in stalled:
            sock.close()
    assert [status for status, _, _ in answers] == [200, 200, 200]
    assert all(b'"database":"ok"' in body.replace(b" ", b"") for _, body, _ in answers)
    # One connection answered all three: each page view does not open a new one.
    assert answers[0][2] is not None and all(sock is answers[0][2] for _, _, sock in answers)


def _stop_group(process: subprocess.Popen) -> None:
    """End the server and the reloader's child, both in the session this test started."""
    import signal

    try:
        os.killpg(process.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)


@pytest.mark.slow
def test_serve_debug_runs_the_reloading_development_server_until_stopped(tmp_path):
    port = _free_port()
    env = {**os.environ, "KMS_INSTANCE_PATH": str(tmp_path), "KMS_LOAD_STARTER_CONTENT": "0"}
    env.pop("KMS_DATABASE_URL", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "kms", "serve", "--debug", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        deadline, answer = time.monotonic() + 60, None
        while answer is None and time.monotonic() < deadline:
            if process.poll() is not None:
                pytest.fail(
                    f"kms serve --debug exited ({process.returncode}) without serving: "
                    f"{process.stderr.read()[-2000:]}"
                )
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
                    answer = response.status, response.read().decode()
            except OSError:
                time.sleep(0.3)
        assert answer is not None and answer[0] == 200 and '"database":"ok"' in answer[1].replace(" ", "")
    finally:
        _stop_group(process)


def test_serve_debug_is_refused_in_production(tmp_path):
    env = {
        **os.environ,
        "KMS_INSTANCE_PATH": str(tmp_path),
        "KMS_ENV": "production",
        "KMS_SECRET_KEY": "9f1c2ab7e05d4c3388a61f7be2d09c54f3a8b6e1d7c20495ab3e8f6d1c07b2a4",
    }
    env.pop("KMS_DATABASE_URL", None)
    done = subprocess.run(
        [sys.executable, "-m", "kms", "serve", "--debug"], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode != 0 and "--debug is for development" in done.stderr
