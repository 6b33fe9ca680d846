"""The kms search engine: the Whoosh index on disk, queries, snippets and suggestions (no Flask, no SQL).

The public names are imported from here; the modules behind them:

    search_engine   SearchEngine: one index directory opened, read, written and rebuilt
    searching       answering on one index generation: ranked search, filter-only listing, type-ahead
    query           the query language (parse_query) and API filters as keyword constraints
    evaluate        query trees, postings, BM25 scoring, phrases, typo retry, facets and hits
    snippets        find_spans() and make_snippet(): highlighted passages
    results         SearchResult, Hit, TitleSuggestion
    generation      one index generation and the masks, expansions and statistics derived from it
    segments        the refreshed index view and its per-segment caches
    fuzzy           edit distance and per-segment lexicons for typo correction
    bitmasks        document sets as ints
    build           whole-index builds (serial, parallel), file locks, atomic writes, rebuild replay
    constants       file names, limits, filter fields and facets
    errors          SearchIndexError and its kinds
"""

from __future__ import annotations

from kms.search.engine.constants import (
    BUILD_BATCH,
    CURRENT_FILE,
    FACET_LIMIT,
    FACETS,
    FEW_RESULTS,
    FILTER_FIELDS,
    INDEX_PREFIX,
    MAX_CLAUSES,
    MAX_FUZZY_CANDIDATES,
    MAX_PREFIX_TERMS,
    MAX_QUERY_CHARS,
    META_FILE,
    PARALLEL_MIN_DOCS,
    REBUILD_LOCK_FILE,
    REBUILD_MARKER_FILE,
    SEGMENT_MB,
    SNIPPET_CHARS,
    SNIPPET_LEAD,
)
from kms.search.engine.errors import IndexBusyError, IndexCorruptError, IndexMissingError, SearchIndexError
from kms.search.engine.fuzzy import _osa_distance as _osa_distance
from kms.search.engine.query import Clause, ParsedQuery, parse_query
from kms.search.engine.results import Hit, SearchResult, TitleSuggestion
from kms.search.engine.search_engine import SearchEngine
from kms.search.engine.snippets import _merge_spans as _merge_spans
from kms.search.engine.snippets import find_spans, make_snippet

# The public API, plus the tuning constants tests and tools read as kms.search.engine.<NAME>.
__all__ = [
    "BUILD_BATCH",
    "CURRENT_FILE",
    "FACETS",
    "FACET_LIMIT",
    "FEW_RESULTS",
    "FILTER_FIELDS",
    "INDEX_PREFIX",
    "MAX_CLAUSES",
    "MAX_FUZZY_CANDIDATES",
    "MAX_PREFIX_TERMS",
    "MAX_QUERY_CHARS",
    "META_FILE",
    "PARALLEL_MIN_DOCS",
    "REBUILD_LOCK_FILE",
    "REBUILD_MARKER_FILE",
    "SEGMENT_MB",
    "SNIPPET_CHARS",
    "SNIPPET_LEAD",
    "Clause",
    "Hit",
    "IndexBusyError",
    "IndexCorruptError",
    "IndexMissingError",
    "ParsedQuery",
    "SearchEngine",
    "SearchIndexError",
    "SearchResult",
    "TitleSuggestion",
    "find_spans",
    "make_snippet",
    "parse_query",
]
