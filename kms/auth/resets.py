"""Password reset by e-mail ("Forgot your password?"): one-time, expiring links, rate-limited.

The answer to a request never tells whether the address has an account. Only the token's hash is stored. A link
is refused, each time with a clear message, when it is unknown, used, expired, or when the password changed
after it was sent (the link is tied to a fingerprint of the password it replaces).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select

from kms.auth.models import PasswordReset, User, new_session_token
from kms.auth.services import find_user_by_email, normalise_email, set_password_hash
from kms.errors import NotFound, TooManyAttempts
from kms.extensions import db

CLIENT_FACTOR = 10  # one client address may ask this many times as often as one e-mail address
WINDOW = timedelta(hours=1)


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def _fingerprint(user: User) -> str:
    return _digest(f"password:{user.password_hash or ''}")


@dataclass(frozen=True)
class ResetRequest:
    """What a reset request produced: for a known, active address under its limit, the user and the token
    to put in the e-mail; otherwise both None (and the page answers exactly the same)."""

    user: User | None
    token: str | None
    expires_at: datetime | None


def request_reset(
    email: str, *, address: str, now: datetime, minutes: int = 60, per_hour: int = 3
) -> ResetRequest:
    """Record a reset request and, for an active account within the limits, make a one-time link token.

    Limits per hour: `per_hour` e-mails per address asked for (further requests get the same answer and no
    e-mail) and `per_hour * CLIENT_FACTOR` requests per client address (TooManyAttempts, whatever the address)."""
    email = normalise_email(email)
    email_hash, address_hash = _digest(f"email:{email}"), _digest(f"client:{address}")
    since = now - WINDOW
    from_client = db.session.scalar(
        select(func.count(PasswordReset.id)).where(
            PasswordReset.address_hash == address_hash, PasswordReset.created_at > since
        )
    )
    if from_client >= per_hour * CLIENT_FACTOR:
        raise TooManyAttempts(
            "Too many password-reset requests from here. Try again in an hour.", retry_after=3600
        )
    sent_to_address = db.session.scalar(
        select(func.count(PasswordReset.id)).where(
            PasswordReset.email_hash == email_hash,
            PasswordReset.created_at > since,
            PasswordReset.token_hash.is_not(None),
        )
    )
    row = PasswordReset(email_hash=email_hash, address_hash=address_hash, created_at=now)
    db.session.add(row)
    user = find_user_by_email(email)
    if user is None or not user.active or sent_to_address >= per_hour:
        db.session.flush()
        return ResetRequest(None, None, None)
    token = secrets.token_urlsafe(32)
    row.user_id = user.id
    row.token_hash = _digest(token)
    row.password_fingerprint = _fingerprint(user)
    row.expires_at = now + timedelta(minutes=minutes)
    db.session.flush()
    return ResetRequest(user, token, row.expires_at)


def user_for_reset(token: str, *, now: datetime) -> User:
    """The user a reset link belongs to, if it may still be used; NotFound with the reason otherwise."""
    row = db.session.scalar(select(PasswordReset).where(PasswordReset.token_hash == _digest(token or "")))
    user = db.session.get(User, row.user_id) if row is not None and row.user_id else None
    if row is None or user is None or not user.active:
        raise NotFound("This password-reset link is not valid. Ask for a new one from the login page.")
    if row.used_at is not None:
        raise NotFound("This password-reset link was already used. Ask for a new one if you need it.")
    if row.expires_at is None or row.expires_at < now:
        raise NotFound("This password-reset link has expired. Ask for a new one from the login page.")
    if row.password_fingerprint != _fingerprint(user):
        raise NotFound(
            "Your password was changed after this link was sent, so it no longer works. "
            "Ask for a new one if you need it."
        )
    return user


def reset_password(token: str, password: str, *, now: datetime) -> User:
    """Set a new password through a reset link: the link is used up, every session of the user ends, and any
    other outstanding link (and invite) stops working (their password fingerprint no longer matches)."""
    user = user_for_reset(token, now=now)
    set_password_hash(user, password)
    row = db.session.scalar(select(PasswordReset).where(PasswordReset.token_hash == _digest(token)))
    row.used_at = now
    user.session_token = new_session_token()
    user.invite_token_hash = None
    user.invite_expires_at = None
    db.session.flush()
    return user
