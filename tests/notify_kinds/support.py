"""Reading what the features told people, as the recipients would find it: their in-app notifications (with the
e-mail's attachments when one was queued) and the events for team channels; and running a job at a chosen time."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import time_machine
from sqlalchemy import select

from kms.extensions import db
from kms.jobs.services import run_job as run_registered_job
from kms.notify.models import Event, Notification, OutgoingMessage


@dataclass
class Received:
    title: str
    body: str
    link: tuple[str, dict] | None
    context: dict
    channel: str
    attachments: list[tuple[str, str, bytes]] = field(default_factory=list)


def _fresh() -> None:
    # The test is the caller: end its transaction so it reads what the services and jobs committed.
    session = db.session()
    if session.new or session.dirty or session.deleted:
        session.commit()
    else:
        session.rollback()


def inbox(kind: str) -> dict[int, list[Received]]:
    """user id -> what they received of this kind, oldest first (in-app rows; e-mails' attachments joined)."""
    _fresh()
    mails: dict[tuple[int, str], list] = {}
    for message in db.session.scalars(
        select(OutgoingMessage).where(OutgoingMessage.kind == kind).order_by(OutgoingMessage.id)
    ):
        mails.setdefault((message.user_id, message.title), []).append(message)
    got: dict[int, list[Received]] = {}
    for row in db.session.scalars(
        select(Notification).where(Notification.kind == kind).order_by(Notification.id)
    ):
        queued = mails.get((row.user_id, row.title)) or []
        mail = queued.pop(0) if queued else None
        got.setdefault(row.user_id, []).append(
            Received(
                title=row.title,
                body=row.body,
                link=(row.link_endpoint, row.link_values or {}) if row.link_endpoint else None,
                context=row.context or {},
                channel=row.channel,
                attachments=[(a.filename, a.mimetype, a.content) for a in mail.attachments] if mail else [],
            )
        )
    return got


def events(name: str) -> list[Event]:
    _fresh()
    return list(db.session.scalars(select(Event).where(Event.name == name).order_by(Event.id)))


def run_job(app, name: str, now: datetime) -> str | None:
    """Run a registered job as `kms worker` would, with the clock at `now`."""
    _fresh()
    with time_machine.travel(now, tick=False):
        return run_registered_job(app, name, owner="test", force=True)
