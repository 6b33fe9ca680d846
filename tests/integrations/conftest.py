"""A local HTTP receiver for the integration tests: it records every request and answers as told (200, 500 or
not at all), and plays Slack's users.info for the e-mail lookup."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest

CLIENT_TIMEOUT = 0.5  # seconds kms waits for the receiver in these tests


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self):
        return json.loads(self.body)


@dataclass
class Receiver:
    url: str
    requests: list[Received] = field(default_factory=list)
    answers: list[str] = field(default_factory=list)  # "ok", "500" or "hang", used in turn; then "ok"
    slack_emails: dict[str, str] = field(default_factory=dict)  # Slack user id -> e-mail (users.info)
    release: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def posts(self, path_prefix: str = "/") -> list[Received]:
        with self.lock:
            return [r for r in self.requests if r.method == "POST" and r.path.startswith(path_prefix)]

    def wait_for_posts(self, count: int, path_prefix: str = "/", seconds: float = 5.0) -> list[Received]:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and len(self.posts(path_prefix)) < count:
            time.sleep(0.02)
        return self.posts(path_prefix)

    def reset(self) -> None:
        with self.lock:
            self.requests.clear()
            self.answers.clear()
            self.slack_emails.clear()


def _handler(receiver: Receiver):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):  # quiet
            pass

        def _record(self) -> Received:
            length = int(self.headers.get("Content-Length") or 0)
            item = Received(self.command, self.path, dict(self.headers.items()), self.rfile.read(length))
            with receiver.lock:
                receiver.requests.append(item)
                answer = receiver.answers.pop(0) if receiver.answers else "ok"
            return item, answer

        def _send(self, status: int, body: bytes, kind: str = "application/json") -> None:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):
            item, _ = self._record()
            parts = urlsplit(item.path)
            if parts.path.endswith("/users.info"):
                user = parse_qs(parts.query).get("user", [""])[0]
                if (
                    self.headers.get("Authorization") != "Bearer xoxb-test"
                    or user not in receiver.slack_emails
                ):
                    return self._send(200, json.dumps({"ok": False, "error": "user_not_found"}).encode())
                person = {"id": user, "profile": {"email": receiver.slack_emails[user]}}
                return self._send(200, json.dumps({"ok": True, "user": person}).encode())
            self._send(404, b"{}")

        def do_POST(self):
            _, answer = self._record()
            if answer == "hang":
                receiver.release.wait(CLIENT_TIMEOUT * 6)  # far past kms's timeout; released at teardown
                return
            if answer == "500":
                return self._send(500, b"boom", "text/plain")
            self._send(200, b"ok", "text/plain")

    return Handler


@pytest.fixture(scope="session")
def _receiver_server():
    receiver = Receiver(url="")
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(receiver))
    server.daemon_threads = True
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield receiver
    receiver.release.set()
    server.shutdown()
    server.server_close()


@pytest.fixture
def receiver(_receiver_server):
    _receiver_server.reset()
    _receiver_server.release.clear()
    yield _receiver_server
    _receiver_server.release.set()


@pytest.fixture
def app_overrides(receiver):
    return {
        "KMS_WEBHOOK_TIMEOUT": str(CLIENT_TIMEOUT),
        "KMS_WEBHOOK_RETRY_SECONDS": "0",  # a failed attempt is due again at once: each run is the next try
        "KMS_WEBHOOK_MAX_ATTEMPTS": "4",
        "KMS_WEBHOOK_DISABLE_AFTER": "3",
        "KMS_SLACK_API_URL": receiver.url + "/api",
        "KMS_SLACK_REPLY_URL_PREFIX": receiver.url + "/slack-reply/",
        "KMS_BASE_URL": "https://kms.example",
    }
