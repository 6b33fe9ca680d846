"""Account e-mails (invites, password resets), sent by whichever feature registered itself as the mailer.

auth sits below every other feature, so it cannot call the notification feature; instead that feature registers
`mailer(user, purpose, endpoint, values, expires_at, actor) -> str | None` (purpose "invite" or "reset"), which
queues the e-mail in the caller's transaction and returns None, or returns why no e-mail goes out. Without a
registered mailer nothing is sent and the reason says so.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

AccountMailer = Callable[..., "str | None"]
_EXTENSION = "kms_account_mailer"
NO_MAILER = "kms has no e-mail feature installed."


def set_account_mailer(app, mailer: AccountMailer) -> None:
    """Register the function that queues account e-mails."""
    app.extensions[_EXTENSION] = mailer


def send_account_link(
    app, user, purpose: str, endpoint: str, values: dict, *, expires_at: datetime | None, actor
) -> str | None:
    """Queue the e-mail carrying an account link; None when queued, else why no e-mail goes out."""
    mailer = app.extensions.get(_EXTENSION)
    if mailer is None:
        return NO_MAILER
    return mailer(user, purpose, endpoint, values, expires_at=expires_at, actor=actor)
