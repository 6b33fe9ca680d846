"""The notification jobs `kms worker` runs: the outbox sender (every few seconds) and the daily digest."""

from __future__ import annotations

from datetime import datetime

from flask import current_app

from kms.extensions import unit_of_work
from kms.notify.sender import mail_off_reason, send_pending
from kms.notify.services.digest import build_digests

__all__ = ["build_daily_digests", "send_pending"]


def build_daily_digests(now: datetime) -> str | None:
    """Queue the digest of everyone whose local day reached KMS_DIGEST_HOUR and who has digest notices waiting."""
    if mail_off_reason():
        return f"no digests: {mail_off_reason()}"
    with unit_of_work():
        count = build_digests(now, from_hour=int(current_app.config.get("KMS_DIGEST_HOUR", 7)))
    return f"{count} digest{'s' if count != 1 else ''} queued"
