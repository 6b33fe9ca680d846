"""Search: the Whoosh index of everything a user may read, queries and content-gap reports."""

import os
from datetime import timedelta

from kms import jobs
from kms.search import commands, indexer
from kms.search.jobs import init_jobs
from kms.search.views import bp

CHECK_ON_START = "KMS_SEARCH_CHECK_ON_START"  # set by `kms serve` for its workers


def init_app(app) -> None:
    """Add search to the app: its pages and API (the search box in the header is the way in, so no menu
    entry), its index with after-commit indexing hooked into the session, the `kms reindex` and `kms
    search-check` commands, its jobs (leftovers, the weekly gap digest), and under `kms serve` a check (and if
    need be a rebuild) of the index in the background and a thread following the change log."""
    app.register_blueprint(bp)
    indexer.init_app(app)
    jobs.register(
        app,
        "search-leftovers",
        lambda now: drain_leftovers(app),
        every=timedelta(seconds=30),
        description="Index the changes an interrupted or busy drain left in the search outbox (on each server).",
        per_server=True,  # every server keeps its own index
    )
    for command in commands.COMMANDS:
        app.cli.add_command(command)
    init_jobs(app)
    if str(app.config.get(CHECK_ON_START) or os.environ.get(CHECK_ON_START, "")) == "1":
        from kms.search import services

        services.ensure_index_in_background(app.extensions[indexer.EXTENSION])
        # Each worker polls the shared change log for edits made on other servers (kms.search.changelog).
        app.extensions[indexer.EXTENSION].start_following()


def drain_leftovers(app) -> str:
    """The `search-leftovers` job: index what is still waiting in the outbox."""
    index = app.extensions[indexer.EXTENSION]
    waiting = index.outbox_size()
    if waiting:
        index.drain_quietly(wait=0)
    return f"{waiting - index.outbox_size()} of {waiting} waiting changes indexed"


__all__ = ["bp", "init_app"]
