"""The search engine's exceptions: missing, corrupt and busy indexes."""

from __future__ import annotations


class SearchIndexError(Exception):
    """The search index cannot be used right now; the app answers "search unavailable" and reindexes."""


class IndexMissingError(SearchIndexError):
    """There is no index at the configured place (never built, or deleted)."""


class IndexCorruptError(SearchIndexError):
    """The index exists but cannot be read (truncated or damaged files, other schema version)."""


class IndexBusyError(SearchIndexError):
    """The index write lock stayed taken for longer than the lock timeout."""
