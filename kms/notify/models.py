"""Notifications, preferences, the e-mail outbox and team events."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, ForeignKey, Index, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kms.extensions import UTCDateTime, db, utcnow


class Notification(db.Model):
    """One thing one person was told, shown in-app (bell, notifications page) and, per channel, e-mailed."""

    __tablename__ = "notifications"
    # A NULL dedupe_key never collides (both databases treat NULLs as distinct in a unique constraint).
    __table_args__ = (
        UniqueConstraint("user_id", "kind", "dedupe_key"),
        Index("ix_notifications_user_unread", "user_id", "read_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(64))
    channel: Mapped[str] = mapped_column(String(10))  # inapp | email | digest, as chosen when recorded
    title: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text, default="")
    link_endpoint: Mapped[str | None] = mapped_column(String(120))
    link_values: Mapped[dict | None] = mapped_column(JSON)
    context: Mapped[dict | None] = mapped_column(JSON)
    dedupe_key: Mapped[str | None] = mapped_column(String(200))
    actor_name: Mapped[str] = mapped_column(String(120), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # digest channel: the digest message that carried it (NULL: still waiting for the next digest)
    digest_message_id: Mapped[int | None] = mapped_column(
        ForeignKey("mail_outbox.id", ondelete="SET NULL"), index=True
    )


class Preference(db.Model):
    """A person's channel for one kind; no row means the kind's default for their role."""

    __tablename__ = "notification_preferences"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(64), primary_key=True)
    channel: Mapped[str] = mapped_column(String(10))


class MailStatus:
    """States of an outgoing message (see kms.notify.sender for the transitions)."""

    PENDING = "pending"  # waiting for its next attempt (next_attempt_at)
    CLAIMED = "claimed"  # a sender holds its lease and is talking to the server; not handed over yet
    SENDING = "sending"  # the message text is being handed over: a crash now leaves it "unknown"
    SENT = "sent"
    FAILED = "failed"  # gave up after the last try, or a permanent refusal: on the admin page
    UNKNOWN = "unknown"  # a sender died while handing it over: maybe delivered; the admin decides
    DROPPED = "dropped"  # by an admin, or nobody to send to (deactivated account)

    ADMIN_VISIBLE = (FAILED, UNKNOWN)


class OutgoingMessage(db.Model):
    """The outbox: one e-mail to one person, written in the transaction that caused it and sent later.

    The address is read when the message is sent, so a changed address gets it and a deactivated account
    does not. The text is rendered at send time from kind, title, body, link and context."""

    __tablename__ = "mail_outbox"
    __table_args__ = (
        Index("ix_mail_outbox_due", "status", "next_attempt_at"),
        UniqueConstraint("user_id", "digest_day"),  # one digest per person per day (NULL for others)
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text, default="")
    link_endpoint: Mapped[str | None] = mapped_column(String(120))
    link_values: Mapped[dict | None] = mapped_column(JSON)
    context: Mapped[dict | None] = mapped_column(JSON)
    actor_name: Mapped[str] = mapped_column(String(120), default="")
    digest_day: Mapped[date | None]
    message_token: Mapped[str] = mapped_column(String(40))  # the stable Message-ID's local part
    status: Mapped[str] = mapped_column(String(10), default=MailStatus.PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    lease_owner: Mapped[str | None] = mapped_column(String(80))
    leased_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str] = mapped_column(Text, default="")
    sent_to: Mapped[str] = mapped_column(String(254), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    attachments: Mapped[list[MailAttachment]] = relationship(
        cascade="all, delete-orphan", order_by="MailAttachment.id"
    )


class MailAttachment(db.Model):
    __tablename__ = "mail_attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("mail_outbox.id", ondelete="CASCADE"), index=True)
    filename: Mapped[str] = mapped_column(String(200))
    mimetype: Mapped[str] = mapped_column(String(100))
    content: Mapped[bytes] = mapped_column(LargeBinary)


class Event(db.Model):
    """Something a team channel or an outgoing webhook may want to hear; consumers keep their own position."""

    __tablename__ = "events"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), index=True)
    team: Mapped[str | None] = mapped_column(String(80))
    payload: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
