"""Use cases of metrics in: import a CSV (preset or saved mapping), import an API batch, preview a file,
save custom mappings. Callers own the transaction (kms.extensions.unit_of_work)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from kms.auth.models import Role
from kms.errors import Forbidden, Invalid, NotFound
from kms.extensions import db
from kms.metrics.models import ImportMapping
from kms.metrics.services import values
from kms.metrics.services.csvfile import BadRows, TicketCsv
from kms.metrics.services.ingest import ImportReport, import_rows, require_importer
from kms.metrics.services.jsonrows import rows_from_json
from kms.metrics.services.presets import FIELDS, PRESETS, REQUIRED, Mapping, custom_mapping

PREVIEW_ROWS = 5


def mapping_for(*, preset: str | None = None, mapping: str | None = None) -> Mapping:
    """The built-in preset called `preset`, or the saved custom mapping called `mapping` (kms CSV when
    neither); Invalid naming the choices for an unknown preset, NotFound for an unknown mapping."""
    if mapping:
        saved = db.session.scalar(select(ImportMapping).where(ImportMapping.name == mapping))
        if saved is None:
            names = ", ".join(m.name for m in list_mappings()) or "none saved yet"
            raise NotFound(f"No saved mapping is called '{mapping}' (saved: {names}).")
        return _as_mapping(saved)
    name = (preset or "kms").lower()
    if name not in PRESETS:
        raise Invalid(f"Unknown preset '{preset}'; choose one of {', '.join(PRESETS)}.", field="preset")
    return PRESETS[name]


def _as_mapping(saved: ImportMapping) -> Mapping:
    return custom_mapping(
        saved.name,
        saved.columns,
        csat_scale=saved.csat_scale,
        handle_unit=saved.handle_unit,
        time_zone=saved.time_zone,
    )


def import_csv(
    raw,
    mapping: Mapping,
    *,
    actor,
    max_bytes: int,
    time_zone: str,
    skip_unknown: bool = False,
    skip_hint: str = "import the others with --skip-unknown",
    progress=None,
    total: int | None = None,
) -> ImportReport:
    """Import a CSV stream read with `mapping`, all or nothing (see ingest.import_rows)."""
    require_importer(actor)
    tickets = TicketCsv(raw, mapping, max_bytes=max_bytes, time_zone=time_zone)
    return import_rows(
        tickets,
        source=mapping.name,
        actor=actor,
        skip_unknown=skip_unknown,
        skip_hint=skip_hint,
        progress=progress,
        total=total,
        position=lambda: tickets.counter.count,
    )


def import_api_batch(document, *, actor, time_zone: str) -> ImportReport:
    """Import one JSON batch of rows (source "api"); idempotent per ticket id; unknown reps refuse the batch."""
    require_importer(actor)
    rows = rows_from_json(document, time_zone=time_zone)
    return import_rows(
        rows,
        source="api",
        actor=actor,
        unit="row",
        skip_hint="send the batch without their rows",
    )


@dataclass
class Preview:
    """The first rows of a file as kms reads them, and which column feeds which field."""

    header: list[str]
    used: dict[str, str]  # kms field -> the file's column
    rows: list[dict]
    delimiter: str
    encoding: str
    errors: list[str]


def preview_csv(raw, mapping: Mapping, *, actor, max_bytes: int, time_zone: str) -> Preview:
    """Read the header and the first PREVIEW_ROWS tickets (Invalid for an unreadable header)."""
    require_importer(actor)
    tickets = TicketCsv(raw, mapping, max_bytes=max_bytes, time_zone=time_zone)
    rows, errors = [], []
    try:
        for row in tickets:
            rows.append(row)
            if len(rows) >= PREVIEW_ROWS:
                break
    except BadRows as bad:
        errors = bad.errors
    except Invalid as error:
        errors = [error.message]
    return Preview(tickets.header, tickets.used, rows, tickets.delimiter, tickets.encoding, errors)


def list_mappings() -> list[ImportMapping]:
    return list(db.session.scalars(select(ImportMapping).order_by(ImportMapping.name)))


def save_mapping(
    name: str,
    columns: dict[str, str],
    *,
    csat_scale: str,
    handle_unit: str,
    time_zone: str,
    actor,
) -> ImportMapping:
    """Create or replace the custom mapping `name` (admins only): kms field -> column header."""
    if getattr(actor, "role", None) != Role.ADMIN:
        raise Forbidden("Only admins save column mappings.")
    name = " ".join(name.split())
    if not name or len(name) > 80:
        raise Invalid("Give the mapping a name of 1 to 80 characters.", field="name")
    if name.lower() in PRESETS:
        raise Invalid(f"'{name}' is a built-in preset; choose another name.", field="name")
    columns = {f: " ".join((columns.get(f) or "").split()) for f in FIELDS}
    for required in REQUIRED:
        if not columns[required]:
            raise Invalid(f"Name the column that holds {required}.", field=required)
    if csat_scale not in values.CSAT_SCALES:
        raise Invalid(f"The CSAT scale must be one of {', '.join(values.CSAT_SCALES)}.", field="csat_scale")
    if handle_unit not in values.HANDLE_UNITS:
        raise Invalid(f"The unit must be one of {', '.join(values.HANDLE_UNITS)}.", field="handle_unit")
    try:
        values.time_zone(time_zone)
    except ValueError as error:
        raise Invalid(f"Time zone: {error}.", field="time_zone") from None
    saved = db.session.scalar(select(ImportMapping).where(ImportMapping.name == name))
    if saved is None:
        saved = ImportMapping(name=name, created_by_id=actor.id)
        db.session.add(saved)
    saved.columns = {f: h for f, h in columns.items() if h}
    saved.csat_scale, saved.handle_unit, saved.time_zone = csat_scale, handle_unit, time_zone or "UTC"
    db.session.flush()
    return saved
