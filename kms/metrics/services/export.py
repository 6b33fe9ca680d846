"""Ticket rows out as CSV (kms's own format), safe to open in a spreadsheet.

Cells are stored exactly as imported, formulas included; on the way out a cell starting with =, +, -, @, tab
or carriage return gets a leading apostrophe so no spreadsheet runs it (OWASP "CSV injection"). Numbers kms
wrote itself (handle minutes, NPS) are never text from the file and are left as they are.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

from sqlalchemy import select

from kms.auth.models import User
from kms.extensions import db
from kms.metrics.models import Ticket
from kms.metrics.services.ingest import require_importer

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
HEADER = (
    "ticket_id",
    "agent_email",
    "solved_at",
    "channel",
    "csat",
    "fcr",
    "reopened",
    "handle_minutes",
    "nps",
    "tags",
)


def csv_safe(value: str) -> str:
    """A text cell as a spreadsheet will show it but never evaluate it."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def _yes_no(flag: bool | None) -> str:
    return "" if flag is None else ("yes" if flag else "no")


def export_tickets_csv(*, actor, source: str | None = None) -> Iterator[str]:
    """The stored tickets (of one source, or all) as CSV text in kms's own format, a chunk per row."""
    require_importer(actor)
    query = (
        select(Ticket, User.email)
        .join(User, User.id == Ticket.user_id)
        .order_by(Ticket.solved_at, Ticket.id)
        .execution_options(yield_per=2000)
    )
    if source:
        query = query.where(Ticket.source == source)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(HEADER)
    for ticket, email in db.session.execute(query):
        csat = ticket.csat_raw if ticket.csat_raw is not None else ""
        writer.writerow(
            (
                csv_safe(ticket.ticket_id),
                csv_safe(email),
                ticket.solved_at.isoformat(),
                csv_safe(ticket.channel),
                csv_safe(csat),
                _yes_no(ticket.fcr),
                _yes_no(ticket.reopened),
                "" if ticket.handle_minutes is None else f"{ticket.handle_minutes:g}",
                "" if ticket.nps is None else ticket.nps,
                csv_safe(ticket.tags),
            )
        )
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    yield buffer.getvalue()
