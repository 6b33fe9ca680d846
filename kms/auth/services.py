"""Accounts: first-run setup, invites, login with throttling, passwords, roles and API tokens."""

from __future__ import annotations

import hashlib
import math
import re
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import bindparam, func, select
from sqlalchemy.exc import IntegrityError

from kms.auth.models import (
    ApiToken,
    KnownLoginClient,
    LoginThrottle,
    Role,
    SessionUser,
    User,
    new_session_token,
)
from kms.auth.system import CREATE_USERS, SystemActor, is_system
from kms.errors import Forbidden, Invalid, NotFound, TooManyAttempts
from kms.extensions import db, utcnow
from kms.timezones import known_zones
from kms.validate import clean_text

# OWASP's Argon2id minimum is 19 MiB, t=2, p=1; a little above it costs ~40 ms here.
hasher = PasswordHasher(time_cost=2, memory_cost=24 * 1024, parallelism=1)
# Checked instead when no account has the email, so that a wrong email costs what a wrong password does. A
# hash made once, with the hasher's parameters (a test keeps them in step), not at every start-up.
DUMMY_HASH = (
    "$argon2id$v=19$m=24576,t=2,p=1$RK1Of/KuVteeg24UKZw3iA$KbcNyLAotMBkHGXNyTPdOn9TT4X+rju7minh4vAWDjU"
)
MIN_PASSWORD = 10
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
LOGIN_FAILED = "Email or password is not correct."


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def normalise_email(email: str) -> str:
    """An email address as kms stores and compares it (trimmed, lower case)."""
    return (email or "").strip().lower()


def check_password_strength(password: str) -> None:
    """Refuse a password shorter than MIN_PASSWORD or absurdly long, naming the field."""
    if len(password or "") < MIN_PASSWORD:
        raise Invalid(f"Password must be at least {MIN_PASSWORD} characters.", field="password")
    if len(password) > 1024:
        raise Invalid("Password must be at most 1024 characters.", field="password")


def _validate_user_fields(email: str, name: str, role: str | Role, time_zone: str) -> tuple[str, str, Role]:
    email = normalise_email(email)
    if not EMAIL_RE.match(email) or len(email) > 254:
        raise Invalid("Enter a valid email address.", field="email")
    name = clean_text(name or "").strip()
    if not name or len(name) > 120:
        raise Invalid("Name is required (at most 120 characters).", field="name")
    try:
        role = Role(role)
    except ValueError:
        raise Invalid(
            f"Unknown role {role!r}; choose one of {', '.join(r.value for r in Role)}.", field="role"
        ) from None
    if time_zone not in known_zones():
        raise Invalid(f"Unknown time zone {time_zone!r}.", field="time_zone")
    if db.session.scalar(select(User.id).where(User.email == email)) is not None:
        raise Invalid("A user with this email already exists.", field="email")
    return email, name, role


def user_count() -> int:
    """How many accounts exist (none: the first-run setup page is open)."""
    return db.session.scalar(select(func.count(User.id))) or 0


def get_user(user_id: int) -> User:
    """The account with this id, for admins' pages; NotFound when there is none."""
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound("No such user.")
    return user


def find_user_by_email(email: str) -> User | None:
    """The account with this email address (any case), or None."""
    return db.session.scalar(select(User).where(User.email == normalise_email(email)))


def list_users() -> list[User]:
    """Every account for the admins' user list, active ones first, by name."""
    return list(db.session.scalars(select(User).order_by(User.active.desc(), User.name)))


def set_password_hash(user: User, password: str) -> None:
    """Check a new password's strength and store only its Argon2 hash on the user."""
    check_password_strength(password)
    user.password_hash = hasher.hash(password)


def create_first_admin(email: str, name: str, password: str, time_zone: str = "UTC") -> User:
    """Create the first admin; refused once any user exists (the setup page is gone then)."""
    if user_count():
        raise Forbidden("Setup is already done.")
    email, name, role = _validate_user_fields(email, name, Role.ADMIN, time_zone)
    user = User(email=email, name=name, role=role, time_zone=time_zone)
    set_password_hash(user, password)
    db.session.add(user)
    db.session.flush()
    return user


def create_user(
    email: str,
    name: str,
    role: str,
    *,
    actor: User | SystemActor,
    password: str | None = None,
    team: str = "",
    start_date: date | None = None,
    time_zone: str = "UTC",
    invite_hours: int = 72,
) -> tuple[User, str | None]:
    """An admin (or the system actor: CLI, demo, import) creates a user; without a password an invite token is
    made. Returns (user, invite token or None)."""
    if not (is_system(actor, CREATE_USERS) or actor.role == Role.ADMIN):
        raise Forbidden("Only admins create users.")
    return _add_user(
        email,
        name,
        role,
        password=password,
        team=team,
        start_date=start_date,
        time_zone=time_zone,
        invite_hours=invite_hours,
    )


HIRING_ROLES = frozenset({Role.ADMIN, Role.MANAGER})


def create_hired_account(
    email: str,
    name: str,
    *,
    actor: User,
    team: str = "",
    start_date: date | None = None,
    time_zone: str = "UTC",
    invite_hours: int = 72,
) -> tuple[User, str]:
    """A lead (manager or admin) creates the member account of the person they hire, with an invite link;
    returns (user, invite token). Never another role, never with a password."""
    if getattr(actor, "role", None) not in HIRING_ROLES:
        raise Forbidden("Only managers and admins create the account of someone they hire.")
    return _add_user(
        email,
        name,
        Role.MEMBER,
        password=None,
        team=team,
        start_date=start_date,
        time_zone=time_zone,
        invite_hours=invite_hours,
    )


def _add_user(
    email: str,
    name: str,
    role: str | Role,
    *,
    password: str | None,
    team: str,
    start_date: date | None,
    time_zone: str,
    invite_hours: int,
) -> tuple[User, str | None]:
    email, name, role = _validate_user_fields(email, name, role, time_zone)
    user = User(
        email=email,
        name=name,
        role=role,
        team=clean_text(team or "").strip()[:80],
        start_date=start_date,
        time_zone=time_zone,
    )
    token = None
    if password is not None:
        set_password_hash(user, password)
    else:
        token = _issue_invite(user, invite_hours)
    db.session.add(user)
    db.session.flush()
    return user, token


def _issue_invite(user: User, hours: int) -> str:
    token = secrets.token_urlsafe(32)
    user.invite_token_hash = _digest(token)
    user.invite_expires_at = utcnow() + timedelta(hours=hours)
    return token


def reissue_invite(user_id: int, *, actor: User, hours: int = 72) -> str:
    """A new set-password link for a user; any older link stops working."""
    user = get_user(user_id)
    if not user.active:
        raise Invalid("Reactivate the user before sending a new link.")
    token = _issue_invite(user, hours)
    db.session.flush()
    return token


def user_for_invite(token: str) -> User:
    """The user a set-password link belongs to, if the link is unused and not expired."""
    user = db.session.scalar(select(User).where(User.invite_token_hash == _digest(token or "")))
    if user is None or not user.active:
        raise NotFound("This link is not valid. Ask an admin for a new one.")
    if user.invite_expires_at is None or user.invite_expires_at < utcnow():
        raise NotFound("This link has expired. Ask an admin for a new one.")
    return user


def accept_invite(token: str, password: str) -> User:
    """Set the password from an invite link; the link then stops working."""
    user = user_for_invite(token)
    set_password_hash(user, password)
    user.invite_token_hash = None
    user.invite_expires_at = None
    user.session_token = new_session_token()
    db.session.flush()
    return user


@dataclass(frozen=True)
class LoginPolicy:
    """How failed logins slow down the next attempts (KMS_LOGIN_MAX_FAILURES, KMS_LOGIN_LOCK_MINUTES).

    After `free_failures` failures on one counter, every further attempt waits: 15 s, then twice as long after
    each further failure, up to `longest_wait_minutes`. Counts are forgotten `longest_wait_minutes` after the
    last wait ended (or the first failure, when there was no wait).
    """

    free_failures: int = 5
    longest_wait_minutes: int = 15
    first_wait_seconds: int = 15
    account_factor: int = 2  # an account, counted over every unknown client, allows twice as many failures
    address_factor: int = 5  # an address, counted over every account (an office behind NAT), five times


def new_device_token() -> str:
    """A random identifier for one browser, kept in its device cookie."""
    return secrets.token_urlsafe(24)


def _throttle_row(key: str) -> LoginThrottle:
    """A failure counter, locked until commit so concurrent logins (other processes too) queue up."""
    locked = select(LoginThrottle).where(LoginThrottle.key == key).with_for_update()
    row = db.session.scalar(locked)
    if row is None:
        try:
            with db.session.begin_nested():
                row = LoginThrottle(key=key, failures=0, window_started_at=utcnow())
                db.session.add(row)
        except IntegrityError:  # another process created it first; use theirs
            row = db.session.scalar(locked.execution_options(populate_existing=True))
    return row


def _client_keys(address: str, device: str | None) -> list[str]:
    """How a client is recognised: its device cookie first, then its address."""
    keys = [_digest(f"device:{device}")] if device else []
    return keys + ([_digest(f"address:{address}")] if address else [])


def _known_client(user: User | None, address: str, device: str | None) -> str | None:
    """The key of the device cookie or address this account has logged in from before, or None."""
    if user is None:
        return None
    known = set(
        db.session.scalars(
            select(KnownLoginClient.key_hash).where(
                KnownLoginClient.user_id == user.id,
                KnownLoginClient.key_hash.in_(_client_keys(address, device)),
            )
        )
    )
    return next((key for key in _client_keys(address, device) if key in known), None)


def _counters(email: str, address: str, known: str | None, policy: LoginPolicy) -> dict[str, tuple]:
    """The counters this attempt answers to, as {kind: (row, free failures)}, locked in a fixed order.

    A known client answers only for its own failures on this account ("pair"). Any other client also answers
    for the account's failures from every unknown client ("account") and for its address's failures on every
    account ("address")."""
    client = known or _digest(f"address:{address}")
    wanted = {"pair": (_digest(f"pair:{email}|{client}"), policy.free_failures)}
    if known is None:
        wanted["account"] = (_digest(f"account:{email}"), policy.free_failures * policy.account_factor)
        wanted["address"] = (_digest(f"from:{address}"), policy.free_failures * policy.address_factor)
    rows = {key: _throttle_row(key) for key, _ in sorted(wanted.values())}  # one lock order: no deadlocks
    return {kind: (rows[key], free) for kind, (key, free) in wanted.items()}


def _forget_old_failures(row: LoginThrottle, now, policy: LoginPolicy) -> None:
    quiet_since = row.locked_until or row.window_started_at
    if now - quiet_since > timedelta(minutes=policy.longest_wait_minutes):
        row.failures, row.window_started_at, row.locked_until = 0, now, None


def _count_failure(row: LoginThrottle, free: int, now, policy: LoginPolicy) -> None:
    row.failures += 1
    if row.failures >= free:
        wait = policy.first_wait_seconds * 2 ** min(row.failures - free, 20)
        row.locked_until = now + min(timedelta(seconds=wait), timedelta(minutes=policy.longest_wait_minutes))


def _remember_client(user: User, address: str, device: str | None, now) -> None:
    for key in _client_keys(address, device):
        row = db.session.scalar(
            select(KnownLoginClient).where(
                KnownLoginClient.user_id == user.id, KnownLoginClient.key_hash == key
            )
        )
        if row is not None:
            row.last_login_at = now
            continue
        try:
            with db.session.begin_nested():
                db.session.add(KnownLoginClient(user_id=user.id, key_hash=key, last_login_at=now))
        except IntegrityError:  # the same browser logged in twice at once: one row is enough
            pass


def authenticate(
    email: str,
    password: str,
    *,
    address: str = "",
    device: str | None = None,
    policy: LoginPolicy = LoginPolicy(),
) -> User:
    """Check a login. The same error for unknown email and wrong password. Failures slow down the next
    attempts (growing waits, see LoginPolicy) per account and client, per account and per address, counted in
    the database so every server process shares them; they never lock out a client (an address, or a browser
    with its device cookie) that has logged into the account before. On success that client becomes known.
    A refusal is raised after the failure is counted: the caller commits its unit of work before showing it."""
    email = normalise_email(email)
    now = utcnow()
    user = find_user_by_email(email)
    counters = _counters(email, address, _known_client(user, address, device), policy)
    for row, _ in counters.values():
        _forget_old_failures(row, now, policy)
    waits = [row.locked_until for row, _ in counters.values() if row.locked_until and row.locked_until > now]
    if waits:
        retry = max(1, math.ceil((max(waits) - now).total_seconds()))
        db.session.flush()
        raise TooManyAttempts(
            f"Too many failed logins. Wait {_duration(retry)} and try again.", retry_after=retry
        )
    ok = False
    try:
        ok = hasher.verify(user.password_hash if user and user.password_hash else DUMMY_HASH, password or "")
    except (VerificationError, InvalidHashError):
        ok = False
    if not (ok and user is not None and user.password_hash and user.active):
        for row, free in counters.values():
            _count_failure(row, free, now, policy)
        db.session.flush()
        raise Invalid(LOGIN_FAILED)
    if hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hasher.hash(password)
    for kind in ("pair", "account"):  # the account's counts start over; the address's stay
        if kind in counters:
            db.session.delete(counters[kind][0])
    _remember_client(user, address, device, now)
    user.last_login_at = now
    db.session.flush()
    return user


def _duration(seconds: int) -> str:
    if seconds < 120:
        return f"{seconds} seconds"
    return f"{-(-seconds // 60)} minutes"


# Every logged-in request runs this first: a Core statement on the session's connection, its row kept as a
# SessionUser. Through the ORM (a mapped User) the same statement cost about 70 us more per page.
_USERS = User.__table__
_USER_BY_ID = select(_USERS).where(_USERS.c.id == bindparam("user_id"))


def user_statement(facts: dict[str, Callable[[Any], Any]]):
    """The loader's statement: the user's row, and beside it one column per fact (a feature's per-user
    question asked on every page, such as "does the Hiring menu show?"), so a page costs no query per fact.
    `facts` maps a name to a function of the users table giving a correlated SQL expression."""
    return select(_USERS, *(make(_USERS).label(f"fact_{n}") for n, make in enumerate(facts.values()))).where(
        _USERS.c.id == bindparam("user_id")
    )


def load_user(login_id: str, statement=None, fact_names: Sequence[str] = ()) -> SessionUser | None:
    """Flask-Login's loader: the id carries the session token, so a rotated token ends the session.
    With a statement from user_statement, the facts' values are kept on the user (read with user_fact)."""
    user_id, _, token = (login_id or "").partition(":")
    if not user_id.isdigit() or not token:
        return None
    connection = db.session.connection()
    row = connection.execute(statement if statement is not None else _USER_BY_ID, {"user_id": int(user_id)})
    row = row.one_or_none()
    if row is None or not row.active or not secrets.compare_digest(row.session_token, token):
        return None
    values = row._asdict()
    facts = {name: values.pop(f"fact_{n}") for n, name in enumerate(fact_names)}
    return SessionUser(values, facts)


def user_fact(user, name: str, ask: Callable[[], Any]) -> Any:
    """A fact the loader read with the user (this request's value), else ask() now (a user loaded otherwise)."""
    facts = getattr(user, "_kms_facts", None)
    if facts is not None and name in facts:
        return facts[name]
    return ask()


def end_all_sessions(user: User) -> None:
    """Log the user out everywhere (sessions and remember-me cookies)."""
    db.session.get(User, user.id).session_token = new_session_token()
    db.session.flush()


def change_password(user: User, current_password: str, new_password: str) -> User:
    """Change one's own password; ends every other session of this user."""
    user = db.session.get(User, user.id)
    try:
        hasher.verify(user.password_hash or DUMMY_HASH, current_password or "")
    except (VerificationError, InvalidHashError):
        raise Invalid("Your current password is not correct.", field="current_password") from None
    set_password_hash(user, new_password)
    user.session_token = new_session_token()
    db.session.flush()
    return user


def update_profile(user: User, *, name: str, time_zone: str) -> User:
    """A person changes their own display name and time zone."""
    name = clean_text(name or "").strip()
    if not name or len(name) > 120:
        raise Invalid("Name is required (at most 120 characters).", field="name")
    if time_zone not in known_zones():
        raise Invalid(f"Unknown time zone {time_zone!r}.", field="time_zone")
    user = db.session.get(User, user.id)
    user.name, user.time_zone = name, time_zone
    db.session.flush()
    return user


def update_user(
    user_id: int, *, actor: User, role: str, team: str, start_date: date | None, active: bool
) -> User:
    """Admins change role, team, start date and the active flag; deactivating ends the user's sessions."""
    if actor.role != Role.ADMIN:
        raise Forbidden("Only admins change users.")
    try:
        role = Role(role)
    except ValueError:
        raise Invalid(f"Unknown role {role!r}.", field="role") from None
    user = get_user(user_id)
    if user.id == actor.id and (role != Role.ADMIN or not active):
        raise Invalid("You cannot remove your own admin role or deactivate yourself.")
    if user.active and not active:
        user.session_token = new_session_token()
        for token in user.tokens:
            token.revoked_at = token.revoked_at or utcnow()
    user.role, user.team, user.start_date, user.active = role, (team or "").strip()[:80], start_date, active
    db.session.flush()
    return user


def create_token(user: User, name: str) -> tuple[ApiToken, str]:
    """A personal API token; the secret is returned once and only its hash is stored."""
    name = (name or "").strip()
    if not name or len(name) > 80:
        raise Invalid("Give the token a name (at most 80 characters).", field="name")
    secret = "kms_" + secrets.token_urlsafe(32)
    token = ApiToken(user_id=user.id, name=name, token_hash=_digest(secret), prefix=secret[:10])
    db.session.add(token)
    db.session.flush()
    return token, secret


def list_tokens(user: User) -> list[ApiToken]:
    """A person's API tokens, newest first (never the secrets)."""
    return list(
        db.session.scalars(
            select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.created_at.desc())
        )
    )


def revoke_token(token_id: int, *, actor: User) -> None:
    """A person (or an admin) stops an API token working; someone else's token is NotFound."""
    token = db.session.get(ApiToken, token_id)
    if token is None or (token.user_id != actor.id and actor.role != Role.ADMIN):
        raise NotFound("No such token.")
    token.revoked_at = token.revoked_at or utcnow()
    db.session.flush()


def user_for_api_token(secret: str) -> User | None:
    """The active user behind a bearer token, or None; records when the token was last used."""
    if not secret or not secret.startswith("kms_"):
        return None
    token = db.session.scalar(select(ApiToken).where(ApiToken.token_hash == _digest(secret)))
    if token is None or token.revoked_at is not None or not token.user.active:
        return None
    now = utcnow()
    if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=5):
        token = db.session.get(ApiToken, token.id)
        token.last_used_at = now
        db.session.flush()
    return token.user


def parse_start_date(value: str | None) -> date | None:
    """A start date typed as YYYY-MM-DD, or None when empty; Invalid naming the field otherwise."""
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise Invalid("Start date must look like 2026-12-01.", field="start_date") from None
