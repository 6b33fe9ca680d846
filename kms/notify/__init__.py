"""Notifications: in-app bell and page, per-kind preferences, the e-mail outbox and its sender, team events."""

from __future__ import annotations

from datetime import timedelta

from flask_login import current_user
from sqlalchemy import func, select

from kms import jobs
from kms.auth import add_user_fact, user_fact
from kms.auth.mailer import set_account_mailer
from kms.notify import commands, services
from kms.notify.kinds import INVITE, PASSWORD_RESET
from kms.notify.models import Notification
from kms.notify.scheduled import build_daily_digests
from kms.notify.sender import mail_off_reason, send_pending
from kms.notify.services import inbox
from kms.notify.views import bp
from kms.web import register_signed_endpoints

__all__ = ["bp", "init_app"]


UNREAD = "notify.unread"


def _unread_expression(users):
    # Read with the session's user on every page (the bell), so the count costs no query of its own.
    return (
        select(func.count(Notification.id))
        .where(Notification.user_id == users.c.id, Notification.read_at.is_(None))
        .scalar_subquery()
    )


def unread_notifications() -> int:
    """For the header's bell: the logged-in person's unread count (read with the user), 0 for visitors."""
    if not current_user.is_authenticated:
        return 0
    return user_fact(current_user, UNREAD, lambda: inbox.unread_count(current_user.id)) or 0


def account_mailer(user, purpose: str, endpoint: str, values: dict, *, expires_at, actor) -> str | None:
    """auth's account e-mails (invite, reset) as mandatory notification kinds, queued in the caller's unit."""
    reason = mail_off_reason()
    if reason:
        return reason  # not queued: an old link must not go out days later when SMTP is configured
    kind = INVITE if purpose == "invite" else PASSWORD_RESET
    title = "You are invited to kms" if purpose == "invite" else "Reset your kms password"
    services.notify(
        user,
        kind.name,
        title=title,
        actor=actor,
        link=(endpoint, values),
        context={"expires_at": expires_at.isoformat() if expires_at else ""},
    )
    return None


def init_app(app) -> None:
    """Register the blueprint, the jobs (mail-sender every 5 s, mail-digest hourly), the bell's count, auth's account mailer and the
    `kms mail` commands."""
    app.register_blueprint(bp)
    app.add_template_global(unread_notifications, "unread_notifications")
    add_user_fact(app, UNREAD, _unread_expression)
    set_account_mailer(app, account_mailer)
    # The unsubscribe link's signed token is its credential, and mail programs POST it with no session and no
    # CSRF token (one-click unsubscribe, RFC 8058): no cookie a forged page could ride on.
    register_signed_endpoints(app, "notify.unsubscribe")
    jobs.register(
        app,
        "mail-sender",
        send_pending,
        every=timedelta(seconds=5),
        description="Sends the e-mail outbox over SMTP (KMS_SMTP_URL): retries with back-off, at most once.",
        lease=timedelta(minutes=2),
    )
    jobs.register(
        app,
        "mail-digest",
        build_daily_digests,
        every=timedelta(hours=1),
        description="Queues each person's daily digest e-mail once their local time reaches KMS_DIGEST_HOUR.",
    )
    for command in commands.COMMANDS:
        app.cli.add_command(command)
