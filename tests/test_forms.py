"""The shared form base: WTForms' anonymous default messages name their field; a form's own messages stay."""

from __future__ import annotations

from werkzeug.datastructures import MultiDict
from wtforms import DateField, FieldList, IntegerField, StringField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from kms.forms import Form


class Sample(Form):
    title = StringField("Role title", validators=[DataRequired(), Length(max=5)])
    minutes = IntegerField("Estimated minutes", validators=[InputRequired(), NumberRange(1, 60)])
    starts = DateField("Start date", validators=[Optional()])
    reason = StringField("Reason", validators=[DataRequired("Write the reason for the decision.")])
    tags = FieldList(StringField("Tag", validators=[Length(max=3)]), min_entries=1)


def errors_for(app, **data) -> dict:
    with app.test_request_context(method="POST", data=MultiDict(data)):
        form = Sample(meta={"csrf": False})
        assert not form.validate()
        return form.errors


def test_default_messages_name_the_field_and_custom_ones_stay(app):
    errors = errors_for(app, title="", minutes="90", starts="2026-02-30", reason="", **{"tags-0": "abcd"})
    assert errors["title"] == ["Role title is required."]
    assert errors["minutes"] == ["Estimated minutes must be between 1 and 60."]
    assert errors["starts"] == ["Start date must be a date (YYYY-MM-DD)."]
    assert errors["reason"] == ["Write the reason for the decision."]
    assert errors["tags"] == [["Field cannot be longer than 3 characters."]]  # a list's entries: left alone


def test_an_unreadable_number_gets_one_message_not_a_range_too(app):
    errors = errors_for(app, title="Lead", minutes="ninety", reason="Because")
    assert errors == {"minutes": ["Estimated minutes must be a whole number."]}


def test_a_too_long_value_says_how_long_it_may_be(app):
    assert errors_for(app, title="Team lead", minutes="5", reason="Because") == {
        "title": ["Role title can be at most 5 characters."]
    }
