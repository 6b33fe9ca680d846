"""Notifying people: in-app rows and outbox e-mails written in the caller's transaction (flush only).

notify() never talks to an SMTP server: the sender (kms.notify.sender, a `kms worker` job) drains the outbox.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from sqlalchemy import select

from kms.auth.models import Role, SessionUser, User
from kms.extensions import db, utcnow
from kms.notify.kinds import KINDS, Kind
from kms.notify.models import Event, MailAttachment, MailStatus, Notification, OutgoingMessage, Preference
from kms.validate import clean_text

__all__ = ["announce", "channel_for", "notify", "preferences_for", "set_preferences"]

LEADS = frozenset({Role.ADMIN, Role.MANAGER})
TITLE_MAX = 300


def _kind(name: str) -> Kind:
    try:
        return KINDS[name]
    except KeyError:
        raise ValueError(f"unknown notification kind {name!r}; register it in kms.notify.kinds") from None


def default_channel(kind: Kind, user: User) -> str:
    """The channel a person hears `kind` on when they chose none: managers and admins may differ."""
    if kind.manager_default is not None and user.role in LEADS:
        return kind.manager_default
    return kind.default


def _chosen(user_ids: list[int], kind: str) -> dict[int, str]:
    if not user_ids:
        return {}
    rows = db.session.execute(
        select(Preference.user_id, Preference.channel).where(
            Preference.kind == kind, Preference.user_id.in_(user_ids)
        )
    )
    return dict(rows.all())


def channel_for(user: User, kind: str) -> str:
    """The channel `user` hears `kind` on: their choice, else the default; mandatory kinds always e-mail."""
    spec = _kind(kind)
    if spec.mandatory:
        return "email"
    return _chosen([user.id], kind).get(user.id) or default_channel(spec, user)


def _single_line(text: str, limit: int) -> str:
    # Titles become e-mail subjects: every run of whitespace (CR and LF included) is one space.
    return " ".join(clean_text(text or "").split())[:limit]


def _recipients(recipients) -> list[User]:
    if isinstance(recipients, (User, SessionUser)):
        recipients = [recipients]
    seen: dict[int, User] = {}
    for user in recipients:
        if user is not None and user.id not in seen:
            seen[user.id] = user
    return list(seen.values())


def _already_recorded(user_ids: list[int], kind: str, dedupe_key: str) -> set[int]:
    rows = db.session.scalars(
        select(Notification.user_id).where(
            Notification.kind == kind,
            Notification.dedupe_key == dedupe_key,
            Notification.user_id.in_(user_ids),
        )
    )
    return set(rows)


def _insert_new_notices(rows: list[dict]) -> set[int]:
    """INSERT ... ON CONFLICT DO NOTHING (the same SQL on SQLite and PostgreSQL); the user ids inserted."""
    if db.session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    statement = (
        insert(Notification)
        .on_conflict_do_nothing(index_elements=["user_id", "kind", "dedupe_key"])
        .returning(Notification.user_id)
    )
    return set(db.session.scalars(statement, rows))


def _actor_name(actor) -> str:
    return _single_line(getattr(actor, "name", "") or "", 120)


def notify(
    recipients: Iterable[User] | User,
    kind: str,
    *,
    title: str,
    actor,
    body: str = "",
    link: tuple[str, dict] | None = None,
    context: dict | None = None,
    dedupe_key: str | None = None,
    attachments: Iterable[tuple[str, str, bytes]] = (),
) -> int:
    """Tell `recipients` about something, in the caller's transaction; returns how many were notified.

    Inactive users are skipped; each person's preference for `kind` decides in-app / e-mail now / digest /
    off. With `dedupe_key`, a (user, kind, key) already recorded is not recorded again. E-mails are outbox rows
    sent later by the sender, which reads the address, renders the text and resolves `link` at send time.
    """
    spec = _kind(kind)
    users = [user for user in _recipients(recipients) if user.active]
    if not users:
        return 0
    title = _single_line(title, TITLE_MAX) or spec.label
    body = clean_text(body or "")
    endpoint, values = (link[0], dict(link[1] or {})) if link else (None, None)
    context = dict(context or {})
    files = list(attachments)
    if dedupe_key is not None:
        dedupe_key = dedupe_key[:200]
        done = _already_recorded([u.id for u in users], kind, dedupe_key)
        users = [user for user in users if user.id not in done]
    chosen = {} if spec.mandatory else _chosen([u.id for u in users], kind)
    actor_name = _actor_name(actor)
    now = utcnow()
    shared = {
        "kind": kind,
        "title": title,
        "body": body,
        "link_endpoint": endpoint,
        "link_values": values,
        "context": context or None,
        "actor_name": actor_name,
    }
    notices, mails = [], []
    for user in users:
        channel = "email" if spec.mandatory else chosen.get(user.id) or default_channel(spec, user)
        if channel == "off":
            continue
        if not spec.mandatory:  # mandatory kinds carry a secret link and go to people who cannot log in
            notices.append(
                {
                    **shared,
                    "user_id": user.id,
                    "channel": channel,
                    "dedupe_key": dedupe_key,
                    "created_at": now,
                }
            )
        if channel == "email":
            mails.append(
                {
                    **shared,
                    "user_id": user.id,
                    "message_token": uuid.uuid4().hex,
                    "status": MailStatus.PENDING,
                    "next_attempt_at": now,
                    "created_at": now,
                }
            )
    # Plain multi-row INSERTs, run now in the caller's transaction (no commit): cheaper than one ORM object per
    # row, so a request that notifies costs next to nothing more (benchmarks/notify_bench.py).
    if notices and dedupe_key is not None:
        # Another transaction may record the same (user, kind, key) between our check and this insert (two
        # jobs, two requests): the database keeps the first and skips ours, and only those it took get e-mail.
        taken = _insert_new_notices(notices)
        mails = [row for row in mails if row["user_id"] in taken]
        notices = [row for row in notices if row["user_id"] in taken]
    elif notices:
        db.session.execute(Notification.__table__.insert(), notices)
    if mails and files:  # attachments need each message's id: ORM objects for these (rare: .ics files)
        for row in mails:
            db.session.add(
                OutgoingMessage(
                    **row,
                    attachments=[
                        MailAttachment(filename=_single_line(name, 200), mimetype=mimetype, content=content)
                        for name, mimetype, content in files
                    ],
                )
            )
        db.session.flush()
    elif mails:
        db.session.execute(OutgoingMessage.__table__.insert(), mails)
    count = len({row["user_id"] for row in notices} | {row["user_id"] for row in mails})
    return count


def announce(event: str, payload: dict, *, team: str | None, actor) -> None:
    """Record an Event (for team channels and outgoing webhooks) in the caller's transaction."""
    payload = dict(payload)
    payload.setdefault("actor", _actor_name(actor))
    db.session.add(Event(name=event[:64], team=(team or None), payload=payload))
    db.session.flush()


def preferences_for(user: User) -> list[tuple[Kind, str]]:
    """Every kind a person may choose a channel for, with their current channel (choice or default)."""
    chosen = dict(
        db.session.execute(
            select(Preference.kind, Preference.channel).where(Preference.user_id == user.id)
        ).all()
    )
    kinds = sorted(
        (k for k in KINDS.values() if not k.mandatory), key=lambda k: (k.name.split(".")[0], k.label)
    )
    return [(kind, chosen.get(kind.name) or default_channel(kind, user)) for kind in kinds]


def set_preferences(user: User, channels: dict[str, str]) -> None:
    """Store a person's channels; a channel equal to the default keeps no row (defaults may change later)."""
    from kms.errors import Invalid
    from kms.notify.kinds import CHANNELS

    rows = {p.kind: p for p in db.session.scalars(select(Preference).where(Preference.user_id == user.id))}
    for name, channel in channels.items():
        spec = KINDS.get(name)
        if spec is None or spec.mandatory:
            raise Invalid(f"Unknown notification kind {name!r}.", field=name)
        if channel not in CHANNELS:
            raise Invalid(f"Unknown channel {channel!r}.", field=name)
        row = rows.get(name)
        if channel == default_channel(spec, user):
            if row is not None:
                db.session.delete(row)
        elif row is None:
            db.session.add(Preference(user_id=user.id, kind=name, channel=channel))
        else:
            row.channel = channel
    db.session.flush()
