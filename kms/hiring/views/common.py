"""Shared by the hiring views: the blueprint, the interviewer check for the menu, and form helpers."""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from flask import Blueprint, flash
from flask_login import current_user

from kms.errors import Invalid
from kms.hiring import services
from kms.hiring.forms import scorecard_form_class

bp = Blueprint("hiring", __name__)
@bp.record_once
def _register_interviewer_check(state) -> None:
    # kms.web.show_hiring_nav asks this, so assigned interviewers see the Hiring menu.
    state.app.extensions["kms.is_interviewer"] = lambda user: services.is_interviewer(user.id)


def _field_error(form, error: Invalid) -> None:
    """Put a service's messages on the fields they name; anything else becomes a flash."""
    errors = error.details.get("errors") or ({error.field: error.message} if error.field else {})
    placed = False
    for name, message in errors.items():
        field = form
        for part in name.split("-"):     # "drive-evidence" -> form["drive"]["evidence"]
            try:
                field = field[part]
            except (KeyError, TypeError):
                field = None
                break
        if field is not None:
            field.errors = [*field.errors, message] if isinstance(field.errors, list) else [message]
            placed = True
    if not placed or len(errors) > 1:
        flash(error.message, "error")


def _local_to_utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    try:
        zone = ZoneInfo(current_user.time_zone or "UTC")
    except Exception:  # noqa: BLE001 - an unknown zone in old data falls back to UTC
        zone = ZoneInfo("UTC")
    return value.replace(tzinfo=zone)


def _scorecard_input(form) -> dict:
    """The plain values a scorecard service takes, from a submitted scorecard form."""
    ratings = {}
    for field in form:
        if field.type == "FormField":
            sub = field.form
            ratings[field.name] = {"rating": sub.rating.data, "question": sub.question.data,
                                   "evidence": sub.evidence.data, "red_flags": list(sub.red_flags.data or [])}
    return {"ratings": ratings, "recommendation": form.recommendation.data or None, "summary": form.summary.data}


def _scorecard_form(context, formdata=True):
    form_class = scorecard_form_class([t.key for t in context.traits])
    form = form_class() if formdata else form_class(formdata=None)
    if not formdata and context.scorecard is not None:
        card = context.scorecard
        form.recommendation.data = card.recommendation.value if card.recommendation else None
        form.summary.data = card.summary
        for trait in context.traits:
            rating = context.rating(trait.key)
            if rating is not None:
                sub = form[trait.key].form
                sub.rating.data = str(rating.rating) if rating.rating else None
                sub.question.data, sub.evidence.data = rating.question, rating.evidence
                sub.red_flags.data = list(rating.red_flags)
    for trait in context.traits:
        form[trait.key].form.red_flags.choices = [(f, f) for f in trait.red_flags]
        form[trait.key].form.question.render_kw = {"list": f"{trait.key}-questions"}
    return form
