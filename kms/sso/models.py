"""Single sign-on: providers added by admins, linked identities, group rules and the SSO-only setting."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kms.auth.models import Role, User
from kms.extensions import UTCDateTime, db, enum_column, utcnow


class SsoProvider(db.Model):
    """An OpenID Connect provider added in the admin settings (the one from KMS_OIDC_* is not stored)."""

    __tablename__ = "sso_providers"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(40), unique=True)  # in the URL: /login/sso/<slug>
    label: Mapped[str] = mapped_column(String(80))
    issuer: Mapped[str] = mapped_column(String(500))
    client_id: Mapped[str] = mapped_column(String(255))
    client_secret: Mapped[str] = mapped_column(Text)  # sealed (kms.sealing); "" for a public client
    scopes: Mapped[str] = mapped_column(String(255), default="openid email profile")
    groups_claim: Mapped[str] = mapped_column(String(80), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SsoIdentity(db.Model):
    """A kms account as one provider knows it: the provider's subject identifier, stored at the first login."""

    __tablename__ = "sso_identities"
    __table_args__ = (UniqueConstraint("provider", "subject"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    provider: Mapped[str] = mapped_column(String(40))
    subject: Mapped[str] = mapped_column(String(255))
    linked_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()


class SsoGroupRule(db.Model):
    """Members of the provider group `group_name` get `role` and `team` at every SSO login."""

    __tablename__ = "sso_group_rules"

    id: Mapped[int] = mapped_column(primary_key=True)
    group_name: Mapped[str] = mapped_column(String(200), unique=True)
    role: Mapped[Role] = mapped_column(enum_column(Role))
    team: Mapped[str] = mapped_column(String(80), default="")


class SsoSettings(db.Model):
    """The one row of SSO settings (id 1): SSO-only mode, its break-glass accounts, what unmapped users get."""

    __tablename__ = "sso_settings"

    id: Mapped[int] = mapped_column(primary_key=True)
    sso_only: Mapped[bool] = mapped_column(default=False)
    break_glass_emails: Mapped[str] = mapped_column(Text, default="")  # one address a line
    unmapped_role: Mapped[str] = mapped_column(String(20), default="member")  # a role, or "deny"
