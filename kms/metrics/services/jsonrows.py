"""Rows of the JSON API (`POST /api/metrics`) in kms's own field names, converted like CSV cells.

Values may be JSON strings, numbers, booleans or null (null and "" mean "not measured"); `tags` may also be
a list. Unknown field names are refused (a typo would otherwise drop a measure silently). Errors name the
row (1-based, as the client sent them) and the field.
"""

from __future__ import annotations

from kms.errors import Invalid
from kms.metrics.services import values
from kms.metrics.services.csvfile import _DEFAULTS
from kms.metrics.services.presets import KMS, converter

MAX_BATCH = 5000
API_FIELDS = {
    "ticket_id": "ticket_id",
    "agent_email": "agent",
    "solved_at": "solved_at",
    "channel": "channel",
    "csat": "csat",
    "fcr": "fcr",
    "reopened": "reopened",
    "handle_minutes": "handle_minutes",
    "nps": "nps",
    "tags": "tags",
}


def _as_text(value, row: int, name: str) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list) and name == "tags" and all(isinstance(tag, str) for tag in value):
        return " ".join(value)
    if isinstance(value, str):
        return value.strip()
    raise Invalid(f"row {row}, field {name}: {type(value).__name__} is not a value kms reads", field=name)


def rows_from_json(document, *, time_zone: str) -> list[dict]:
    """The `rows` of a JSON document ({"rows": [...]}) as import rows; Invalid naming row and field."""
    if not isinstance(document, dict) or not isinstance(document.get("rows"), list):
        raise Invalid('Send a JSON object {"rows": [{"ticket_id": ..., "agent_email": ..., ...}, ...]}.')
    items = document["rows"]
    if not items:
        raise Invalid("The batch has no rows.", field="rows")
    if len(items) > MAX_BATCH:
        raise Invalid(f"A batch holds at most {MAX_BATCH} rows; this one has {len(items)}.", field="rows")
    tz = values.time_zone(time_zone)
    readers = {name: converter(KMS.columns[key], KMS, tz) for name, key in API_FIELDS.items()}
    rows = []
    for number, item in enumerate(items, start=1):
        if not isinstance(item, dict):
            raise Invalid(f"row {number}: each row must be a JSON object", field="rows")
        extra = sorted(set(item) - set(API_FIELDS))
        if extra:
            raise Invalid(
                f"row {number}, field {extra[0]}: not a kms field (use {', '.join(API_FIELDS)})",
                field=extra[0],
            )
        row = dict(_DEFAULTS)
        row["line"] = number
        for name, key in API_FIELDS.items():
            text = _as_text(item.get(name), number, name)
            try:
                row[key] = readers[name](text)
            except ValueError as error:
                raise Invalid(f"row {number}, field {name}: {error}", field=name) from None
        csat = row.pop("csat", None)
        if csat is not None:
            row["csat_good"], row["csat_raw"] = csat
        rows.append(row)
    return rows
