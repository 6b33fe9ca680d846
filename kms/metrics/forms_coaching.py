"""Forms of the coaching side of metrics: confirm a top performer, assign a refresher, refresher rules, cadence.
Every one is a POST with a CSRF token; the services check everything the fields cannot."""

from __future__ import annotations

from wtforms import DecimalField, HiddenField, IntegerField, SelectField
from wtforms.validators import InputRequired, NumberRange

from kms.forms import Form, HiddenInteger


class ConfirmHostForm(Form):
    """One click: make a suggested top performer a shadowing host for a metric's skill."""

    user_id = HiddenInteger(validators=[InputRequired()])
    metric = HiddenField(validators=[InputRequired()])


class AssignRefresherForm(Form):
    """One click: assign a suggested refresher module to a rep."""

    user_id = HiddenInteger(validators=[InputRequired()])
    module_id = HiddenInteger(validators=[InputRequired()])


class ButtonForm(Form):
    """A POST with only the CSRF token."""


class RuleForm(Form):
    metric = SelectField("Metric", choices=[])  # the view fills in the metrics rules may use
    threshold = DecimalField(
        "Threshold",
        places=None,
        validators=[InputRequired(), NumberRange(min=-100, max=10_000)],
        description="A share as a decimal (0.85 = 85%), minutes for handle time, points for NPS.",
    )
    window_days = IntegerField("Window (days)", default=28, validators=[InputRequired(), NumberRange(1, 365)])
    min_count = IntegerField(
        "At least this many measured tickets",
        default=20,
        validators=[InputRequired(), NumberRange(1, 100_000)],
    )
    module_id = SelectField("Refresher module", coerce=int, choices=[], validate_choice=True)


class CadenceForm(Form):
    module_id = SelectField("Module", coerce=int, choices=[])
    every_months = IntegerField("Every (months)", default=3, validators=[InputRequired(), NumberRange(1, 36)])
