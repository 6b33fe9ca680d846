"""`kms create-user` and `kms create-token`: accounts for provisioning scripts; added by auth's init_app."""

from __future__ import annotations

import sys

import click
from flask.cli import with_appcontext

from kms.auth import services
from kms.auth.system import SYSTEM
from kms.commands import needs_database
from kms.errors import KmsError
from kms.extensions import unit_of_work


@click.command("create-user")
@click.argument("email")
@click.option("--name", required=True)
@click.option(
    "--role", type=click.Choice([r.value for r in services.Role]), default="member", show_default=True
)
@click.option("--team", default="")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input (for scripts).")
@with_appcontext
@needs_database
def create_user_command(email: str, name: str, role: str, team: str, password_stdin: bool) -> None:
    """Create a user with a password (from a prompt, or standard input with --password-stdin)."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        with unit_of_work():
            user, _ = services.create_user(email, name, role, actor=SYSTEM, password=password, team=team)
    except KmsError as error:
        raise click.ClickException(error.message) from None
    click.echo(f"Created {user.role.value} {user.email}.")


@click.command("create-token")
@click.argument("email")
@click.argument("name")
@with_appcontext
@needs_database
def create_token_command(email: str, name: str) -> None:
    """Print a new personal API token for EMAIL (for provisioning scripts)."""
    user = services.find_user_by_email(email)
    if user is None or not user.active:
        raise click.ClickException(f"No active user with email {email}.")
    try:
        with unit_of_work():
            _, secret = services.create_token(user, name)
    except KmsError as error:
        raise click.ClickException(error.message) from None
    click.echo(secret)


COMMANDS = (create_user_command, create_token_command)
