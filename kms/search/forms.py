"""Search forms: declarations only; the views fill in choices."""

from wtforms import HiddenField, SelectField
from wtforms.validators import AnyOf, DataRequired, Length

from kms.forms import Form


class GapProcessForm(Form):
    """Turn one gap-report query into a process to document."""

    query = HiddenField(validators=[DataRequired(), Length(max=200)])
    category = SelectField("Category", validators=[DataRequired()])


class GapDismissForm(Form):
    """Take one query off the gap report (not a gap: a name, a typo, already answered)."""

    query = HiddenField(validators=[DataRequired(), Length(max=200)])


class RebuildForm(Form):
    """The "Rebuild the search index" button: its CSRF token and what it asks for."""

    confirm = HiddenField(default="rebuild", validators=[DataRequired(), AnyOf(["rebuild"])])
