"""Single sign-on with OpenID Connect providers (Authlib), group -> role rules and SSO-only mode."""

from __future__ import annotations

from flask_login import user_logged_out

from kms.auth.gates import add_password_gate
from kms.sso import client
from kms.sso.views import bp
from kms.sso.views.login import (
    invite_note,
    login_panel,
    password_refusal,
    reauth_panel,
    remember_logout_offer,
)

__all__ = ["bp", "init_app"]


def init_app(app) -> None:
    """Register the blueprint, the Authlib registry, the password gate, the logout hook and template helpers."""
    app.register_blueprint(bp)
    client.init_app(app)
    add_password_gate(app, password_refusal)
    user_logged_out.connect(remember_logout_offer, app)
    app.add_template_global(login_panel, "sso_login_panel")
    app.add_template_global(reauth_panel, "sso_reauth_panel")
    app.add_template_global(invite_note, "sso_invite_note")
