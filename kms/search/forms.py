"""Search forms: declarations only; the views fill in choices."""
from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectField
from wtforms.validators import DataRequired, Length


class GapProcessForm(FlaskForm):
    """Turn one gap-report query into a process to document."""

    query = HiddenField(validators=[DataRequired(), Length(max=200)])
    category = SelectField("Category", validators=[DataRequired()])
