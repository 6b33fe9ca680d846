"""Metrics forms (declarations only; the views fill in the choices)."""

from __future__ import annotations

from wtforms import BooleanField, FileField, HiddenField, SelectField, StringField, SubmitField
from wtforms.validators import InputRequired, Length, Optional, Regexp

from kms.forms import Form
from kms.metrics.services.presets import FIELD_LABELS, FIELDS
from kms.metrics.services.values import HANDLE_UNITS


class ImportForm(Form):
    file = FileField(
        "CSV file",
        description="An export of your helpdesk, or kms's own CSV format. UTF-8 or UTF-16; comma, semicolon "
        "or tab separated.",
    )
    source = SelectField("Format", validators=[InputRequired()])
    time_zone = StringField(
        "Time zone of dates without an offset",
        validators=[Optional(), Length(max=64)],
        description="For example Europe/Paris. Dates with an offset or a Z are read as they say.",
    )
    skip_unknown = BooleanField(
        "Import without the reps kms does not know (they are listed after the import)"
    )
    upload = HiddenField(validators=[Optional(), Regexp(r"^[0-9a-f]{32}$", message="The upload is unknown.")])
    preview = SubmitField("Preview")
    submit = SubmitField("Import")


class MappingForm(Form):
    name = StringField("Mapping name", validators=[InputRequired(), Length(max=80)])
    csat_scale = SelectField(
        "CSAT scale",
        choices=[
            ("auto", "1-5 or good/bad (either)"),
            ("1-5", "1-5 (4 and 5 are good)"),
            ("good_bad", "good/bad"),
        ],
        default="auto",
    )
    handle_unit = SelectField(
        "Handle time is given in", choices=[(unit, unit) for unit in HANDLE_UNITS], default="minutes"
    )
    time_zone = StringField(
        "Time zone of dates without an offset", default="UTC", validators=[Length(max=64)]
    )
    submit = SubmitField("Save mapping")


# One "column for <field>" text box per kms field, added to the class so WTForms sees them as fields.
for _field in FIELDS:
    setattr(
        MappingForm,
        f"col_{_field}",
        StringField(
            f"Column for {FIELD_LABELS[_field]}",
            validators=[Length(max=200)],
            description="Header exactly as in your file (case and extra spaces do not matter); empty if absent.",
        ),
    )
