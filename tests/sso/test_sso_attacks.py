"""Attacks on the sign-in, each against the real provider: forged or altered ID tokens, a wrong or replayed
state, a replayed code, an open redirect through `next`, and a provider that is down.

Altered tokens: the provider really issues the code and kms really exchanges it; between the provider's token
endpoint and kms's checks (Authlib) the ID token in the answer is replaced, as a proxy in between would. The
provider's own signing key is known to the tests (they made it), so a token can be wrong in exactly one way.
"""

from __future__ import annotations

import base64
import json
import time

import pytest
from joserfc.jwk import OctKey, RSAKey
from sqlalchemy import select

from kms.auth.models import Role, User
from kms.extensions import db
from tests.conftest import login
from tests.sso import provider as oidc
from tests.sso.conftest import CALLBACK
from tests.sso.helpers import callback_url, claims_of, flashed_page, query, resigned, sign_in, start

REJECTED = "its ID token is not valid for kms"


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def _not_signed_in(client, response, message=REJECTED) -> None:
    assert message in flashed_page(client, response)
    assert client.get("/account").status_code == 302
    db.session.rollback()
    assert db.session.scalar(select(User).where(User.email == "rep@example.test")) is None


def test_the_forging_harness_itself_is_accepted_when_nothing_is_changed(
    client, idp, make_user, replace_id_token
):
    make_user(Role.ADMIN)
    replace_id_token["with"] = resigned(idp, {})
    assert sign_in(client, "rep").status_code == 302
    assert client.get("/account").status_code == 200


FORGERIES = {
    "wrong audience": lambda idp: resigned(idp, {"aud": "another-client"}),
    "wrong audience, azp naming kms": lambda idp: resigned(idp, {"aud": ["another-client"], "azp": "kms"}),
    "wrong issuer": lambda idp: resigned(idp, {"iss": "http://127.0.0.1:9"}),
    "wrong nonce": lambda idp: resigned(idp, {"nonce": "not-the-nonce-kms-sent"}),
    "expired": lambda idp: resigned(idp, {"exp": int(time.time()) - 3600, "iat": int(time.time()) - 7200}),
    "another key, unknown kid": lambda idp: resigned(
        idp, {}, key=RSAKey.generate_key(2048, private=True), kid="attacker"
    ),
    "another key, the provider's kid": lambda idp: resigned(
        idp, {}, key=RSAKey.generate_key(2048, private=True)
    ),
    "HS256 with the client secret": lambda idp: resigned(
        idp, {}, key=OctKey.import_key(oidc.CLIENT_SECRET.encode() * 2), alg="HS256"
    ),
    "alg none": lambda idp: lambda id_token: f"{_b64({'alg': 'none'})}.{_b64(claims_of(id_token))}.",
}


# The check that must catch each forgery, as kms logs it: proof that the intended check fired.
CAUGHT_BY = {
    "wrong audience": "'aud'",
    "wrong audience, azp naming kms": "'aud'",
    "wrong issuer": "'iss'",
    "wrong nonce": "'nonce'",
    "expired": "expired_token",
    "another key, unknown kid": "kid: 'attacker'",
    "another key, the provider's kid": "bad_signature",
    "HS256 with the client secret": "'HS256' is not allowed",
    "alg none": "'none' is not allowed",
}


@pytest.mark.parametrize("forgery", list(FORGERIES))
def test_an_altered_id_token_does_not_sign_anyone_in(
    client, idp, make_user, replace_id_token, forgery, caplog
):
    make_user(Role.ADMIN)
    replace_id_token["with"] = FORGERIES[forgery](idp)
    _not_signed_in(client, sign_in(client, "rep"))
    assert CAUGHT_BY[forgery] in caplog.text


def test_a_wrong_state_is_refused(client, idp, make_user):
    make_user(Role.ADMIN)
    back = callback_url(client, "rep")
    forged = back.replace(f"state={query(back)['state']}", "state=made-up-state")
    _not_signed_in(client, client.get(forged), "not started in this browser")


def test_a_callback_started_in_another_browser_is_refused(client, idp, make_user):
    make_user(Role.ADMIN)
    back = callback_url(client, "rep")  # the attacker's own sign-in...
    victim = client.application.test_client()
    _not_signed_in(
        victim, victim.get(back), "not started in this browser"
    )  # ...pushed into a victim's browser


def test_a_replayed_authorization_code_is_refused(client, idp, make_user):
    make_user(Role.ADMIN)
    back = callback_url(client, "rep")
    assert client.get(back).status_code == 302  # the real sign-in
    assert client.get(back).location.endswith("/login")  # the same callback again: its state was used up
    other = client.application.test_client()
    fresh_state = query(start(other))["state"]  # a new, valid state in another browser...
    replay = f"{CALLBACK}?code={query(back)['code']}&state={fresh_state}&iss={query(back).get('iss', '')}"
    refused = other.get(replay)  # ...with the code that was used already
    assert "refused the sign-in" in flashed_page(other, refused)
    assert other.get("/account").status_code == 302


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/steal",
        "//evil.example/steal",
        "/\\evil.example",
        "http:/evil.example",
        " //evil.example",
    ],
)
def test_next_cannot_send_the_browser_to_another_site(client, idp, make_user, target):
    make_user(Role.ADMIN)
    response = sign_in(client, "rep", next_url=target)
    assert response.status_code == 302
    assert response.location in ("/", "http://kms.test/")


def test_a_provider_that_is_down_gets_a_clear_message_and_passwords_still_work(backend, tmp_path, make_user):
    from tests.conftest import make_app

    down = make_app(
        backend,
        tmp_path,
        KMS_OIDC_ISSUER=f"http://127.0.0.1:{oidc.free_port()}",
        KMS_OIDC_CLIENT_ID="kms",
        KMS_OIDC_LABEL="Acme ID",
    )
    with down.app_context():
        user = make_user(Role.MEMBER)
        browser = down.test_client()
        response = browser.get("/login/sso/default")
        page = flashed_page(browser, response)
        assert (
            "Acme ID cannot be reached right now" in page
            and "You can still log in with your password" in page
        )
        assert 'name="password"' in page
        assert login(browser, user).status_code == 302
