"""Hiring forms: declarations only, no database. Choices that come from data are filled in by the views.

Scorecard ratings, flags and the recommendation accept any submitted value here (validate_choice=False): the
service checks them and answers with a message naming the trait, the same way for the page and the API.
"""

from __future__ import annotations

from wtforms import (
    BooleanField,
    DateField,
    DateTimeLocalField,
    FieldList,
    FormField,
    IntegerField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from kms.forms import Form, HiddenInteger
from kms.hiring.models import RATINGS, Decision, Recommendation, Stage

SCORES = [(str(n), str(n)) for n in RATINGS]  # 1-4, no middle; anchors come from the rubric
RECOMMENDATIONS = [(r.value, r.value.capitalize()) for r in Recommendation]
STAGES = [(s.value, s.value.capitalize()) for s in Stage if s != Stage.HIRED]


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class OpeningForm(Form):
    title = StringField("Role title", validators=[DataRequired(), Length(max=120)])
    team = StringField("Team", validators=[Optional(), Length(max=80)])


class CandidateForm(Form):
    opening_id = SelectField("Role applied for", coerce=int, validate_choice=False)
    name = StringField("Name", validators=[DataRequired(), Length(max=120)])
    email = StringField("Email", validators=[Optional(), Length(max=254)])
    phone = StringField("Phone", validators=[Optional(), Length(max=40)])
    source = StringField(
        "Source",
        validators=[Optional(), Length(max=80)],
        description="Where they came from: referral, job board, event...",
    )
    notes = TextAreaField("Notes", validators=[Optional(), Length(max=20000)])


class StageForm(Form):
    stage = SelectField("Stage", choices=STAGES)


class InterviewerRow(Form):
    user_id = SelectField("Interviewer", coerce=int, validate_choice=False)
    traits = MultiCheckboxField("Traits to cover (none ticked = all)", validate_choice=False)


class InterviewForm(Form):
    title = StringField("Interview", default="Traits interview", validators=[DataRequired(), Length(max=120)])
    scheduled_at = DateTimeLocalField(
        "When (your time zone)", format="%Y-%m-%dT%H:%M", validators=[Optional()]
    )
    interviewers = FieldList(FormField(InterviewerRow), min_entries=3, max_entries=8)


class TraitRatingForm(Form):
    rating = RadioField("Rating", choices=SCORES, validate_choice=False, validators=[Optional()])
    question = StringField("Question asked", validators=[Optional(), Length(max=2000)])
    evidence = TextAreaField(
        "Evidence: what did the candidate say or do?",
        validators=[Optional()],
        description="Required for a 1 or a 4.",
    )
    red_flags = MultiCheckboxField("Red flags heard", validate_choice=False)


class ScorecardBase(Form):
    recommendation = RadioField(
        "Overall recommendation", choices=RECOMMENDATIONS, validate_choice=False, validators=[Optional()]
    )
    summary = TextAreaField("Summary", validators=[Optional()])
    reason = TextAreaField("Why are you amending?", validators=[Optional()])


def scorecard_form_class(trait_keys: list[str]) -> type[ScorecardBase]:
    """A scorecard form with one sub-form per trait the interviewer covers (fields `<key>-rating`, ...)."""
    fields = {key: FormField(TraitRatingForm, label=key) for key in trait_keys}
    return type("ScorecardForm", (ScorecardBase,), fields)


class DecisionForm(Form):
    decision = RadioField(
        "Decision",
        choices=[(Decision.HIRE.value, "Hire"), (Decision.REJECT.value, "Reject")],
        validators=[DataRequired("Choose hire or reject.")],
    )
    reason = TextAreaField(
        "Reason", validators=[DataRequired("Write the reason for the decision."), Length(max=5000)]
    )


class HireForm(Form):
    create_account = BooleanField("Create their kms account now (invite link)", default=True)
    email = StringField("Email for the account", validators=[Optional(), Length(max=254)])
    start_date = DateField("Start date", validators=[Optional()])
    time_zone = StringField("Time zone", default="UTC", validators=[DataRequired(), Length(max=64)])
    path_id = SelectField("Onboarding path", coerce=int, validate_choice=False)
    confirm = BooleanField("Hire anyway: I have read the warnings above")


class TraitEditForm(Form):
    base_version = HiddenInteger("Rubric version")
    name = StringField("Name", validators=[DataRequired(), Length(max=80)])
    definition = TextAreaField("Definition", validators=[DataRequired()])
    questions = TextAreaField(
        "Interview questions", description="One question per line.", validators=[DataRequired()]
    )
    strong_answer = TextAreaField("What a strong answer sounds like", validators=[DataRequired()])
    weak_answer = TextAreaField("What a weak answer sounds like", validators=[DataRequired()])
    green_flags = TextAreaField("Green flags", description="One per line.", validators=[Optional()])
    red_flags = TextAreaField("Red flags", description="One per line.", validators=[Optional()])
    scale_1 = TextAreaField("1: anchor", validators=[DataRequired()])
    scale_2 = TextAreaField("2: anchor", validators=[DataRequired()])
    scale_3 = TextAreaField("3: anchor", validators=[DataRequired()])
    scale_4 = TextAreaField("4: anchor", validators=[DataRequired()])
    guidance = TextAreaField("Guidance for interviewers (Markdown)", validators=[Optional()])
    position = IntegerField("Order", validators=[Optional()])
    note = StringField("What changed and why", validators=[DataRequired(), Length(max=300)])
