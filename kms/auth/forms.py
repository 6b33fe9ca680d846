"""Account forms: declarations and field checks only, no database access."""

from wtforms import BooleanField, DateField, EmailField, PasswordField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, EqualTo, Length, Optional

from kms.auth.models import Role
from kms.forms import Form

ROLE_CHOICES = [SelectChoice(role.value, role.label) for role in Role]


class LoginForm(Form):
    email = EmailField("Email", validators=[DataRequired(), Length(max=254)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=1024)])
    remember = BooleanField("Keep me logged in on this device")


class ReauthenticateForm(Form):
    password = PasswordField("Password", validators=[DataRequired(), Length(max=1024)])


class NewPasswordMixin:
    password = PasswordField(
        "Password",
        validators=[
            DataRequired(),
            Length(min=10, max=1024, message="Password must be at least 10 characters (at most 1024)."),
        ],
        description="At least 10 characters. A sentence you remember works well.",
    )
    confirm = PasswordField(
        "Repeat the password", validators=[DataRequired(), EqualTo("password", "The passwords do not match.")]
    )


class SetupForm(NewPasswordMixin, Form):
    name = StringField("Your name", validators=[DataRequired(), Length(max=120)])
    email = EmailField("Email", validators=[DataRequired(), Length(max=254)])
    time_zone = StringField(
        "Time zone",
        default="UTC",
        validators=[DataRequired(), Length(max=64)],
        description="An IANA name such as Europe/Oslo or America/New_York.",
        render_kw={"list": "time-zones", "autocomplete": "off"},
    )


class SetPasswordForm(NewPasswordMixin, Form):
    pass


class ForgotPasswordForm(Form):
    email = EmailField(
        "Email",
        validators=[DataRequired(), Length(max=254)],
        description="The address your kms account uses. We e-mail it a link to choose a new password.",
    )


class NewUserForm(Form):
    name = StringField("Name", validators=[DataRequired(), Length(max=120)])
    email = EmailField("Email", validators=[DataRequired(), Length(max=254)])
    role = SelectField("Role", choices=ROLE_CHOICES, default=Role.MEMBER.value)
    team = StringField("Team", validators=[Optional(), Length(max=80)])
    start_date = DateField("Start date", validators=[Optional()])
    time_zone = StringField(
        "Time zone",
        default="UTC",
        validators=[DataRequired(), Length(max=64)],
        render_kw={"list": "time-zones", "autocomplete": "off"},
    )


class EditUserForm(Form):
    role = SelectField("Role", choices=ROLE_CHOICES)
    team = StringField("Team", validators=[Optional(), Length(max=80)])
    start_date = DateField("Start date", validators=[Optional()])
    active = BooleanField("Active (can log in)")


class ProfileForm(Form):
    name = StringField("Name", validators=[DataRequired(), Length(max=120)])
    time_zone = StringField(
        "Time zone",
        validators=[DataRequired(), Length(max=64)],
        description="Dates and calendar events are shown in this zone.",
        render_kw={"list": "time-zones", "autocomplete": "off"},
    )


class ChangePasswordForm(NewPasswordMixin, Form):
    current_password = PasswordField("Current password", validators=[DataRequired(), Length(max=1024)])


class TokenForm(Form):
    name = StringField(
        "Token name",
        validators=[DataRequired(), Length(max=80)],
        description="What will use it, e.g. 'support chat bot'.",
    )


class ConfirmForm(Form):
    """An empty form: a button that POSTs with a CSRF token."""
