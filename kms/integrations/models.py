"""Integration tables: chat app secrets, team channels, outgoing webhooks, their deliveries and event cursor."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kms.extensions import UTCDateTime, db, utcnow

CHANNEL_KINDS = ("slack", "teams")


class ChatSettings(db.Model):
    """The one row (id 1) of chat app secrets, each sealed with the site's secret key (see services.secrets).

    Nothing here is ever shown again after it is saved; the settings page only says whether each is set."""

    __tablename__ = "integration_chat_settings"

    id: Mapped[int] = mapped_column(primary_key=True)
    slack_signing_secret: Mapped[str | None] = mapped_column(Text)
    slack_bot_token: Mapped[str | None] = mapped_column(Text)
    teams_security_token: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class _Target:
    """What team channels and webhooks share: chosen events, and switching off after repeated failures."""

    events: Mapped[str] = mapped_column(Text, default="")  # event names, space-separated
    active: Mapped[bool] = mapped_column(default=True)
    failures: Mapped[int] = mapped_column(default=0)  # failed attempts in a row; a success resets it
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    disabled_reason: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    @property
    def event_names(self) -> list[str]:
        return self.events.split()


class TeamChannel(_Target, db.Model):
    """A team's Slack or Teams incoming webhook: events of that team (and site-wide ones) are posted there.

    The webhook address is itself a credential (anyone holding it can post to the channel), so it is sealed
    like the other secrets; ``url_hint`` keeps a recognisable, harmless part for the settings page."""

    __tablename__ = "integration_channels"

    id: Mapped[int] = mapped_column(primary_key=True)
    team: Mapped[str] = mapped_column(String(80))
    kind: Mapped[str] = mapped_column(String(10))  # slack | teams
    url_sealed: Mapped[str] = mapped_column(Text)
    url_hint: Mapped[str] = mapped_column(String(120), default="")


class Webhook(_Target, db.Model):
    """An integrator's endpoint: chosen events are POSTed to it as JSON signed with its own secret."""

    __tablename__ = "integration_webhooks"

    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(String(500))
    description: Mapped[str] = mapped_column(String(200), default="")
    secret_sealed: Mapped[str] = mapped_column(Text)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class Delivery(db.Model):
    """One message to send: an event to a channel or webhook, or a reply to a Slack shortcut.

    Written in the transaction that reads the event (at most one per target and event, by the unique
    constraints), its body fixed at creation so every retry sends the same bytes. Each attempt is claimed
    first by a conditional update, so two senders never send the same attempt."""

    __tablename__ = "integration_deliveries"
    __table_args__ = (
        UniqueConstraint("channel_id", "event_id"),
        UniqueConstraint("webhook_id", "event_id"),
        Index("ix_integration_deliveries_due", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    target: Mapped[str] = mapped_column(String(10))  # channel | webhook | reply
    channel_id: Mapped[int | None] = mapped_column(
        ForeignKey("integration_channels.id", ondelete="CASCADE"), index=True
    )
    webhook_id: Mapped[int | None] = mapped_column(
        ForeignKey("integration_webhooks.id", ondelete="CASCADE"), index=True
    )
    reply_url_sealed: Mapped[str | None] = mapped_column(Text)  # a Slack response_url (replies only)
    event_id: Mapped[int | None] = mapped_column()
    event: Mapped[str] = mapped_column(String(80))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10), default="pending")  # pending | sent | failed
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    response_code: Mapped[int | None] = mapped_column()
    last_error: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    channel: Mapped[TeamChannel | None] = relationship()
    webhook: Mapped[Webhook | None] = relationship()


class EventCursor(db.Model):
    """How far a consumer has read the events table (the id of the last event it turned into deliveries)."""

    __tablename__ = "integration_event_cursor"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    position: Mapped[int] = mapped_column(default=0)
