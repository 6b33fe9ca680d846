"""The provider rotates its signing key while kms is running: kms, holding the old published keys, fetches them
again when an ID token names a key it has not seen, and still refuses a key the provider does not publish.

The rotation is real: the provider is stopped and started again on the same address with a new key, which it
signs with, and the old one still published (as Entra ID, Okta and Keycloak do during a rollover).
"""

from __future__ import annotations

import pytest
from joserfc.jwk import RSAKey
from sqlalchemy import select

from kms.auth.models import Role, User
from kms.extensions import db
from tests.sso import provider as oidc
from tests.sso.conftest import CALLBACK
from tests.sso.helpers import flashed_page, resigned, sign_in


class RotatingProvider:
    """A provider of this test's own (the session's one stays as it is), whose key can be rotated."""

    def __init__(self, workdir):
        self.workdir = workdir
        self.old_key = oidc.signing_key("key-2025")
        self.current = self._start("before", self.old_key, ())

    def _start(self, name: str, key: RSAKey, retired: tuple[RSAKey, ...], port: int | None = None):
        workdir = self.workdir / name
        workdir.mkdir()
        return oidc.start(workdir, [CALLBACK], ["http://kms.test/login"], port=port, key=key, retired=retired)

    def rotate(self) -> None:
        """Restart on the same address signing with a new key, the old one still published."""
        port = int(self.current.issuer.rsplit(":", 1)[1])
        self.current.stop()
        self.current = self._start("after", oidc.signing_key("key-2026"), (self.old_key,), port=port)


@pytest.fixture
def rotating_idp(tmp_path):
    oidc.skip_or_fail_without_provider()
    rotating = RotatingProvider(tmp_path)
    yield rotating
    rotating.current.stop()


@pytest.fixture
def sso_settings(rotating_idp):
    return {
        "KMS_OIDC_ISSUER": rotating_idp.current.issuer,
        "KMS_OIDC_CLIENT_ID": oidc.CLIENT_ID,
        "KMS_OIDC_CLIENT_SECRET": oidc.CLIENT_SECRET,
        "KMS_OIDC_LABEL": "Acme ID",
    }


def _signed_in_as(browser, email: str) -> None:
    assert browser.get("/account").status_code == 200
    db.session.rollback()
    assert db.session.scalar(select(User).where(User.email == email)) is not None


def test_after_the_provider_rotates_its_key_the_next_sign_in_works(client, rotating_idp, make_user):
    make_user(Role.ADMIN)
    assert sign_in(client, "rep").status_code == 302
    _signed_in_as(client, "rep@example.test")  # kms now holds the old published keys
    rotating_idp.rotate()
    other = client.application.test_client()
    assert sign_in(other, "lead").status_code == 302  # an ID token signed with a key kms has not seen
    _signed_in_as(other, "lead@example.test")
    assert rotating_idp.current.jwks_served() == 1  # kms fetched the new keys, once


# A token signed with a key the provider does not publish, naming an unknown kid or the provider's new one, and
# what kms logs when it refuses it.
FOREIGN_KEYS = {"unknown kid": ("attacker", "kid: 'attacker'"), "the new kid": ("key-2026", "bad_signature")}


@pytest.mark.parametrize("case", list(FOREIGN_KEYS))
def test_a_key_the_provider_does_not_publish_is_refused_even_after_fetching_the_keys_again(
    client, rotating_idp, make_user, replace_id_token, caplog, case
):
    kid, caught_by = FOREIGN_KEYS[case]
    make_user(Role.ADMIN)
    assert sign_in(client, "rep").status_code == 302  # kms holds the published keys
    rotating_idp.rotate()
    other = client.application.test_client()
    replace_id_token["with"] = resigned(rotating_idp.current, {}, key=oidc.signing_key(kid), kid=kid)
    refused = sign_in(other, "lead")
    assert "its ID token is not valid for kms" in flashed_page(other, refused)
    assert other.get("/account").status_code == 302
    assert rotating_idp.current.jwks_served() == 1  # fetched again once, and still refused
    assert caught_by in caplog.text
    db.session.rollback()
    assert db.session.scalar(select(User).where(User.email == "lead@example.test")) is None
