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
def server(served):
    return served[0]


@pytest.fixture
def served(tmp_path):
    """(base URL, the gunicorn master process) of `kms serve --workers 2` on a fresh instance."""
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
    yield base, process
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


def _children(pid: int) -> list[int]:
    children = []
    for entry in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{entry}/stat") as stat:
                if int(stat.read().rsplit(")", 1)[1].split()[1]) == pid:
                    children.append(int(entry))
        except (OSError, ValueError):
            pass
    return children


def _socket_inodes(pid: int) -> set[str]:
    inodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    return inodes


def _server_side_inodes(server_port: int, client_ports: set[int]) -> dict[int, str]:
    """client port -> inode of the server's end of that loopback connection (from /proc/net/tcp)."""
    found = {}
    with open("/proc/net/tcp") as table:
        for line in table.readlines()[1:]:
            fields = line.split()
            local_port, remote_port = (int(address.split(":")[1], 16) for address in fields[1:3])
            if local_port == server_port and remote_port in client_ports:
                found[remote_port] = fields[9]
    return found


@pytest.mark.slow
@pytest.mark.skipif(not os.path.isdir("/proc/net"), reason="reads connections from Linux's /proc")
def test_a_burst_of_kept_connections_is_spread_over_both_workers(served):
    import http.client

    base, master = served
    host, port = base.removeprefix("http://").split(":")
    workers = _children(master.pid)
    assert len(workers) == 2, workers
    for _burst in range(3):
        # 32 clients connect at once and keep their connections (browsers, or a balancer's pool).
        connections = [http.client.HTTPConnection(host, int(port), timeout=10) for _ in range(32)]
        try:
            for connection in connections:
                connection.connect()
            for connection in connections:
                connection.request("GET", "/healthz")
            assert all(connection.getresponse().read() for connection in connections)
            client_ports = {connection.sock.getsockname()[1] for connection in connections}
            server_ends = _server_side_inodes(int(port), client_ports)
            assert len(server_ends) == 32
            held = [len(set(server_ends.values()) & _socket_inodes(worker)) for worker in workers]
        finally:
            for connection in connections:
                connection.close()
        # Each worker answers a share: on one shared socket a burst could all land on one worker, whose
        # kept connections then left the other idle (with SO_REUSEPORT, fewer than 2 of 32 has p < 1e-7).
        assert sum(held) == 32 and min(held) >= 2, held


@pytest.mark.slow
def test_a_second_server_on_the_same_port_is_refused_and_the_first_keeps_serving(served, tmp_path):
    base, _ = served
    port = base.rsplit(":", 1)[1]
    env = {**os.environ, "KMS_INSTANCE_PATH": str(tmp_path / "second"), "KMS_LOAD_STARTER_CONTENT": "0"}
    env.pop("KMS_DATABASE_URL", None)
    second = subprocess.run(
        [sys.executable, "-m", "kms", "serve", "--port", port],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert second.returncode != 0
    assert f"Cannot listen on 127.0.0.1:{port}" in second.stderr and "Address already in use" in second.stderr
    for _ in range(4):  # every worker still answers, none was shared with the refused server
        with urllib.request.urlopen(base + "/healthz", timeout=10) as response:
            assert response.status == 200


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


def test_serve_names_an_unknown_host_instead_of_blaming_the_port(tmp_path):
    env = {**os.environ, "KMS_INSTANCE_PATH": str(tmp_path), "KMS_LOAD_STARTER_CONTENT": "0"}
    env.pop("KMS_DATABASE_URL", None)
    done = subprocess.run(
        [sys.executable, "-m", "kms", "serve", "--host", "no-such-host.invalid", "--port", str(_free_port())],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode != 0
    assert "Cannot listen on no-such-host.invalid" in done.stderr and "Check --host" in done.stderr
    assert "another server" not in done.stderr and "Traceback" not in done.stderr
