"""A real OpenID Connect provider for the tests: node's oidc-provider (tests/oidc/provider.js) on 127.0.0.1.

`make test` installs it with `npm ci --prefix tests/oidc`; nothing is downloaded when the tests run. Without
node or the installed package the tests that need it are skipped, saying why; with CI=true they fail instead.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import httpx
import pytest
from joserfc.jwk import RSAKey

OIDC_DIR = Path(__file__).resolve().parent.parent / "oidc"
CLIENT_ID, CLIENT_SECRET = "kms", "kms-test-secret"

# The people the provider knows: login -> claims. Tests change groups in the file between logins.
ACCOUNTS = {
    "lead": {
        "email": "lead@example.test",
        "email_verified": True,
        "name": "Lena Lead",
        "groups": ["cs-leads"],
    },
    "rep": {"email": "rep@example.test", "email_verified": True, "name": "Remy Rep", "groups": ["cs-reps"]},
    "mallory": {"email": "admin@example.test", "email_verified": False, "name": "Mallory", "groups": []},
    "owner": {"email": "admin@example.test", "email_verified": True, "name": "Ada Admin", "groups": []},
}


def missing_reason() -> str | None:
    """Why the provider cannot run here, or None."""
    if shutil.which("node") is None:
        return "node is not installed (the SSO tests run a real OpenID provider on node)"
    if not (OIDC_DIR / "node_modules" / "oidc-provider" / "package.json").exists():
        return "tests/oidc/node_modules is missing: run `npm ci --prefix tests/oidc` (make test does)"
    return None


def skip_or_fail_without_provider() -> None:
    reason = missing_reason()
    if reason is None:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI=true requires the test OpenID provider: {reason}", pytrace=False)
    pytest.skip(reason)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Provider:
    """A running provider: its issuer, signing key and accounts file."""

    issuer: str
    key: RSAKey
    accounts_file: Path
    process: subprocess.Popen
    accounts: dict = field(default_factory=dict)

    def set_groups(self, login: str, groups: list[str]) -> None:
        self.accounts[login]["groups"] = groups
        self.accounts_file.write_text(json.dumps(self.accounts))

    def jwks_served(self) -> int:
        """How many times the provider has handed out its published keys."""
        log = self.accounts_file.parent / "oidc-provider.log"
        return log.read_text().count("jwks served")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()


def signing_key(kid: str = "test-key-1") -> RSAKey:
    """A new RSA signing key for the provider, named `kid`."""
    return RSAKey.generate_key(2048, parameters={"kid": kid, "alg": "RS256", "use": "sig"}, private=True)


def start(
    workdir: Path,
    redirect_uris: list[str],
    logout_uris: list[str],
    port: int | None = None,
    key: RSAKey | None = None,
    retired: tuple[RSAKey, ...] = (),
) -> Provider:
    """Start provider.js (on `port`, else a free one) signing with `key` (else a new one) and also publishing
    the `retired` keys, and wait until its discovery document answers."""
    port = port or free_port()
    key = key or signing_key()
    published = [k.as_dict(private=True) for k in (key, *retired)]  # oidc-provider signs with the first
    accounts = json.loads(json.dumps(ACCOUNTS))
    accounts_file = workdir / "oidc-accounts.json"
    accounts_file.write_text(json.dumps(accounts))
    env = {
        **os.environ,
        "OIDC_PORT": str(port),
        "OIDC_JWKS": json.dumps({"keys": published}),
        "OIDC_ACCOUNTS_FILE": str(accounts_file),
        "OIDC_REDIRECT_URIS": json.dumps(redirect_uris),
        "OIDC_LOGOUT_URIS": json.dumps(logout_uris),
    }
    log = open(workdir / "oidc-provider.log", "wb")  # noqa: SIM115 - kept open for the process's lifetime
    process = subprocess.Popen(
        ["node", "provider.js"], cwd=OIDC_DIR, env=env, stdout=log, stderr=subprocess.STDOUT
    )
    issuer = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"oidc-provider exited: {(workdir / 'oidc-provider.log').read_text()[-2000:]}")
        try:
            if httpx.get(f"{issuer}/.well-known/openid-configuration", timeout=1).status_code == 200:
                return Provider(issuer, key, accounts_file, process, accounts)
        except httpx.HTTPError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("oidc-provider did not answer its discovery document within 20 s")


def log_in_at_provider(
    authorization_url: str, login: str, callback_prefix: str, browser: httpx.Client | None = None
) -> str:
    """What a person does at the provider's login page, without a browser: follow the redirects, fill in the
    login form (oidc-provider's development interaction), and return the URL it sends the browser back to."""
    browser = browser or httpx.Client(timeout=10)
    url = authorization_url
    for _ in range(12):
        if url.startswith(callback_prefix):
            return url
        response = browser.get(url)
        if response.status_code in (302, 303):
            url = urljoin(url, response.headers["location"])
            continue
        assert response.status_code == 200, response.text[:500]
        assert 'name="login"' in response.text, response.text[:1000]  # the login form
        action = urljoin(url, urlsplit(url).path)
        posted = browser.post(action, data={"prompt": "login", "login": login, "password": "any"})
        assert posted.status_code in (302, 303), posted.text[:500]
        url = urljoin(action, posted.headers["location"])
    raise AssertionError(f"never got back to {callback_prefix}; last URL {url}")
