"""An admin-added provider's client secret is stored sealed with the site's key: a copied database does not
reveal it, sign-in still works, and a secret the site can no longer open is named on the admin page."""

from __future__ import annotations

import pytest
from flask_migrate import upgrade
from sqlalchemy import select
from sqlalchemy import text as sql

from kms import sealing
from kms.auth.models import Role
from kms.extensions import db
from kms.sso import services
from kms.sso.models import SsoProvider
from tests.conftest import make_app
from tests.sso import provider as oidc
from tests.sso.conftest import ADDED_CALLBACK
from tests.sso.helpers import flashed_page, start


def _add_acme(client, idp) -> None:
    added = client.post(
        "/admin/sso/providers",
        data={
            "label": "Acme",
            "slug": "acme",
            "issuer": idp.issuer,
            "client_id": oidc.CLIENT_ID,
            "client_secret": oidc.CLIENT_SECRET,
            "scopes": "openid email profile",
            "groups_claim": "groups",
        },
    )
    assert added.status_code == 302, added.get_data(as_text=True)[:400]


def test_the_stored_secret_is_sealed_and_a_sign_in_through_the_added_provider_uses_it(client, idp, login_as):
    login_as(Role.ADMIN)
    _add_acme(client, idp)
    stored = db.session.scalar(select(SsoProvider.client_secret).where(SsoProvider.slug == "acme"))
    assert stored and oidc.CLIENT_SECRET not in stored
    # The code exchange authenticates kms with the secret: the provider refuses a wrong one.
    browser = client.application.test_client()
    back = oidc.log_in_at_provider(start(browser, path="/login/sso/acme"), "rep", ADDED_CALLBACK)
    answer = browser.get(back)
    assert answer.status_code == 302 and "/login" not in answer.location, flashed_page(browser, answer)[:400]
    assert "rep@example.test" in browser.get("/account").get_data(as_text=True)


def test_a_secret_sealed_under_another_site_key_is_named_on_the_admin_page_and_sign_in_says_why(
    client, idp, login_as
):
    login_as(Role.ADMIN)
    _add_acme(client, idp)
    with db.engine.begin() as conn:
        conn.execute(
            SsoProvider.__table__.update()
            .where(SsoProvider.slug == "acme")
            .values(client_secret=sealing.seal("x", site_key="an old key", purpose=services.SECRET_PURPOSE))
        )
    assert "client secret unreadable" in client.get("/admin/sso").get_data(as_text=True)
    anonymous = client.application.test_client()
    refused = anonymous.get("/login/sso/acme")
    assert "an admin must enter its client secret again" in flashed_page(anonymous, refused)


def test_the_migration_seals_secrets_stored_in_plain_text_and_they_still_open(backend, tmp_path):
    if backend["name"] != "sqlite":
        pytest.skip("the rewrite is the same SQL on both databases; SQLite shows it (migrations run on both)")
    app = make_app({"name": "sqlite", "url": f"sqlite:///{tmp_path / 'old.db'}"}, tmp_path)
    with app.app_context():
        upgrade(directory=app.config["KMS_MIGRATIONS_DIR"], revision="c9c5a3991289")
        with db.engine.begin() as conn:
            conn.execute(
                sql(
                    "INSERT INTO sso_providers (slug, label, issuer, client_id, client_secret, scopes,"
                    " groups_claim, created_at) VALUES ('okta', 'Okta', 'https://id.example', 'kms',"
                    " 'plain-secret', 'openid', '', '2026-01-01 00:00:00+00:00')"
                )
            )
        upgrade(directory=app.config["KMS_MIGRATIONS_DIR"])
        stored = db.session.scalar(select(SsoProvider.client_secret))
        config = services.list_providers(None)[0]
        opened = services.secret_of(config, site_key=app.config["SECRET_KEY"])
        db.session.remove()
        db.engine.dispose()
    assert stored != "plain-secret" and "plain-secret" not in stored
    assert opened == "plain-secret"
