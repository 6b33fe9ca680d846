"""Metrics services: parsing helpdesk exports, importing ticket rows, keeping the daily aggregates.

Import the use cases from here; the submodules are csvfile (reading files), presets (column mappings),
values (cell converters), jsonrows (API batches), ingest (the all-or-nothing import), aggregate (RepDay and RepPeriod),
background (an upload page import run in a thread, its progress kept in a file).
"""

from kms.metrics.services.aggregate import DayTotals, apply_totals, day_of, recount
from kms.metrics.services.csvfile import BadRows, FileTooLarge
from kms.metrics.services.export import csv_safe, export_tickets_csv
from kms.metrics.services.imports import (
    Preview,
    import_api_batch,
    import_csv,
    list_mappings,
    mapping_for,
    preview_csv,
    save_mapping,
)
from kms.metrics.services.ingest import DuplicateTicket, ImportReport, UnknownReps, import_rows
from kms.metrics.services.presets import FIELD_LABELS, FIELDS, PRESETS, Mapping

__all__ = [
    "FIELDS",
    "FIELD_LABELS",
    "PRESETS",
    "BadRows",
    "DayTotals",
    "DuplicateTicket",
    "FileTooLarge",
    "ImportReport",
    "Mapping",
    "Preview",
    "UnknownReps",
    "apply_totals",
    "csv_safe",
    "day_of",
    "export_tickets_csv",
    "import_api_batch",
    "import_csv",
    "import_rows",
    "list_mappings",
    "mapping_for",
    "preview_csv",
    "recount",
    "save_mapping",
]
