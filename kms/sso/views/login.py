"""Sign in with an OpenID Connect provider, confirm a login through it, and sign out there too."""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_login import confirm_login, current_user, login_user
from joserfc.errors import JoseError
from markupsafe import Markup

from kms.auth.permissions import requires
from kms.auth.redirects import safe_next
from kms.errors import Forbidden, NotFound
from kms.extensions import unit_of_work
from kms.sso import services
from kms.sso.client import (
    SecretUnreadable,
    client_for,
    metadata,
    network_error,
    now,
    refused_error,
    unreachable_errors,
)
from kms.sso.views import bp

FLOWS = "sso_flows"  # state -> {provider, next, reauth, started}: the sign-ins this browser started
LOGIN = "sso_login"  # {provider, id_token}: how the current kms session was signed in
LOGOUT_OFFER = "sso_logout_offer"
FRESH_LEEWAY_SECONDS = 30  # clock difference allowed between kms and the provider for auth_time
REJECTED = (JoseError, ValueError, KeyError, TypeError)


def env_provider():
    return services.env_provider(current_app.config)


def provider_or_404(slug: str) -> services.ProviderConfig:
    try:
        return services.get_provider(slug, env_provider())
    except NotFound:
        abort(404)


def _unreachable_message(provider, error) -> str:
    fallback = "" if services.get_settings().sso_only else " You can still log in with your password."
    if isinstance(error, SecretUnreadable):
        current_app.logger.error("SSO provider %s: its stored client secret cannot be opened", provider.slug)
        return (
            f"Sign-in with {provider.label} is not set up completely: an admin must enter its client secret "
            f"again.{fallback}"
        )
    current_app.logger.warning("SSO provider %s unreachable: %s", provider.slug, error)
    return (
        f"{provider.label} cannot be reached right now, so kms cannot sign you in with it. Try again in a "
        f"few minutes.{fallback}"
    )


def _start(provider, target: str, *, reauth: bool):
    """Redirect to the provider's login page, remembering state, nonce, PKCE verifier and where to go next."""
    redirect_uri = url_for("sso.callback", provider=provider.slug, _external=True)
    extra = {"prompt": "login", "max_age": 0} if reauth else {}
    try:
        client = client_for(current_app, provider)
        metadata(client)
        started = client.create_authorization_url(redirect_uri, **extra)
    except unreachable_errors() as error:
        flash(_unreachable_message(provider, error), "error")
        return redirect(url_for("auth.reauthenticate" if reauth else "auth.login", next=target))
    client.save_authorize_data(redirect_uri=redirect_uri, **started)
    flows = dict(list(session.get(FLOWS, {}).items())[-4:])  # a few tabs at once; older ones are dropped
    flows[started["state"]] = {
        "provider": provider.slug,
        "next": target,
        "reauth": reauth,
        "started": int(now()),
    }
    session[FLOWS] = flows
    return redirect(started["url"])


@bp.get("/login/sso/<provider>")
@requires("public")
def start(provider: str):
    """Start signing in with a provider; `next` is followed only when it is a path on this site."""
    config = provider_or_404(provider)
    return _start(config, safe_next(request.args.get("next"), url_for("auth.home")), reauth=False)


@bp.get("/login/sso/<provider>/reauthenticate")
@requires("account.self")
def reauthenticate(provider: str):
    """Confirm the login through the provider, which must ask for the password again (prompt=login, max_age=0)."""
    config = provider_or_404(provider)
    return _start(config, safe_next(request.args.get("next"), url_for("auth.home")), reauth=True)


def _refused(message: str, flow: dict | None):
    flash(message, "error")
    if flow and flow.get("reauth") and current_user.is_authenticated:
        return redirect(url_for("auth.reauthenticate", next=flow["next"]))
    return redirect(url_for("auth.login"))


def required_claims(config, discovered: dict) -> dict:
    """What the ID token must say: issued by this provider, for kms (Authlib alone checks the audience only
    through `azp`, so a token for another client that names kms as `azp` would pass), for a subject, in time."""
    return {
        "iss": {"essential": True, "values": [discovered.get("issuer") or config.issuer]},
        "aud": {"essential": True, "values": [config.client_id]},
        "sub": {"essential": True},
        "exp": {"essential": True},
        "iat": {"essential": True},
    }


def _checked_claims(config, flow):
    """Exchange the code and check the ID token (Authlib); the claims, or a response saying what failed."""
    if request.args.get("error"):
        detail = request.args.get("error_description") or request.args["error"]
        return None, _refused(f"{config.label} did not sign you in: {detail[:200]}", flow)
    try:
        client = client_for(current_app, config)
        token = client.authorize_access_token(claims_options=required_claims(config, metadata(client)))
    except refused_error() as error:
        current_app.logger.warning("SSO %s refused the code: %s", config.slug, error)
        return None, _refused(f"{config.label} refused the sign-in ({error.error}). Start again.", flow)
    except (network_error(), SecretUnreadable) as error:
        return None, _refused(_unreachable_message(config, error), flow)
    except REJECTED as error:
        current_app.logger.warning("SSO %s sent an ID token that failed the checks: %r", config.slug, error)
        return None, _refused(
            f"The answer from {config.label} failed kms's checks (its ID token is not valid "
            f"for kms), so you are not signed in.",
            flow,
        )
    claims = token.get("userinfo")
    if not claims:
        return None, _refused(f"{config.label} sent no ID token, so you are not signed in.", flow)
    return (dict(claims), token.get("id_token", "")), None


@bp.get("/login/sso/<provider>/callback")
@requires("public")
def callback(provider: str):
    """Where the provider sends the browser back: state first, then Authlib's checks, then the account rules."""
    config = provider_or_404(provider)
    flows = dict(session.get(FLOWS, {}))
    flow = flows.pop(request.args.get("state", ""), None)
    session[FLOWS] = flows
    if flow is None or flow["provider"] != config.slug:
        return _refused(
            "This sign-in was not started in this browser, or it was used already or has expired. "
            "Start again.",
            None,
        )
    checked, failure = _checked_claims(config, flow)
    if failure is not None:
        return failure
    claims, id_token = checked
    if flow["reauth"]:
        return _confirm_fresh(config, claims, flow)
    try:
        with unit_of_work():
            user = services.sign_in(config, claims)
    except Forbidden as error:
        return _refused(error.message, flow)
    session.clear()  # a fresh session on login; nothing from before carries over
    session.permanent = True
    login_user(user)
    session[LOGIN] = {"provider": config.slug, "id_token": id_token}
    return redirect(flow["next"])


def _confirm_fresh(config, claims: dict, flow: dict):
    """A fresh login: the same person at the provider, who entered their password after this flow started."""
    if not current_user.is_authenticated:
        return _refused("Log in first.", None)
    identity = services.identity_of(current_user, config)
    if identity is None or identity.subject != str(claims.get("sub")):
        return _refused(
            f"You confirmed as a different {config.label} account than the one you are logged in with.", flow
        )
    auth_time = claims.get("auth_time")
    if not isinstance(auth_time, int | float) or auth_time < flow["started"] - FRESH_LEEWAY_SECONDS:
        return _refused(
            f"{config.label} did not ask for your password again, so the login is not confirmed. Try again.",
            flow,
        )
    confirm_login()
    return redirect(flow["next"])


def remember_logout_offer(_sender, **_extra) -> None:
    """On logout (Flask-Login's signal): keep what is needed to offer signing out at the provider too."""
    signed_in = session.pop(LOGIN, None)
    if signed_in:
        session[LOGOUT_OFFER] = signed_in


@bp.get("/logout/sso/<provider>")
@requires("public")
def provider_logout(provider: str):
    """RP-initiated logout: after the kms logout, end the session at the provider too."""
    config = provider_or_404(provider)
    offer = session.pop(LOGOUT_OFFER, None)
    if not offer or offer.get("provider") != config.slug:
        return redirect(url_for("auth.login"))
    try:
        client = client_for(current_app, config)
        if not metadata(client).get("end_session_endpoint"):
            raise RuntimeError("no end_session_endpoint")
    except unreachable_errors() as error:
        flash(
            f"You are logged out of kms, but {config.label} cannot sign you out from here ({error}).", "info"
        )
        return redirect(url_for("auth.login"))
    logout = client.create_logout_url(
        post_logout_redirect_uri=url_for("auth.login", _external=True),
        id_token_hint=offer.get("id_token") or None,
        client_id=config.client_id,
    )
    return redirect(logout["url"])


def login_panel() -> Markup:
    """The login page's part: "Sign in with …" buttons, the SSO-only notice, the offer to sign out there too."""
    providers = services.list_providers(env_provider())
    offer = session.get(LOGOUT_OFFER)
    offered = None
    if offer:
        offered = next((p for p in providers if p.slug == offer.get("provider")), None)
        if offered is not None and not _has_end_session(offered):
            offered = None
    return Markup(
        render_template(
            "sso/_login_panel.html",
            providers=providers,
            offered=offered,
            sso_only=services.get_settings().sso_only and bool(providers),
            next=request.args.get("next"),
        )
    )


def _has_end_session(config) -> bool:
    try:
        return bool(metadata(client_for(current_app, config)).get("end_session_endpoint"))
    except unreachable_errors():
        return False


def reauth_panel() -> Markup:
    """The reauthenticate page's part: confirm through each provider this user has signed in with."""
    providers = services.linked_providers(current_user, env_provider())
    refusal = password_refusal(current_user)
    return Markup(
        render_template(
            "sso/_reauth_panel.html",
            providers=providers,
            password_off=bool(refusal),
            next=request.args.get("next"),
        )
    )


def primary_label() -> str:
    providers = services.list_providers(env_provider())
    return providers[0].label if providers else "single sign-on"


def password_refusal(user) -> str | None:
    """The password gate kms.auth asks: SSO-only mode turns passwords off except for break-glass admins."""
    return services.password_refusal(user, primary_label())


def invite_note(user) -> Markup:
    """On invite pages: in SSO-only mode, the person signs in with the provider instead of setting a password."""
    if not password_refusal(user):
        return Markup("")
    return Markup(render_template("sso/_invite_note.html", user=user, label=primary_label()))
