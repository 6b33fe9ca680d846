"""Search: the Whoosh index of everything a user may read, queries and content-gap reports."""
from kms.search import indexer
from kms.search.views import bp


def init_app(app) -> None:
    """Give the app its search index and hook after-commit indexing into the session."""
    indexer.init_app(app)


__all__ = ["bp", "init_app"]
