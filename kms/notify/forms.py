"""Notification forms: CSRF-protected posts; the preference choices are read per kind by the view."""

from kms.forms import Form


class ActionForm(Form):
    """A button that changes something (mark read, save preferences, retry, drop): the CSRF token only."""
