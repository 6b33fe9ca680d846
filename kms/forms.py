"""The form base every feature's forms use: error messages that name the field they are about.

WTForms' built-in messages ("This field is required.", "Not a valid date value.") do not say which field they
mean; next to the field that is enough for a sighted user, but not for a screen reader's error list, an error
banner or an API client. Messages a form sets itself are left as they are.
"""
from __future__ import annotations

import re

from flask_wtf import FlaskForm

# WTForms' English defaults -> the same, naming the field ({label}) and keeping the numbers ({0}, {1}).
_NAMED = [
    (re.compile(r"This field is required\."), "{label} is required."),
    (re.compile(r"Field cannot be longer than (\d+) characters?\."), "{label} can be at most {0} characters."),
    (re.compile(r"Field must be at least (\d+) characters? long\."), "{label} needs at least {0} characters."),
    (re.compile(r"Field must be between (\d+) and (\d+) characters long\."),
     "{label} needs {0} to {1} characters."),
    (re.compile(r"Number must be between (\S+) and (\S+)\."), "{label} must be between {0} and {1}."),
    (re.compile(r"Number must be at least (\S+)\."), "{label} must be at least {0}."),
    (re.compile(r"Number must be at most (\S+)\."), "{label} must be at most {0}."),
    (re.compile(r"Not a valid integer value\.?"), "{label} must be a whole number."),
    (re.compile(r"Not a valid decimal value\.?|Not a valid float value\.?"), "{label} must be a number."),
    (re.compile(r"Not a valid date value\.?"), "{label} must be a date (YYYY-MM-DD)."),
    (re.compile(r"Not a valid datetime value\.?"), "{label} must be a date and a time."),
    (re.compile(r"Not a valid time value\.?"), "{label} must be a time (HH:MM)."),
    (re.compile(r"Not a valid choice\.?"), "{label}: choose one of the options."),
]


def named(message: str, label: str) -> str:
    """`message` naming `label`, when it is one of WTForms' anonymous defaults; otherwise unchanged."""
    for pattern, template in _NAMED:
        match = pattern.fullmatch(message)
        if match:
            return template.format(*match.groups(), label=label)
    return message


class Form(FlaskForm):
    """FlaskForm (CSRF and all) whose default error messages name their field."""

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        for field in self:
            if not field.errors or not isinstance(field.errors, list | tuple):
                continue
            messages = [m for m in field.errors if isinstance(m, str)]
            if len(messages) != len(field.errors):
                continue   # a FieldList or FormField: its entries carry their own messages
            # A value that could not be read at all (no number, no date) makes any range message moot.
            messages = list(field.process_errors) or messages
            field.errors = list(dict.fromkeys(named(m, field.label.text) for m in messages))
        return valid
