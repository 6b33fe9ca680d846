"""Integration settings forms: declarations and field checks only, no database access."""

from wtforms import BooleanField, PasswordField, SelectField, SelectMultipleField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from kms.forms import Form

KIND_CHOICES = [SelectChoice("slack", "Slack"), SelectChoice("teams", "Microsoft Teams")]


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class ChatSecretsForm(Form):
    slack_signing_secret = PasswordField(
        "Slack signing secret",
        validators=[Optional(), Length(max=200)],
        description="Slack app → Basic Information → Signing Secret. Leave empty to keep the stored one.",
    )
    slack_bot_token = PasswordField(
        "Slack bot token (optional)",
        validators=[Optional(), Length(max=300)],
        description="xoxb-…, with the users:read and users:read.email scopes: lets kms match Slack users to "
        "accounts by e-mail. Without it everyone asking from Slack finds what members find.",
    )
    teams_security_token = PasswordField(
        "Teams outgoing webhook security token",
        validators=[Optional(), Length(max=200)],
        description="Shown once by Teams when the outgoing webhook is created.",
    )
    clear_slack_signing_secret = BooleanField("Remove the Slack signing secret")
    clear_slack_bot_token = BooleanField("Remove the Slack bot token")
    clear_teams_security_token = BooleanField("Remove the Teams security token")


class ChannelForm(Form):
    team = StringField(
        "Team",
        validators=[DataRequired(), Length(max=80)],
        description="As written on its members' accounts, e.g. Support EMEA.",
    )
    kind = SelectField("App", choices=KIND_CHOICES, default="slack", validators=[DataRequired()])
    url = PasswordField(
        "Incoming webhook URL",
        validators=[DataRequired(), Length(max=500)],
        description="Slack: Incoming Webhooks → Add New Webhook. Teams: a Workflows “Post to a channel when a "
        "webhook request is received” URL. Kept sealed; never shown again.",
    )
    events = MultiCheckboxField("Events", choices=[], validators=[Optional()])


class WebhookForm(Form):
    url = StringField(
        "Endpoint URL", validators=[DataRequired(), Length(max=500)], description="Where kms POSTs the JSON."
    )
    description = StringField("Description", validators=[Optional(), Length(max=200)])
    events = MultiCheckboxField("Events", choices=[], validators=[Optional()])


class ActionForm(Form):
    """A button that changes something (switch on, remove, retry): only the CSRF token."""
