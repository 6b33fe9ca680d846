"""Users, roles, login throttles, known login clients and personal API tokens."""

from __future__ import annotations

import enum
import secrets
from datetime import date, datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kms.extensions import UTCDateTime, db, enum_column, utcnow


class Role(enum.StrEnum):
    ADMIN = "admin"
    MANAGER = "manager"
    AUTHOR = "author"
    MEMBER = "member"

    @property
    def label(self) -> str:
        return {
            "admin": "Admin",
            "manager": "Manager",
            "author": "Author (senior rep)",
            "member": "Member (rep or new hire)",
        }[self.value]


def new_session_token() -> str:
    return secrets.token_urlsafe(24)


class User(db.Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    role: Mapped[Role] = mapped_column(enum_column(Role))
    team: Mapped[str] = mapped_column(String(80), default="")
    start_date: Mapped[date | None]
    time_zone: Mapped[str] = mapped_column(String(64), default="UTC")
    active: Mapped[bool] = mapped_column(default=True)
    password_hash: Mapped[str | None] = mapped_column(String(255))
    # Part of the Flask-Login id: rotating it ends every session and remember-me cookie of this user.
    session_token: Mapped[str] = mapped_column(String(64), default=new_session_token)
    invite_token_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    invite_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    tokens: Mapped[list[ApiToken]] = relationship(back_populates="user", cascade="all, delete-orphan")

    # Flask-Login protocol
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        return f"{self.id}:{self.session_token}"

    @property
    def has_password(self) -> bool:
        return bool(self.password_hash)

    def __repr__(self) -> str:
        return f"<User {self.id} {self.email} {self.role}>"


class SessionUser:
    """The logged-in user as read for one request (kms.auth.services.load_user): the users row's values and the
    features' per-user facts, read-only. Reading it costs no ORM object, which every logged-in page would
    pay; services read what they need (id, role, name, time_zone...), and one that changes the account loads
    the row (db.session.get(User, user.id)). Equal to the User, or SessionUser, with the same id."""

    __slots__ = (*(column.key for column in User.__table__.columns), "_kms_facts")

    def __init__(self, values, facts: dict) -> None:
        for key, value in values.items():
            object.__setattr__(self, key, value)
        object.__setattr__(self, "_kms_facts", facts)

    def __setattr__(self, name, _value) -> None:
        raise AttributeError(
            f"the session's user is read-only ({name}): change the row from db.session.get(User, user.id)"
        )

    is_authenticated = True
    is_anonymous = False

    @property
    def is_active(self) -> bool:
        return self.active

    def get_id(self) -> str:
        return f"{self.id}:{self.session_token}"

    @property
    def has_password(self) -> bool:
        return bool(self.password_hash)

    def __eq__(self, other) -> bool:
        if isinstance(other, (User, SessionUser)):
            return other.id == self.id
        return NotImplemented

    def __hash__(self) -> int:
        return hash((User, self.id))

    def __repr__(self) -> str:
        return f"<SessionUser {self.id} {self.email} {self.role}>"


class LoginThrottle(db.Model):
    """Failed logins counted for one thing (an account and client pair, an account, an address), kept in the
    database so every server process sees the same count."""

    __tablename__ = "login_throttles"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256 of what is counted
    failures: Mapped[int] = mapped_column(default=0)
    window_started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)  # no attempt before this time


class KnownLoginClient(db.Model):
    """An address or a browser (its device cookie) that has logged into this account before: its attempts are
    not held back by failures that come from elsewhere."""

    __tablename__ = "login_known_clients"
    __table_args__ = (UniqueConstraint("user_id", "key_hash"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    key_hash: Mapped[str] = mapped_column(String(64))  # sha256 of "address:…" or "device:…"
    last_login_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ApiToken(db.Model):
    __tablename__ = "api_tokens"
    __table_args__ = (UniqueConstraint("token_hash"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(80))
    token_hash: Mapped[str] = mapped_column(String(64))
    prefix: Mapped[str] = mapped_column(String(16))  # shown in lists so users can tell tokens apart
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship(back_populates="tokens")

    @property
    def active(self) -> bool:
        return self.revoked_at is None


class PasswordReset(db.Model):
    """One "Forgot your password?" request: counted for rate limits, and for a known address a one-time link.

    Only the token's hash is kept. `password_fingerprint` ties the link to the password it replaces, so a
    password changed since (by the person, or by another link) makes the link useless."""

    __tablename__ = "password_resets"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    email_hash: Mapped[str] = mapped_column(String(64), index=True)  # sha256 of the address asked for
    address_hash: Mapped[str] = mapped_column(String(64), index=True)  # sha256 of the client address
    token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    password_fingerprint: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
