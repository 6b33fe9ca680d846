"""`kms mail send` and `kms mail digest`: run the e-mail jobs once by hand; added by notify's init_app."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from kms.commands import needs_database
from kms.extensions import utcnow
from kms.notify.scheduled import build_daily_digests, send_pending


@click.group("mail")
def mail() -> None:
    """E-mail: send the outbox or build the daily digests now (the worker does both on its own)."""


@mail.command("send")
@with_appcontext
@needs_database
def send_command() -> None:
    """Send the e-mails that are due now (what the worker's mail-sender job does every few seconds)."""
    click.echo(send_pending(utcnow()))


@mail.command("digest")
@with_appcontext
@needs_database
def digest_command() -> None:
    """Queue the daily digests that are due now (then `kms mail send` sends them)."""
    click.echo(build_daily_digests(utcnow()))


COMMANDS = [mail]
