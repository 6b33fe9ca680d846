"""The training blueprint and the small helpers its route modules share."""
from __future__ import annotations

from datetime import datetime

from flask import Blueprint, flash, url_for
from flask_login import current_user

from kms.auth.landing import add_landing_rule
from kms.auth.models import Role
from kms.errors import KmsError
from kms.training.services._common import local_to_utc
from kms.training.services import onboarding_in_progress

# Pages live under /training; the JSON API under /api/ (where personal tokens are accepted), so routes spell
# out their full path instead of using a url_prefix.
bp = Blueprint("training", __name__)


def _onboarding(user) -> str | None:
    """Anyone with an onboarding path still to finish lands on My onboarding."""
    return url_for("training.my_onboarding") if onboarding_in_progress(user.id) else None


def _team(user) -> str | None:
    """Managers land on their team view."""
    return url_for("training.team") if user.role == Role.MANAGER else None


@bp.record_once
def _register_landing_rules(state) -> None:
    add_landing_rule(state.app, 10, _onboarding)
    add_landing_rule(state.app, 30, _team)


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
