"""The training blueprint and the small helpers its route modules share."""
from __future__ import annotations

from datetime import datetime

from flask import Blueprint, flash
from flask_login import current_user

from kms.errors import KmsError
from kms.training.services._common import local_to_utc

# Pages live under /training; the JSON API under /api/ (where personal tokens are accepted), so routes spell
# out their full path instead of using a url_prefix.
bp = Blueprint("training", __name__)


def field_error(form, error: KmsError) -> None:
    """Show a service error next to the field it names, or at the top of the page."""
    field = getattr(form, getattr(error, "field", None) or "", None)
    if field is not None and hasattr(field, "errors"):
        field.errors = [*(field.errors or []), error.message]
    else:
        flash(error.message, "error")


def viewer_to_utc(naive: datetime, field: str) -> datetime:
    """A wall-clock time typed by the viewer, read in their time zone (DST gaps and repeats are refused)."""
    return local_to_utc(naive, current_user.time_zone, field)
