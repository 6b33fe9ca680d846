"""Training forms: declarations and pure field checks only (views fill in choices from services)."""

from __future__ import annotations

import re
from datetime import time

from wtforms import (
    BooleanField,
    DateField,
    DateTimeLocalField,
    HiddenField,
    IntegerField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from kms.forms import Form

ROLES = [
    ("member", "Members (reps, new hires)"),
    ("author", "Authors (senior reps)"),
    ("manager", "Managers"),
    ("admin", "Admins"),
]
FORMATS = [
    ("live calls", "Live calls"),
    ("ticket queue", "Ticket queue"),
    ("screen share", "Remote screen-share"),
]
DAYS = {"mon": 0, "tue": 1, "wed": 2, "thu": 3, "fri": 4, "sat": 5, "sun": 6}
WINDOW_RE = re.compile(
    r"^(mon|tue|wed|thu|fri|sat|sun)\w*\s+(\d{1,2}):(\d{2})\s*[-–]\s*(\d{1,2}):(\d{2})$", re.I
)


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class ConfirmForm(Form):
    """A POST with only the CSRF token (buttons such as publish, done, revoke)."""


class ModuleForm(Form):
    title = StringField("Title", validators=[DataRequired(), Length(max=200)])
    summary = TextAreaField(
        "Summary", validators=[Length(max=600)], description="One or two sentences for the card."
    )
    intro = TextAreaField("Introduction (Markdown)", validators=[Length(max=256 * 1024)])
    audience = MultiCheckboxField("Meant for", choices=ROLES, default=["member"])
    minutes = IntegerField(
        "Estimated minutes", default=30, validators=[InputRequired(), NumberRange(1, 6000)]
    )
    recertify_months = IntegerField(
        "Re-certify every (months)",
        validators=[Optional(), NumberRange(1, 120)],
        description="Leave empty if a completion never expires.",
    )
    pass_mark = IntegerField(
        "Quiz pass mark (%)", default=80, validators=[InputRequired(), NumberRange(1, 100)]
    )
    max_attempts = IntegerField(
        "Quiz attempts allowed",
        default=0,
        validators=[InputRequired(), NumberRange(0, 100)],
        description="0 = unlimited.",
    )
    tags = StringField(
        "Tags",
        validators=[Length(max=300)],
        description="Comma-separated. A hiring trait (drive, coachability, positivity, empathy) "
        "links the module to that trait.",
    )


class LessonForm(Form):
    title = StringField("Title", validators=[DataRequired(), Length(max=200)])
    body = TextAreaField("Lesson text (Markdown)", validators=[Length(max=256 * 1024)])
    articles = StringField(
        "Handbook articles",
        validators=[Length(max=1000)],
        description="Slugs of the articles this lesson links to, comma-separated.",
    )
    acknowledge = BooleanField("Required reading: the learner confirms they have read and understood it")


def parse_choices(text: str) -> list[tuple[str, bool]]:
    """One choice per line; a line starting with '*' is a correct choice."""
    choices = []
    for line in (text or "").splitlines():
        line = line.strip()
        if line:
            correct = line.startswith("*")
            choices.append((line.lstrip("*").strip(), correct))
    return choices


class QuestionForm(Form):
    text = TextAreaField("Question", validators=[DataRequired(), Length(max=2000)])
    kind = RadioField(
        "Answers",
        choices=[("single", "One correct answer"), ("multiple", "Several correct answers")],
        default="single",
        validators=[InputRequired()],
    )
    choices = TextAreaField(
        "Choices",
        validators=[DataRequired(), Length(max=10_000)],
        description="One per line. Start a correct choice with * (for example: * Listen first).",
    )
    explanation = TextAreaField("Explanation shown after submitting", validators=[Length(max=5000)])


class AssignPathForm(Form):
    user_id = SelectField("New hire", coerce=int, validators=[InputRequired()])
    path_id = SelectField("Onboarding path", coerce=int, validators=[InputRequired()])


class AssignModuleForm(Form):
    user_id = SelectField("Learner", coerce=int, validators=[InputRequired()])
    module_id = SelectField("Module", coerce=int, validators=[InputRequired()])
    due_on = DateField(
        "Due on", validators=[Optional()], description="The end of this day in the learner's time zone."
    )


def parse_windows(text: str) -> list[tuple[int, time, time]]:
    """Lines such as 'Mon 09:00-12:00'; raises ValidationError naming the bad line."""
    windows = []
    for number, line in enumerate((text or "").splitlines(), start=1):
        line = line.strip()
        if not line:
            continue
        match = WINDOW_RE.match(line)
        if not match:
            raise ValidationError(f"Line {number} ({line[:40]!r}) should look like 'Mon 09:00-12:00'.")
        day, h1, m1, h2, m2 = match.groups()
        try:
            windows.append((DAYS[day[:3].lower()], time(int(h1), int(m1)), time(int(h2), int(m2))))
        except ValueError:
            raise ValidationError(f"Line {number}: {line[:40]!r} is not a valid time.") from None
    return windows


class HostForm(Form):
    user_id = SelectField("Person", coerce=int, validators=[InputRequired()])
    note = StringField(
        "Note", validators=[Length(max=300)], description="What they are great at, for planners."
    )
    windows = TextAreaField(
        "Weekly availability",
        validators=[Length(max=2000)],
        description="One window per line in the host's own time zone, e.g. Mon 09:00-12:00.",
    )

    def validate_windows(self, field):
        parse_windows(field.data)


class AvailabilityForm(Form):
    windows = TextAreaField(
        "Weekly availability",
        validators=[Length(max=2000)],
        description="One window per line in the host's own time zone, e.g. Mon 09:00-12:00.",
    )
    active = BooleanField("Active host", default=True)
    note = StringField("Note", validators=[Length(max=300)])

    def validate_windows(self, field):
        parse_windows(field.data)


class SessionForm(Form):
    trainee_id = SelectField("Trainee", coerce=int, validators=[InputRequired()])
    host_id = SelectField("Host", coerce=int, validators=[InputRequired()])
    starts_at = DateTimeLocalField("Starts", format="%Y-%m-%dT%H:%M", validators=[InputRequired()])
    ends_at = DateTimeLocalField("Ends", format="%Y-%m-%dT%H:%M", validators=[InputRequired()])
    format = SelectField("Format", choices=FORMATS, default="live calls")
    focus = StringField(
        "Focus", validators=[Length(max=200)], description="A process or article to watch for."
    )
    meeting_url = StringField(
        "Meeting link",
        validators=[Length(max=500)],
        description="Optional: the https:// address of the call (Zoom, Meet, Teams…).",
    )


class PlanForm(Form):
    days = IntegerField("Days", default=2, validators=[InputRequired(), NumberRange(1, 10)])
    sessions_per_day = IntegerField(
        "Sessions a day", default=4, validators=[InputRequired(), NumberRange(1, 8)]
    )
    minutes = IntegerField("Minutes each", default=90, validators=[InputRequired(), NumberRange(15, 480)])
    first_day = DateField(
        "First day",
        validators=[Optional()],
        description="Empty: the start date, or today if that has passed.",
    )
    window_days = IntegerField(
        "Look ahead (days)",
        default=21,
        validators=[Optional(), NumberRange(1, 90)],
        description="How many days from the first day the planner may use (21 if empty).",
    )


class NotesForm(Form):
    notes = TextAreaField("Notes", validators=[Length(max=10_000)])


class AcknowledgeForm(Form):
    acknowledge = BooleanField("I have read and understood this")
    seen = HiddenField()  # "article_id:revision_id,..." as shown on the page
