"""One row per scheduled job (or per lease anyone takes): who holds it until when, and how the last run went."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from kms.extensions import UTCDateTime, db


class JobLease(db.Model):
    """A database lease: the row's owner may do the work named `name` until `leased_until`.

    A worker that dies keeps its lease only until it expires; another one then takes it over."""

    __tablename__ = "job_leases"

    name: Mapped[str] = mapped_column(String(120), primary_key=True)
    owner: Mapped[str | None] = mapped_column(String(200))  # hostname:pid:random, None when released
    leased_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_result: Mapped[str | None] = mapped_column(String(500))
    last_error: Mapped[str | None] = mapped_column(Text)
