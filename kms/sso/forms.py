"""Single sign-on settings forms: declarations and field checks only, no database access."""

from wtforms import BooleanField, PasswordField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

from kms.auth.models import Role
from kms.forms import Form

ROLE_CHOICES = [SelectChoice(role.value, role.label) for role in Role]
UNMAPPED_CHOICES = [
    SelectChoice(role.value, f"{role.label}") for role in (Role.MEMBER, Role.AUTHOR, Role.MANAGER)
] + [SelectChoice("deny", "No access: they cannot sign in")]


class ProviderForm(Form):
    label = StringField(
        "Button label",
        validators=[DataRequired(), Length(max=80)],
        description='Shown as "Sign in with …", e.g. Okta.',
    )
    slug = StringField(
        "Short name",
        validators=[DataRequired(), Length(max=40)],
        description="Lower-case letters, digits and dashes; part of the sign-in address.",
    )
    issuer = StringField(
        "Issuer",
        validators=[DataRequired(), Length(max=500)],
        description="The provider's issuer URL (its discovery document is read from it).",
    )
    client_id = StringField("Client id", validators=[DataRequired(), Length(max=255)])
    client_secret = PasswordField("Client secret", validators=[Optional(), Length(max=500)])
    scopes = StringField("Scopes", default="openid email profile", validators=[Optional(), Length(max=255)])
    groups_claim = StringField(
        "Groups claim",
        validators=[Optional(), Length(max=80)],
        description="The ID token claim listing the person's groups, e.g. groups. "
        "Empty: roles are managed in kms.",
    )


class GroupRuleForm(Form):
    group_name = StringField(
        "Group",
        validators=[DataRequired(), Length(max=200)],
        description="As the provider sends it, e.g. cs-leads.",
    )
    role = SelectField("Role", choices=ROLE_CHOICES, default=Role.MEMBER.value, validators=[DataRequired()])
    team = StringField(
        "Team",
        validators=[Optional(), Length(max=80)],
        description="Optional; empty keeps the team set in kms.",
    )


class SsoSettingsForm(Form):
    sso_only = BooleanField("SSO only: turn off password logins")
    break_glass = TextAreaField(
        "Break-glass admins",
        validators=[Optional(), Length(max=5000)],
        description="E-mail addresses of admins who may still log in with their password "
        "(one a line), for when the provider is down.",
    )
    unmapped_role = SelectField(
        "Users in no mapped group get",
        choices=UNMAPPED_CHOICES,
        default="member",
        validators=[DataRequired()],
    )


class DeleteForm(Form):
    pass
