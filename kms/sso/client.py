"""The OpenID Connect relying party: Authlib's Flask client, one per provider and app.

Authlib reads the provider's discovery document, sends PKCE (S256), `state` and `nonce`, exchanges the code,
and checks the ID token: its signature against the provider's published keys (fetched again when a token
names a key it has not seen, so key rotation works), issuer, audience, expiry, issued-at and nonce.
"""

from __future__ import annotations

import time

from kms.sso.services import ProviderConfig, secret_of

_EXTENSION = "kms_sso_oauth"
TIMEOUT_SECONDS = 5
SAFE_ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA")


class SecretUnreadable(RuntimeError):
    """The provider's stored client secret was sealed under another site key: an admin must enter it again."""


def init_app(app) -> None:
    # Authlib (with requests and cryptography) is imported at the first sign-in: ~110 ms of every start
    # otherwise, on sites that may never use SSO.
    app.extensions[_EXTENSION] = {"oauth": None, "clients": {}}


def _oauth(app):
    state = app.extensions[_EXTENSION]
    if state["oauth"] is None:
        from authlib.integrations.flask_client import OAuth

        state["oauth"] = OAuth(app)
    return state["oauth"]


def refused_error() -> type[Exception]:
    """Authlib's error for a provider that refused the code."""
    from authlib.integrations.base_client import OAuthError

    return OAuthError


def network_error() -> type[Exception]:
    """What failing to reach a provider raises (requests' base error)."""
    from requests import RequestException

    return RequestException


def unreachable_errors() -> tuple[type[Exception], ...]:
    """What failing to reach a provider, or reading a broken answer from it, raises."""
    return (network_error(), ValueError, KeyError, RuntimeError)


def client_for(app, provider: ProviderConfig):
    """The Authlib client for this provider, kept while its settings stay the same (so is its discovery)."""
    state = app.extensions[_EXTENSION]
    secret = secret_of(provider, site_key=app.config["SECRET_KEY"])
    if secret is None:
        raise SecretUnreadable(provider.label)
    key = (provider.slug, provider.issuer, provider.client_id, secret, provider.scopes)
    client = state["clients"].get(key)
    if client is None:
        client = _oauth(app).register(
            name=f"sso-{provider.slug}",
            overwrite=True,
            client_id=provider.client_id,
            client_secret=secret,
            server_metadata_url=provider.metadata_url,
            client_kwargs={
                "scope": provider.scopes,
                "code_challenge_method": "S256",
                "default_timeout": TIMEOUT_SECONDS,
            },
        )
        state["clients"] = {k: v for k, v in state["clients"].items() if k[0] != provider.slug}
        state["clients"][key] = client
    return client


def metadata(client) -> dict:
    """The provider's discovery document, read once; 'none' and HMAC algorithms are never accepted for ID
    tokens, whatever the document lists."""
    data = client.load_server_metadata()
    offered = data.get("id_token_signing_alg_values_supported") or ["RS256"]
    data["id_token_signing_alg_values_supported"] = [alg for alg in offered if alg in SAFE_ALGORITHMS] or [
        "RS256"
    ]
    return data


def now() -> float:
    return time.time()
