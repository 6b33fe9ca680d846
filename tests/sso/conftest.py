"""Fixtures for single sign-on: one real OpenID provider per test session, and kms apps configured for it."""

from __future__ import annotations

import pytest
from authlib.integrations.requests_client import OAuth2Session

from tests.sso import provider as oidc

CALLBACK = "http://kms.test/login/sso/default/callback"
ADDED_CALLBACK = "http://kms.test/login/sso/acme/callback"  # an admin-added provider with the short name acme


@pytest.fixture(scope="session")
def idp(tmp_path_factory):
    """node's oidc-provider on a free port of 127.0.0.1, stopped when the session ends."""
    oidc.skip_or_fail_without_provider()
    running = oidc.start(
        tmp_path_factory.mktemp("oidc"), [CALLBACK, ADDED_CALLBACK], ["http://kms.test/login"]
    )
    yield running
    running.stop()


@pytest.fixture
def sso_settings(idp):
    return {
        "KMS_OIDC_ISSUER": idp.issuer,
        "KMS_OIDC_CLIENT_ID": oidc.CLIENT_ID,
        "KMS_OIDC_CLIENT_SECRET": oidc.CLIENT_SECRET,
        "KMS_OIDC_GROUPS_CLAIM": "groups",
        "KMS_OIDC_LABEL": "Acme ID",
    }


@pytest.fixture
def app_overrides(sso_settings):
    return sso_settings


@pytest.fixture(autouse=True)
def fresh_groups(idp):
    """Every test starts with the accounts' original groups."""
    for login, claims in oidc.ACCOUNTS.items():
        idp.set_groups(login, list(claims["groups"]))


@pytest.fixture
def replace_id_token(monkeypatch):
    """Set `replace_id_token["with"] = f(original id_token) -> new id_token` to alter the token response."""
    holder: dict = {}
    original = OAuth2Session.fetch_token

    def fetch_token(self, *args, **kwargs):
        token = original(self, *args, **kwargs)
        if "with" in holder:
            token["id_token"] = holder["with"](token["id_token"])
        return token

    monkeypatch.setattr(OAuth2Session, "fetch_token", fetch_token)
    return holder
