"""Signing in through the test provider, as a browser would, with the Flask test client on the kms side."""

from __future__ import annotations

import base64
import json
from urllib.parse import parse_qs, quote, urlsplit

from joserfc import jwt

from tests.sso import provider as oidc
from tests.sso.conftest import CALLBACK


def start(client, next_url: str | None = None, path: str = "/login/sso/default") -> str:
    """Click "Sign in with …": the provider's authorization URL kms redirects to."""
    response = client.get(path + (f"?next={quote(next_url, safe='')}" if next_url else ""))
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    return response.location


def callback_url(client, login: str, next_url: str | None = None) -> str:
    """Start at kms, log in at the provider; the callback URL (with code and state) the provider sends back."""
    return oidc.log_in_at_provider(start(client, next_url), login, CALLBACK)


def sign_in(client, login: str, next_url: str | None = None):
    """The whole sign-in; returns kms's answer to the callback."""
    return client.get(callback_url(client, login, next_url))


def query(url: str) -> dict[str, str]:
    return {name: values[0] for name, values in parse_qs(urlsplit(url).query).items()}


def flashed_page(client, response) -> str:
    """The page a refused sign-in redirects to, with its message."""
    assert response.status_code == 302, response.get_data(as_text=True)[:300]
    return client.get(response.location).get_data(as_text=True)


def claims_of(id_token: str) -> dict:
    """The claims of a JWT, unchecked."""
    payload = id_token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def resigned(idp, change: dict, key=None, kid: str = "test-key-1", alg: str = "RS256"):
    """An ID token replacer: the same claims with `change` applied, signed with `key` (else the provider's)."""

    def forge(id_token: str) -> str:
        claims = {**claims_of(id_token), **change}
        return jwt.encode({"alg": alg, "kid": kid}, claims, key or idp.key)

    return forge
