"""The form base every feature's forms use: error messages that name the field they are about.

WTForms' built-in messages ("This field is required.", "Not a valid date value.") do not say which field they
mean; next to the field that is enough for a sighted user, but not for a screen reader's error list, an error
banner or an API client. Messages a form sets itself are left as they are.

Numbers are checked here too, once for every form: a number no INTEGER column can hold is refused naming its
field, and a hidden field the page sent back unreadable (a tampered or truncated form) is reported at the top of
the page, since it has no place of its own to show a message. Control characters never get this far: the
request itself drops them (kms.web.CleanRequest).
"""

from __future__ import annotations

import re

from flask import flash
from flask_wtf import FlaskForm
from wtforms import Field, FieldList, FormField, IntegerField
from wtforms.widgets import HiddenInput

from kms.errors import KmsError
from kms.validate import DB_INT_MAX

# WTForms' English defaults -> the same, naming the field ({label}) and keeping the numbers ({0}, {1}).
_NAMED = [
    (re.compile(r"This field is required\."), "{label} is required."),
    (
        re.compile(r"Field cannot be longer than (\d+) characters?\."),
        "{label} can be at most {0} characters.",
    ),
    (
        re.compile(r"Field must be at least (\d+) characters? long\."),
        "{label} needs at least {0} characters.",
    ),
    (
        re.compile(r"Field must be between (\d+) and (\d+) characters long\."),
        "{label} needs {0} to {1} characters.",
    ),
    (re.compile(r"Number must be between (\S+) and (\S+)\."), "{label} must be between {0} and {1}."),
    (re.compile(r"Number must be at least (\S+)\."), "{label} must be at least {0}."),
    (re.compile(r"Number must be at most (\S+)\."), "{label} must be at most {0}."),
    (re.compile(r"Not a valid integer value\.?"), "{label} must be a whole number."),
    (re.compile(r"Not a valid decimal value\.?|Not a valid float value\.?"), "{label} must be a number."),
    (re.compile(r"Not a valid date value\.?"), "{label} must be a date (YYYY-MM-DD)."),
    (re.compile(r"Not a valid datetime value\.?"), "{label} must be a date and a time."),
    (re.compile(r"Not a valid time value\.?"), "{label} must be a time (HH:MM)."),
    (
        re.compile(r"Not a valid choice\.?|Invalid Choice: could not coerce\.?"),
        "{label}: choose one of the options.",
    ),
]


def named(message: str, label: str) -> str:
    """`message` naming `label`, when it is one of WTForms' anonymous defaults; otherwise unchanged."""
    for pattern, template in _NAMED:
        match = pattern.fullmatch(message)
        if match:
            return template.format(*match.groups(), label=label)
    return message


def error_summary(form) -> str:
    """Every field message of a validated form in one line (they name their fields), for a 400 page."""
    messages = [m for field in form for m in field.errors if isinstance(m, str)]
    return " ".join(messages) or "The form could not be read; reload the page and try again."


def field_error(form, error: KmsError) -> None:
    """Show a service's error next to the field(s) it names; an error that names no field of this form, or
    several, is also shown at the top of the page, so no message is ever dropped."""
    messages = error.details.get("errors") or (
        {error.field: error.message} if getattr(error, "field", None) else {}
    )
    placed = False
    for name, message in messages.items():
        field = _field_named(form, name)
        if field is not None:
            field.errors = [*(field.errors if isinstance(field.errors, list | tuple) else ()), message]
            placed = True
    if not placed or len(messages) > 1:
        flash(error.message, "error")


def _field_named(form, name: str) -> Field | None:
    """The simple field `name` points at ("drive-evidence": the drive subform's evidence field), or None."""
    field = form
    for part in name.split("-"):
        try:
            field = field[part]
        except (KeyError, TypeError, IndexError):
            return None
    if not isinstance(field, Field) or isinstance(field, FormField | FieldList):
        return None
    return field


class HiddenInteger(IntegerField):
    """A whole number the page carries in a hidden input (a version, an id); unreadable -> an error naming it."""

    widget = HiddenInput()

    def process_formdata(self, valuelist):
        if valuelist and not valuelist[0].strip():
            self.data = None  # not sent: the view decides whether that is allowed
            return
        super().process_formdata(valuelist)

    def _value(self):
        # The number the view set last (a conflict moves the version on), not the one the page sent.
        return str(self.data) if self.data is not None else ""


def _out_of_range(field) -> bool:
    data = field.data
    return isinstance(data, int) and not isinstance(data, bool) and abs(data) > DB_INT_MAX


class Form(FlaskForm):
    """FlaskForm (CSRF and all) whose default error messages name their field."""

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        for field in self:
            if not field.errors and _out_of_range(field):
                field.errors = [f"{field.label.text} must be between {-DB_INT_MAX} and {DB_INT_MAX}."]
                valid = False
            if not field.errors or not isinstance(field.errors, list | tuple):
                continue
            messages = [m for m in field.errors if isinstance(m, str)]
            if len(messages) != len(field.errors):
                continue  # a FieldList or FormField: its entries carry their own messages
            # A value that could not be read at all (no number, no date) makes any range message moot.
            messages = list(field.process_errors) or messages
            field.errors = list(dict.fromkeys(named(m, field.label.text) for m in messages))
            if isinstance(field.widget, HiddenInput) and field.name != "csrf_token":
                for message in field.errors:
                    flash(
                        f"{message} ({field.name}) The page may be out of date: reload it, after copying "
                        "anything you typed.",
                        "error",
                    )
        return valid
