"""Search: the Whoosh index of everything a user may read, queries and content-gap reports."""
import os

from kms.search import indexer
from kms.search.views import bp

CHECK_ON_START = "KMS_SEARCH_CHECK_ON_START"   # set by `kms serve` for its workers


def init_app(app) -> None:
    """Give the app its search index and hook after-commit indexing into the session; under `kms serve`,
    check (and if need be rebuild) the index in the background."""
    indexer.init_app(app)
    if str(app.config.get(CHECK_ON_START) or os.environ.get(CHECK_ON_START, "")) == "1":
        from kms.search import services

        services.ensure_index_in_background(app.extensions[indexer.EXTENSION])


__all__ = ["bp", "init_app"]
