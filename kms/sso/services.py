"""Single sign-on rules: which providers exist, who an ID token's person is in kms, and SSO-only mode.

The OpenID Connect protocol itself (discovery, PKCE, state, nonce, the ID token's signature and claims) is
Authlib's, in kms.sso.client; these functions get the ID token's claims only after Authlib has checked them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from sqlalchemy import select

from kms import sealing
from kms.auth import services as accounts
from kms.auth.models import Role, User
from kms.errors import Forbidden, Invalid, NotFound
from kms.extensions import db, utcnow
from kms.sso.models import SsoGroupRule, SsoIdentity, SsoProvider, SsoSettings
from kms.validate import clean_text

ENV_SLUG = "default"
DEFAULT_SCOPES = "openid email profile"
SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")
# Client secrets are stored sealed with the site's key under this label (kms.sealing).
SECRET_PURPOSE = b"kms sso client secret v1\x00"
UNMAPPED_CHOICES = ("member", "author", "manager", "deny")
RANK = {Role.MEMBER: 0, Role.AUTHOR: 1, Role.MANAGER: 2, Role.ADMIN: 3}


@dataclass(frozen=True)
class ProviderConfig:
    """One OpenID Connect provider, from the environment (from_env) or the admin settings."""

    slug: str
    label: str
    issuer: str
    client_id: str
    client_secret: str  # as the provider gave it (KMS_OIDC_CLIENT_SECRET); empty for an admin-added provider
    scopes: str = DEFAULT_SCOPES
    groups_claim: str = ""
    from_env: bool = False
    sealed_secret: str = (
        ""  # an admin-added provider's secret, sealed (kms.sealing): open it with secret_of()
    )

    @property
    def metadata_url(self) -> str:
        return self.issuer.rstrip("/") + "/.well-known/openid-configuration"


def env_provider(settings: dict) -> ProviderConfig | None:
    """The provider of the KMS_OIDC_* settings, or None when no issuer and client id are set."""
    issuer, client_id = (
        settings.get("KMS_OIDC_ISSUER", "").strip(),
        settings.get("KMS_OIDC_CLIENT_ID", "").strip(),
    )
    if not issuer or not client_id:
        return None
    return ProviderConfig(
        slug=ENV_SLUG,
        label=settings.get("KMS_OIDC_LABEL", "").strip() or "single sign-on",
        issuer=issuer,
        client_id=client_id,
        client_secret=settings.get("KMS_OIDC_CLIENT_SECRET", ""),
        scopes=settings.get("KMS_OIDC_SCOPES", "").strip() or DEFAULT_SCOPES,
        groups_claim=settings.get("KMS_OIDC_GROUPS_CLAIM", "").strip(),
        from_env=True,
    )


def _config(row: SsoProvider) -> ProviderConfig:
    return ProviderConfig(
        slug=row.slug,
        label=row.label,
        issuer=row.issuer,
        client_id=row.client_id,
        client_secret="",
        sealed_secret=row.client_secret,
        scopes=row.scopes or DEFAULT_SCOPES,
        groups_claim=row.groups_claim or "",
    )


def secret_of(provider: ProviderConfig, *, site_key: str | bytes) -> str | None:
    """The provider's client secret in clear ("" for a public client); None when an admin-added provider's
    secret was sealed under another site key (the admin page asks for it again)."""
    if provider.from_env or not provider.sealed_secret:
        return provider.client_secret
    return sealing.unseal(provider.sealed_secret, site_key=site_key, purpose=SECRET_PURPOSE)


def secret_readable(row: SsoProvider, *, site_key: str | bytes) -> bool:
    """Can the site open this stored provider's client secret? (False after the site's secret key changed.)"""
    return (
        not row.client_secret
        or sealing.unseal(row.client_secret, site_key=site_key, purpose=SECRET_PURPOSE) is not None
    )


def list_providers(env: ProviderConfig | None) -> list[ProviderConfig]:
    """Every provider a person can sign in with: the environment's first, then the admin-added ones."""
    rows = db.session.scalars(select(SsoProvider).order_by(SsoProvider.label))
    return ([env] if env else []) + [_config(row) for row in rows]


def get_provider(slug: str, env: ProviderConfig | None) -> ProviderConfig:
    """The provider with this slug, or NotFound."""
    for provider in list_providers(env):
        if provider.slug == slug:
            return provider
    raise NotFound("No such sign-in provider.")


def list_provider_rows() -> list[SsoProvider]:
    return list(db.session.scalars(select(SsoProvider).order_by(SsoProvider.label)))


def _require_admin(actor: User) -> None:
    if actor.role != Role.ADMIN:
        raise Forbidden("Only admins change single sign-on.")


def add_provider(
    *,
    slug: str,
    label: str,
    issuer: str,
    client_id: str,
    client_secret: str,
    scopes: str,
    groups_claim: str,
    site_key: str | bytes,
    actor: User,
) -> SsoProvider:
    """Add an OpenID Connect provider; its discovery document is read at the first sign-in."""
    _require_admin(actor)
    slug = (slug or "").strip().lower()
    if not SLUG_RE.match(slug) or slug == ENV_SLUG:
        raise Invalid(
            f"The short name must be lower-case letters, digits and dashes (at most 40), and not "
            f"{ENV_SLUG!r}, which the environment's provider uses.",
            field="slug",
        )
    if db.session.scalar(select(SsoProvider.id).where(SsoProvider.slug == slug)) is not None:
        raise Invalid(f"A provider named {slug!r} exists already.", field="slug")
    issuer = (issuer or "").strip()
    parts = urlsplit(issuer)
    if parts.scheme not in {"https", "http"} or not parts.netloc or parts.query or parts.fragment:
        raise Invalid(
            "The issuer must be the provider's https:// address, e.g. https://login.example.com.",
            field="issuer",
        )
    scopes = " ".join((scopes or DEFAULT_SCOPES).split())
    if "openid" not in scopes.split():
        raise Invalid("The scopes must include openid.", field="scopes")
    provider = SsoProvider(
        slug=slug,
        label=clean_text(label or "").strip()[:80] or slug,
        issuer=issuer,
        client_id=(client_id or "").strip(),
        client_secret=sealing.seal(client_secret, site_key=site_key, purpose=SECRET_PURPOSE)
        if client_secret
        else "",
        scopes=scopes,
        groups_claim=(groups_claim or "").strip()[:80],
    )
    if not provider.client_id:
        raise Invalid("Enter the client id the provider gave kms.", field="client_id")
    db.session.add(provider)
    db.session.flush()
    return provider


def delete_provider(provider_id: int, *, actor: User) -> None:
    """Remove an admin-added provider; accounts linked through it keep working through other logins."""
    _require_admin(actor)
    row = db.session.get(SsoProvider, provider_id)
    if row is None:
        raise NotFound("No such provider.")
    db.session.delete(row)
    db.session.flush()


def get_settings() -> SsoSettings:
    """The SSO settings row (defaults until an admin saves them)."""
    return db.session.get(SsoSettings, 1) or SsoSettings(
        id=1, sso_only=False, break_glass_emails="", unmapped_role="member"
    )


def break_glass_emails(settings: SsoSettings) -> set[str]:
    return {accounts.normalise_email(line) for line in (settings.break_glass_emails or "").split() if line}


def update_settings(
    *, sso_only: bool, break_glass: str, unmapped_role: str, providers: int, actor: User
) -> SsoSettings:
    """Save SSO-only mode, its break-glass admins (one e-mail a line) and what users without a mapped group get."""
    _require_admin(actor)
    if unmapped_role not in UNMAPPED_CHOICES:
        raise Invalid(
            f"Choose one of {', '.join(UNMAPPED_CHOICES)} for users in no mapped group.",
            field="unmapped_role",
        )
    emails = sorted({accounts.normalise_email(e) for e in re.split(r"[\s,;]+", break_glass or "") if e})
    for email in emails:
        user = accounts.find_user_by_email(email)
        if user is None or user.role != Role.ADMIN or not user.active or not user.has_password:
            raise Invalid(
                f"{email} is not an active admin with a password, so it cannot be a break-glass account.",
                field="break_glass",
            )
    if sso_only and not providers:
        raise Invalid("Set up a sign-in provider before turning password logins off.", field="sso_only")
    if sso_only and not emails:
        raise Invalid(
            "Name at least one break-glass admin, so someone can log in when the provider is down.",
            field="break_glass",
        )
    settings = db.session.get(SsoSettings, 1)
    if settings is None:
        settings = SsoSettings(id=1)
        db.session.add(settings)
    settings.sso_only, settings.break_glass_emails, settings.unmapped_role = (
        sso_only,
        "\n".join(emails),
        unmapped_role,
    )
    db.session.flush()
    return settings


def password_refusal(user: User, provider_label: str) -> str | None:
    """Why this user may not use a password (SSO-only mode and not a break-glass admin), or None."""
    settings = get_settings()
    if not settings.sso_only:
        return None
    if user.role == Role.ADMIN and accounts.normalise_email(user.email) in break_glass_emails(settings):
        return None
    return f"Password login is turned off: sign in with {provider_label}."


def list_rules() -> list[SsoGroupRule]:
    return list(db.session.scalars(select(SsoGroupRule).order_by(SsoGroupRule.group_name)))


def add_rule(*, group_name: str, role: str, team: str, actor: User) -> SsoGroupRule:
    """Map a provider group to a kms role and (optionally) a team."""
    _require_admin(actor)
    group_name = clean_text(group_name or "").strip()
    if not group_name or len(group_name) > 200:
        raise Invalid(
            "Enter the group's name as the provider sends it (at most 200 characters).", field="group_name"
        )
    try:
        role = Role(role)
    except ValueError:
        raise Invalid(f"Unknown role {role!r}.", field="role") from None
    if db.session.scalar(select(SsoGroupRule.id).where(SsoGroupRule.group_name == group_name)) is not None:
        raise Invalid(
            f"The group {group_name!r} is mapped already; remove that rule first.", field="group_name"
        )
    rule = SsoGroupRule(group_name=group_name, role=role, team=clean_text(team or "").strip()[:80])
    db.session.add(rule)
    db.session.flush()
    return rule


def delete_rule(rule_id: int, *, actor: User) -> None:
    _require_admin(actor)
    rule = db.session.get(SsoGroupRule, rule_id)
    if rule is None:
        raise NotFound("No such group rule.")
    db.session.delete(rule)
    db.session.flush()


def _groups(claims: dict, claim: str) -> list[str]:
    value = claims.get(claim) if claim else None
    if isinstance(value, str):
        return [value]
    return [str(item) for item in value] if isinstance(value, list) else []


def mapped_role(groups: list[str]) -> tuple[Role, str] | None:
    """The highest role any of these groups maps to, with that rule's team; None when no group is mapped."""
    rules = [rule for rule in list_rules() if rule.group_name in set(groups)]
    if not rules:
        return None
    best = max(rules, key=lambda rule: (RANK[rule.role], bool(rule.team)))
    return best.role, best.team


def _verified(claims: dict) -> bool:
    value = claims.get("email_verified")
    return value is True or (isinstance(value, str) and value.lower() == "true")


def _role_at_login(provider: ProviderConfig, claims: dict) -> tuple[Role, str | None] | None:
    """(role, team or None to keep) from the group rules; None when the person is refused."""
    settings = get_settings()
    mapped = mapped_role(_groups(claims, provider.groups_claim)) if provider.groups_claim else None
    if mapped:
        return mapped[0], mapped[1] or None
    if settings.unmapped_role == "deny":
        return None
    return Role(settings.unmapped_role), None


def _link_or_create(provider: ProviderConfig, claims: dict, subject: str) -> User:
    """The account for a subject seen for the first time: the same verified e-mail, or a new account."""
    email = accounts.normalise_email(claims.get("email") or "")
    if not email:
        raise Forbidden(
            f"{provider.label} did not send an e-mail address, so kms cannot find or create your "
            f"account. Ask your admin to add the email scope."
        )
    user = accounts.find_user_by_email(email)
    if user is not None and not _verified(claims):
        raise Forbidden(
            f"{provider.label} does not say that {email} is verified, so kms will not link it to the "
            f"existing account with that address. Ask an admin."
        )
    if user is None:
        name = clean_text(str(claims.get("name") or "")).strip()[:120] or email.split("@")[0]
        if not accounts.EMAIL_RE.match(email) or len(email) > 254:
            raise Forbidden(f"{provider.label} sent {email!r}, which is not an e-mail address kms can use.")
        user = User(email=email, name=name, role=Role.MEMBER, time_zone="UTC")  # no password: SSO only
        db.session.add(user)
        db.session.flush()
    db.session.add(SsoIdentity(user_id=user.id, provider=provider.slug, subject=subject))
    return user


def sign_in(provider: ProviderConfig, claims: dict) -> User:
    """The kms user for checked ID-token claims: matched by (provider, subject), else linked by verified
    e-mail, else created; the group rules set role and team at every login. Raises Forbidden with the reason."""
    subject = str(claims.get("sub") or "")
    if not subject or len(subject) > 255:
        raise Forbidden(f"{provider.label} sent no usable subject identifier.")
    identity = db.session.scalar(
        select(SsoIdentity).where(SsoIdentity.provider == provider.slug, SsoIdentity.subject == subject)
    )
    is_new = identity is None and accounts.find_user_by_email(claims.get("email") or "") is None
    role = _role_at_login(provider, claims)
    if role is None and (is_new or provider.groups_claim):
        raise Forbidden("Your account is in none of the groups that may use kms. Ask an admin for access.")
    user = identity.user if identity else _link_or_create(provider, claims, subject)
    if not user.active:
        raise Forbidden("This kms account is deactivated. Ask an admin.")
    if role is not None and (is_new or provider.groups_claim):
        user.role = role[0]
        user.team = role[1] if role[1] is not None else user.team
    now = utcnow()
    if identity is not None:
        identity.last_login_at = now
    user.last_login_at = now
    db.session.flush()
    return user


def identity_of(user: User, provider: ProviderConfig) -> SsoIdentity | None:
    """The user's linked identity at this provider, if any."""
    return db.session.scalar(
        select(SsoIdentity).where(SsoIdentity.user_id == user.id, SsoIdentity.provider == provider.slug)
    )


def linked_providers(user: User, env: ProviderConfig | None) -> list[ProviderConfig]:
    """The providers this user has signed in with."""
    slugs = set(db.session.scalars(select(SsoIdentity.provider).where(SsoIdentity.user_id == user.id)))
    return [provider for provider in list_providers(env) if provider.slug in slugs]
