"""The handbook blueprint and the small helpers its route modules share."""
from flask import Blueprint, current_app, flash, url_for

from kms.auth.landing import add_landing_rule
from kms.auth.models import Role
from kms.errors import Invalid

# No url_prefix: pages live under /handbook/ and the JSON API under /api/.
bp = Blueprint("articles", __name__)


def _author_queue(user) -> str | None:
    """Authors land on the processes they own: their documentation queue."""
    return url_for("articles.processes", owner=user.id) if user.role == Role.AUTHOR else None


def _admin_home(user) -> str | None:
    """Admins land on the handbook home with the coverage bar."""
    return url_for("articles.index") if user.role == Role.ADMIN else None


@bp.record_once
def _register_landing_rules(state) -> None:
    add_landing_rule(state.app, 20, _author_queue)
    add_landing_rule(state.app, 40, _admin_home)


def coverage_target() -> int:
    return int(current_app.config.get("KMS_COVERAGE_TARGET", 80))


def field_error(form, error: Invalid) -> None:
    """Show a service's Invalid next to the field it names, or as a message at the top."""
    field = getattr(form, error.field, None) if error.field else None
    if field is not None:
        field.errors = [*field.errors, error.message]
    else:
        flash(error.message, "error")


def owner_choices(owners, blank: str = "— nobody yet —") -> list[tuple]:
    """Select options for an owner; a deactivated one (only ever the current owner) is marked as such."""
    return [("", blank)] + [(user.id, user.name if user.active else f"{user.name} (not active)")
                            for user in owners]
