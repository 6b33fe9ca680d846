"""The upload form (declarations only): the same fields the editor's JavaScript posts."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import FileField, HiddenField, StringField, SubmitField
from wtforms.validators import Length, Optional


class UploadForm(FlaskForm):
    class Meta:
        csrf = False  # kms.web checks the token (form field or X-CSRFToken header) before every POST

    file = FileField(
        "File",
        description="Images: PNG, JPEG, GIF, WebP. Files: PDF, DOCX, XLSX, PPTX, CSV, TXT, "
        "ZIP. The type is read from the content.",
    )
    alt = StringField(
        "Alt text (what the image shows, for people who cannot see it)",
        validators=[Optional(), Length(max=300)],
    )
    owner = HiddenField(default="draft")
    next = HiddenField()
    submit = SubmitField("Upload")
