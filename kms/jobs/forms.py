"""The "Run now" button of /admin/jobs: a form with nothing but its CSRF token."""

from kms.forms import Form


class RunJobForm(Form):
    pass
