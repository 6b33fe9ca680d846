"""Handbook forms: declarations and field checks only; the views fill in choices from the services."""

from wtforms import BooleanField, DateField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from kms.articles.models import ArticleStatus, ProcessStatus
from kms.forms import Form, HiddenInteger

STATUS_CHOICES = [
    (ArticleStatus.PUBLISHED.value, "Published — readers see it"),
    (ArticleStatus.DRAFT.value, "Draft — only authors and admins see it"),
    (ArticleStatus.ARCHIVED.value, "Archived — kept for reference, not counted"),
]
PROCESS_STATUS_CHOICES = [
    (s.value, s.value.capitalize())
    for s in (ProcessStatus.UNDOCUMENTED, ProcessStatus.DRAFTING, ProcessStatus.NEEDS_REVIEW)
]


def _int_or_none(value):
    return int(value) if value not in (None, "", "None") else None


class ArticleForm(Form):
    title = StringField("Title", validators=[DataRequired(), Length(max=200)])
    slug = StringField(
        "Address (slug)",
        validators=[Optional(), Length(max=100)],
        description="Words in any alphabet joined by hyphens. Leave empty to make one from the title. "
        "Old addresses keep working after a change.",
    )
    category = SelectField("Category", validators=[DataRequired()])
    process_id = SelectField("Documents the process", coerce=_int_or_none, validate_choice=False)
    owner_id = SelectField("Owner", coerce=_int_or_none, validate_choice=False)
    tags = StringField(
        "Tags", validators=[Optional(), Length(max=600)], description="Separate tags with commas."
    )
    language = StringField(
        "Language",
        default="en",
        validators=[DataRequired(), Length(max=35)],
        description="A language tag: en, nb, zh…",
    )
    verify_interval_days = IntegerField(
        "Verify every (days)", default=90, validators=[InputRequired(), NumberRange(min=1, max=3650)]
    )
    body = TextAreaField(
        "Text (Markdown)",
        validators=[Length(max=256 * 1024)],
        description="Markdown: ## headings, lists, tables, ``` code, - [ ] tasks, !!! note "
        "admonitions, [[Article title]] links to other articles.",
    )
    status = SelectField("Status", choices=STATUS_CHOICES, default=ArticleStatus.PUBLISHED.value)
    reason = StringField("Why this change? (optional)", validators=[Optional(), Length(max=300)])
    base_version = HiddenInteger("Page version")


class ProcessForm(Form):
    name = StringField(
        "Name",
        validators=[DataRequired(), Length(max=200)],
        description="What the team handles, e.g. “Refund request”.",
    )
    category = SelectField("Category", validators=[DataRequired()])
    frequency = IntegerField(
        "Times a month",
        default=0,
        validators=[InputRequired(), NumberRange(min=0)],
        description="Roughly how often the team meets it; it ranks the “document next” list.",
    )
    owner_id = SelectField("Owner", coerce=_int_or_none, validate_choice=False)
    target_date = DateField("Target date", validators=[Optional()])
    status = SelectField(
        "Status",
        choices=PROCESS_STATUS_CHOICES,
        default=ProcessStatus.UNDOCUMENTED.value,
        description="Once its article is published the process counts as documented.",
    )
    notes = TextAreaField("Notes", validators=[Optional(), Length(max=5000)])


class ReassignForm(Form):
    owner_id = SelectField("New owner", coerce=_int_or_none, validate_choice=False)


class FlagForm(Form):
    comment = TextAreaField("What is wrong or outdated?", validators=[DataRequired(), Length(max=2000)])


class ResolveFlagForm(Form):
    resolution = StringField("What did you do? (optional)", validators=[Optional(), Length(max=2000)])


class RejectForm(Form):
    reason = StringField("Why not? (optional)", validators=[Optional(), Length(max=200)])


class CategoryForm(Form):
    name = StringField("Category", validators=[DataRequired(), Length(max=80)])
    requires_review = BooleanField(
        "Changes need review by another author or a manager before readers see them"
    )


class RestoreForm(Form):
    base_version = HiddenInteger("Page version", validators=[InputRequired()])


class ConfirmForm(Form):
    """An empty form: a button that POSTs with a CSRF token."""
