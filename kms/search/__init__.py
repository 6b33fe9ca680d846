"""Search: the Whoosh index of everything a user may read, queries and content-gap reports."""

import os

from kms.search import commands, indexer
from kms.search.views import bp

CHECK_ON_START = "KMS_SEARCH_CHECK_ON_START"  # set by `kms serve` for its workers


def init_app(app) -> None:
    """Add search to the app: its pages and API (the search box in the header is the way in, so no menu
    entry), its index with after-commit indexing hooked into the session, the `kms reindex` and `kms
    search-check` commands, and under `kms serve` a check (and if need be a rebuild) of the index in the
    background and a thread following the change log."""
    app.register_blueprint(bp)
    indexer.init_app(app)
    for command in commands.COMMANDS:
        app.cli.add_command(command)
    if str(app.config.get(CHECK_ON_START) or os.environ.get(CHECK_ON_START, "")) == "1":
        from kms.search import services

        services.ensure_index_in_background(app.extensions[indexer.EXTENSION])
        # Each worker polls the shared change log for edits made on other servers (kms.search.changelog).
        app.extensions[indexer.EXTENSION].start_following()


__all__ = ["bp", "init_app"]
