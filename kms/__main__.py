"""The `kms` console script: Flask's command group around create_app.

It also sets how often Python's cyclic garbage collector runs in a command's process. Each pass walks every
object it tracks, and a long command (import, reindex, export) keeps hundreds of thousands alive: with
Python's defaults the passes took about a fifth of `kms import`'s main-process CPU (x10 corpus: 18.5 CPU s,
15.3 with the settings below; docs/benchmarks.md). So once the app is built, what exists then (modules,
the app, its mappers) is frozen out of the passes for good, young collections wait for more new objects,
and on the way out the interpreter's last pass over everything is skipped. Cycles are still collected.
"""

import gc

import click
from flask.cli import FlaskGroup

from kms import create_app
from kms.config import ConfigError

# New objects between two young collections (Python's default is 700): far fewer passes in a bulk command,
# at most this many objects waiting for a pass in a long-running one (`kms worker`).
YOUNG_COLLECTION_THRESHOLD = 20_000


def _create_app():
    """The app, or a one-line refusal (not a traceback) naming the setting to fix."""
    try:
        app = create_app()
    except ConfigError as error:
        raise click.ClickException(str(error)) from None
    gc.freeze()
    gc.set_threshold(YOUNG_COLLECTION_THRESHOLD, *gc.get_threshold()[1:])
    return app


cli = FlaskGroup(create_app=_create_app, help="kms: handbook, training and hiring for CS teams.")


def main() -> None:
    try:
        cli.main()
    finally:
        # Nothing needs collecting as the process ends: skip the last pass over the whole heap (0.4 s
        # after an import of 880 pages).
        gc.freeze()


if __name__ == "__main__":
    main()
