"""Engine constants: index directory file names, query/snippet/build limits, filter fields and facets."""

from __future__ import annotations

CURRENT_FILE = "CURRENT"
REBUILD_LOCK_FILE = "rebuild.lock"
REBUILD_MARKER_FILE = "REBUILDING"
META_FILE = "kms-index.txt"
INDEX_PREFIX = "ix-"

MAX_QUERY_CHARS = 500  # longer input is cut, not rejected
MAX_CLAUSES = 24
MAX_PREFIX_TERMS = 64  # a prefix expands to at most this many terms (most frequent first)
FEW_RESULTS = 3  # fewer exact hits than this -> try typo correction
MAX_FUZZY_CANDIDATES = 1  # a misspelled word is retried with its one nearest common correction
FACET_LIMIT = 20
# Decoded postings kept per open index (docnum + weight, 8 bytes each): 4M postings = 32 MB, about
# the 300 most common terms of a 44,000-page handbook.
POSTINGS_CACHE = 4_000_000
SNIPPET_CHARS = 220
SNIPPET_LEAD = 50  # context kept before the first match
PARALLEL_MIN_DOCS = 500  # below this a rebuild is faster in one process
BUILD_BATCH = 100
SEGMENT_MB = 768  # a build worker's postings pool (Whoosh's estimate) per segment

# Query-syntax field name -> index keyword field.
FILTER_FIELDS = {
    "type": "type",
    "category": "category",
    "tag": "tags",
    "tags": "tags",
    "lang": "language",
    "language": "language",
    "status": "status",
    "owner": "owner",
}
FACETS = (("type", "type"), ("category", "category"), ("tag", "tags"))

BITS = bytes(1 << i for i in range(8))
