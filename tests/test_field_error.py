"""The one helper every feature's views use to show a service's error (kms.forms.field_error): next to the
field it names, inside a subform too, and at the top of the page when it
names no field of the form or several."""

from __future__ import annotations

from flask import get_flashed_messages
from wtforms import FieldList, FormField, StringField

from kms.errors import Conflict, Invalid
from kms.forms import Form, field_error


class Trait(Form):
    evidence = StringField("Evidence")


class Card(Form):
    title = StringField("Title")
    drive = FormField(Trait)
    notes = FieldList(StringField("Note"), min_entries=1)


def shown(app, error) -> tuple[dict, list[str]]:
    """Field messages of a fresh form after field_error, and the messages flashed at the top of the page."""
    with app.test_request_context("/", method="POST"):
        form = Card(meta={"csrf": False})
        field_error(form, error)
        placed = {"title": list(form.title.errors), "drive-evidence": list(form.drive.evidence.errors)}
        return placed, get_flashed_messages()


def test_an_error_naming_a_field_is_shown_on_that_field_only(app):
    placed, flashed = shown(app, Invalid("Give the role a title.", field="title"))
    assert placed == {"title": ["Give the role a title."], "drive-evidence": []}
    assert flashed == []


def test_a_subform_field_is_reached_by_its_dashed_name(app):
    placed, flashed = shown(app, Invalid("Say what you saw.", field="drive-evidence"))
    assert placed["drive-evidence"] == ["Say what you saw."] and flashed == []


def test_an_error_naming_no_field_of_the_form_goes_to_the_top_of_the_page(app):
    for error in (
        Invalid("The opening is closed."),
        Invalid("Pick a path.", field="path_id"),
        Invalid("No such entry.", field="notes"),
        Invalid("Not here.", field="drive"),
        Conflict("Someone else saved first."),
    ):
        placed, flashed = shown(app, error)
        assert placed == {"title": [], "drive-evidence": []} and flashed == [error.message], error.message


def test_several_errors_each_go_to_their_field_and_the_summary_to_the_top(app):
    error = Invalid(
        "Title and evidence are missing.",
        field="title",
        errors={"title": "Give the role a title.", "drive-evidence": "Say what you saw."},
    )
    placed, flashed = shown(app, error)
    assert placed == {"title": ["Give the role a title."], "drive-evidence": ["Say what you saw."]}
    assert flashed == ["Title and evidence are missing."]
