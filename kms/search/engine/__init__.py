"""The kms search engine: the Whoosh index on disk, queries, snippets and suggestions (no Flask, no SQL).

This module is the engine's one face: the rest of kms imports these names from here, never from the
modules behind them, and none of them is a Whoosh type. The modules behind it:

    search_engine   SearchEngine: one index directory opened, read, written and rebuilt
    searching       answering on one index generation: ranked search, filter-only listing, type-ahead
    query           the query language (parse_query) and API filters as keyword constraints
    evaluate        query trees, BM25 scoring, phrases, typo retry, facets and hits
    snippets        find_spans() and make_snippet(): highlighted passages
    results         SearchResult, Hit, TitleSuggestion
    generation      one index generation and the masks, expansions and statistics derived from it
    segments        the refreshed index view and its per-segment caches
    fuzzy           edit distance and per-segment lexicons for typo correction
    bitmasks        document sets as ints
    build           whole-index builds (serial, parallel), file locks, atomic writes, rebuild replay
    whoosh_adapter  the only module that imports Whoosh: storage, writers, segment readers, the codec
    constants       file names, limits, filter fields and facets
    errors          SearchIndexError and its kinds
"""

from __future__ import annotations

from kms.search.engine.constants import CURRENT_FILE, MAX_CLAUSES, META_FILE, PARALLEL_MIN_DOCS, SNIPPET_CHARS
from kms.search.engine.errors import IndexBusyError, IndexCorruptError, IndexMissingError, SearchIndexError
from kms.search.engine.fuzzy import osa_distance
from kms.search.engine.query import Clause, ParsedQuery, parse_query
from kms.search.engine.results import Hit, SearchResult, TitleSuggestion
from kms.search.engine.search_engine import SearchEngine
from kms.search.engine.snippets import find_spans, make_snippet

__all__ = [
    # What kms.search (indexer, services, views) uses.
    "IndexBusyError",
    "IndexMissingError",
    "SearchEngine",
    "SearchIndexError",
    "SearchResult",
    "TitleSuggestion",
    # The rest of the engine's documented surface, for tests and benchmarks/search_bench.py: what a
    # search returns and how text is parsed, matched and shown, the on-disk names a check reads, the
    # limits a test asserts, and the edit distance typo correction uses.
    "CURRENT_FILE",
    "MAX_CLAUSES",
    "META_FILE",
    "PARALLEL_MIN_DOCS",
    "SNIPPET_CHARS",
    "Clause",
    "Hit",
    "IndexCorruptError",
    "ParsedQuery",
    "find_spans",
    "make_snippet",
    "osa_distance",
    "parse_query",
]
