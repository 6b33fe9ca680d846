"""The `kms` console script: Flask's command group around create_app."""

import click
from flask.cli import FlaskGroup

from kms import create_app
from kms.config import ConfigError


def _create_app():
    """The app, or a one-line refusal (not a traceback) naming the setting to fix."""
    try:
        return create_app()
    except ConfigError as error:
        raise click.ClickException(str(error)) from None


main = FlaskGroup(create_app=_create_app, help="kms: handbook, training and hiring for CS teams.")

if __name__ == "__main__":
    main()
