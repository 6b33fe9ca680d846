"""Shared by the hiring views: form helpers (service errors on fields, times typed, scorecards)."""

from __future__ import annotations

from datetime import datetime

from kms.forms import field_error as _field_error  # one helper for every feature, by the name the views use
from kms.hiring.forms import scorecard_form_class
from kms.web import viewer_to_utc

__all__ = ["_field_error", "_local_to_utc", "_scorecard_form", "_scorecard_input"]


def _local_to_utc(value: datetime | None) -> datetime | None:
    """The interview time the viewer typed, in UTC; a time daylight saving skips or repeats is Invalid."""
    return None if value is None else viewer_to_utc(value, "scheduled_at")


def _scorecard_input(form) -> dict:
    """The plain values a scorecard service takes, from a submitted scorecard form."""
    ratings = {}
    for field in form:
        if field.type == "FormField":
            sub = field.form
            ratings[field.name] = {
                "rating": sub.rating.data,
                "question": sub.question.data,
                "evidence": sub.evidence.data,
                "red_flags": list(sub.red_flags.data or []),
            }
    return {
        "ratings": ratings,
        "recommendation": form.recommendation.data or None,
        "summary": form.summary.data,
    }


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
