"""What every `kms` command shares, kms/cli.py's and the features' alike; imports no feature.

A feature defines its commands in its own `commands.py` and adds them in its init_app; kms/cli.py keeps the
app-wide ones. Long commands report progress with kms.progress.ProgressReporter.
"""

from __future__ import annotations

import functools

import click
from flask import current_app
from sqlalchemy import inspect

from kms.extensions import db


def needs_database(command):
    """Refuse, with the fix, to run a command on an instance whose database `kms init` has not created yet
    (instead of a "no such table" traceback)."""

    @functools.wraps(command)
    def checked(*args, **kwargs):
        if not inspect(db.engine).has_table("users"):
            url = current_app.config["SQLALCHEMY_DATABASE_URI"].split("@")[-1]
            raise click.ClickException(f"There is no kms database at {url} yet: run `kms init` first.")
        return command(*args, **kwargs)

    return checked
