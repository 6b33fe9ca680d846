"""Search: the Whoosh index of everything a user may read, queries and content-gap reports."""
from kms.search.views import bp


def init_app(app) -> None:
    """Open the index and hook after-commit indexing (filled in by the search issue)."""


__all__ = ["bp", "init_app"]
