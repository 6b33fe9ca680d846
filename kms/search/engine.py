"""The kms search engine: the Whoosh index on disk, queries, snippets and suggestions (no Flask, no SQL).

Layout of the index directory (``root``)::

    CURRENT             name of the live index directory, replaced atomically by rebuild()
    ix-<time>-<hex>/    one complete Whoosh index (the live one, the previous one, a build)
    rebuild.lock        held (flock) for the whole of a rebuild
    REBUILDING          name of the index being built; apply() logs its changes for replay
    replay-<name>.log   changes applied to the live index during a rebuild, replayed before the swap

Writers always take Whoosh's index lock with a timeout (a bare writer loses concurrent updates, see
SEARCH-NOTES); readers take no lock. Each process keeps one searcher per engine and refreshes it
when the index changes, reusing the readers of unchanged segments.
"""

from __future__ import annotations

import fcntl
import functools
import heapq
import html
import itertools
import logging
import math
import os
import pickle
import queue
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import uuid
import zlib
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from operator import itemgetter
from pathlib import Path
from typing import Any, Self

from whoosh.codec.whoosh3 import LENGTHS_COLUMN
from whoosh.filedb.filestore import FileStorage
from whoosh.index import TOC, EmptyIndexError, FileIndex, LockError
from whoosh.reading import CorruptIndexError, EmptyReader, MultiReader, ReaderClosed, SegmentReader
from whoosh.util.numeric import byte_to_length
from whoosh.writing import SegmentWriter

from kms.search import schema as S

log = logging.getLogger(__name__)

CURRENT_FILE = "CURRENT"
REBUILD_LOCK_FILE = "rebuild.lock"
REBUILD_MARKER_FILE = "REBUILDING"
META_FILE = "kms-index.txt"
INDEX_PREFIX = "ix-"

MAX_QUERY_CHARS = 500  # longer input is cut, not rejected
MAX_CLAUSES = 24
MAX_PREFIX_TERMS = 64  # a prefix expands to at most this many terms (most frequent first)
FEW_RESULTS = 3  # fewer exact hits than this -> try typo correction
MAX_FUZZY_CANDIDATES = 3  # corrections OR-ed in per misspelled word
FACET_LIMIT = 20
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

_BITS = bytes(1 << i for i in range(8))


class SearchIndexError(Exception):
    """The search index cannot be used right now; the app answers "search unavailable" and reindexes."""


class IndexMissingError(SearchIndexError):
    """There is no index at the configured place (never built, or deleted)."""


class IndexCorruptError(SearchIndexError):
    """The index exists but cannot be read (truncated or damaged files, other schema version)."""


class IndexBusyError(SearchIndexError):
    """The index write lock stayed taken for longer than the lock timeout."""


# --------------------------------------------------------------------------------------------------
# Results


@dataclass(frozen=True)
class Hit:
    id: str
    type: str
    title: str
    url: str
    snippet: str  # HTML: the escaped text with <mark> around matches, nothing else
    title_html: str  # HTML: the escaped title with <mark> around matches
    score: float
    fields: Mapping[str, Any]


@dataclass(frozen=True)
class SearchResult:
    query: str
    hits: tuple[Hit, ...]
    total: int
    page: int
    pagelen: int
    facets: Mapping[str, tuple[tuple[str, int], ...]]
    suggestion: str | None = None  # "did you mean", as a query string
    fuzzy: bool = False  # the hits come from the typo-tolerant retry

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.pagelen))


@dataclass(frozen=True)
class TitleSuggestion:
    id: str
    type: str
    title: str
    url: str


# --------------------------------------------------------------------------------------------------
# Query language: words (all must match), "phrases", prefix*, OR, NOT / -word, and the filters
# type: category: tag: lang: status: owner:. Parsing never raises; odd input degrades to words.


@dataclass(frozen=True)
class Clause:
    kind: str  # "word", "phrase" or "prefix"
    text: str  # what gets analyzed
    raw: str  # as typed, so a correction can replace it in the query string


@dataclass(frozen=True)
class ParsedQuery:
    groups: tuple[tuple[Clause, ...], ...] = ()  # every group must match, any clause in it
    excluded: tuple[Clause, ...] = ()
    filters: tuple[tuple[str, frozenset[str]], ...] = ()  # (field, any of these values), all must hold
    excluded_filters: tuple[tuple[str, frozenset[str]], ...] = ()


_LEX_RE = re.compile(
    r"""(?P<space>\s+)
      | (?P<paren>[()])
      | (?P<fneg>-)?(?P<field>[A-Za-z]{2,12}):"(?P<fvalue>[^"]*)"?
      | (?P<pneg>-)?"(?P<phrase>[^"]*)(?P<closed>")?
      | (?P<word>[^\s"()]+)""",
    re.VERBOSE,
)
_FIELD_WORD_RE = re.compile(r"([A-Za-z]{2,12}):(.*)", re.DOTALL)
_WILDCARDS_RE = re.compile(r"[*?]+")


def parse_query(text: str | None) -> ParsedQuery:
    """Parse the search box syntax. Never raises: on any surprise the words are searched plainly."""
    try:
        return _parse(text or "")
    except Exception:
        log.exception("query parser failed; searching plain words")
        words = re.findall(r"\w+", (text or "")[:MAX_QUERY_CHARS])[:MAX_CLAUSES]
        return ParsedQuery(groups=tuple((Clause("word", w, w),) for w in words))


def _parse(text: str) -> ParsedQuery:
    text = text[:MAX_QUERY_CHARS]
    groups: list[list[Clause]] = []
    excluded: list[Clause] = []
    filters: dict[str, set[str]] = {}
    excluded_filters: dict[str, set[str]] = {}
    negate_next = or_next = False
    clauses = 0

    def add_filter(name: str, value: str, negated: bool) -> bool:
        target = FILTER_FIELDS.get(name.lower())
        if target is None:
            return False
        key = S.normalize_keyword(value)
        if key:
            (excluded_filters if negated else filters).setdefault(target, set()).add(key)
        return True

    for match in _LEX_RE.finditer(text):
        if clauses >= MAX_CLAUSES:
            break
        if match.group("space") is not None or match.group("paren") is not None:
            continue
        negated, negate_next = negate_next, False
        found: list[Clause] = []
        if match.group("field") is not None:
            negated = negated or bool(match.group("fneg"))
            value = match.group("fvalue")
            if add_filter(match.group("field"), value, negated):
                or_next = False
                continue
            found = _word_clauses(value, phrase=True)
        elif match.group("phrase") is not None:
            negated = negated or bool(match.group("pneg"))
            body = match.group("phrase")
            if match.group("closed"):
                if body.strip():
                    found = [Clause("phrase", body, match.group())]
            else:  # an unclosed quote: just the words
                found = [c for word in body.split() for c in _word_clauses(word)]
        else:
            word = match.group("word")
            if word == "OR":
                or_next = bool(groups)
                continue
            if word in ("AND", "&&"):
                continue
            if word == "NOT":
                negate_next = True
                continue
            if word[0] in "-!" and len(word) > 1:
                negated, word = True, word[1:]
            field_word = _FIELD_WORD_RE.fullmatch(word)
            if field_word:
                if field_word.group(1).lower() in FILTER_FIELDS:
                    add_filter(field_word.group(1), field_word.group(2), negated)
                    or_next = False
                    continue
                # Another engine's field syntax (title:, author:): search the value's words.
                word = field_word.group(2)
            found = _word_clauses(word)
        for clause in found:
            clauses += 1
            if negated:
                excluded.append(clause)
            elif or_next and groups:
                groups[-1].append(clause)
            else:
                groups.append([clause])
            or_next = False
    return ParsedQuery(
        groups=tuple(tuple(g) for g in groups),
        excluded=tuple(excluded),
        filters=tuple(sorted((k, frozenset(v)) for k, v in filters.items())),
        excluded_filters=tuple(sorted((k, frozenset(v)) for k, v in excluded_filters.items())),
    )


def _word_clauses(word: str, phrase: bool = False) -> list[Clause]:
    if not word.strip():
        return []
    if "*" in word or "?" in word:
        stem = word[:-1] if word.endswith("*") else ""
        if stem and "*" not in stem and "?" not in stem and sum(ch.isalnum() for ch in stem) >= 2:
            return [Clause("prefix", stem, word)]
        cleaned = _WILDCARDS_RE.sub(" ", word).strip()  # "*", "a*", "o*ing": plain words
        return [Clause("word", part, part) for part in cleaned.split()]
    return [Clause("phrase" if phrase and " " in word.strip() else "word", word, word)]


# --------------------------------------------------------------------------------------------------
# Small helpers


def _mask_from_ids(ids: Iterable[int], size: int) -> int:
    bits = bytearray((size >> 3) + 1)
    for docnum in ids:
        bits[docnum >> 3] |= _BITS[docnum & 7]
    return int.from_bytes(bits, "little")


def _iter_mask(mask: int) -> Iterator[int]:
    data = mask.to_bytes((mask.bit_length() >> 3) + 1, "little")
    for index, byte in enumerate(data):
        if byte:
            base = index << 3
            for bit in range(8):
                if byte & _BITS[bit]:
                    yield base + bit


def _char_mask(term: str) -> int:
    mask = 0
    for ch in term:
        mask |= 1 << (ord(ch) & 63)
    return mask


def _osa_distance(a: str, b: str, limit: int) -> int:
    """Edit distance with adjacent transpositions; anything above ``limit`` is reported as limit+1."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        current = [i] + [0] * len(b)
        char = a[i - 1]
        row_min = i
        for j in range(1, len(b) + 1):
            value = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (char != b[j - 1]))
            if i > 1 and j > 1 and char == b[j - 2] and a[i - 2] == b[j - 1]:
                value = min(value, previous2[j - 2] + 1)
            current[j] = value
            row_min = min(row_min, value)
        if row_min > limit:
            return limit + 1
        previous2, previous = previous, current
    return previous[len(b)]


def _merge_spans(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            if end > merged[-1][1]:
                merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged


def _escape(text: str) -> str:
    return html.escape(text.replace("\n", " "), quote=True)


def _marked(text: str, spans: list[tuple[int, int]], start: int, end: int) -> str:
    out: list[str] = []
    cursor = start
    for span_start, span_end in spans:
        if span_end <= start or span_start >= end:
            continue
        span_start, span_end = max(span_start, start), min(span_end, end)
        out.append(_escape(text[cursor:span_start]))
        out.append(f"<mark>{_escape(text[span_start:span_end])}</mark>")
        cursor = span_end
    out.append(_escape(text[cursor:end]))
    return "".join(out)


def make_snippet(text: str, spans: Iterable[tuple[int, int]], maxchars: int = SNIPPET_CHARS) -> str:
    """The passage of ``text`` (about ``maxchars`` long) holding the most distinct matches, as HTML:
    the text escaped, matches wrapped in <mark>, an ellipsis where text was cut."""
    if not text:
        return ""
    spans = _merge_spans([(s, e) for s, e in spans if 0 <= s < e <= len(text)])
    if not spans:
        end = _word_end(text, min(len(text), maxchars))
        return _escape(text[:end]).strip() + ("…" if end < len(text) else "")
    best, best_score, j = 0, (-1, -1), 0
    for i in range(len(spans)):
        j = max(j, i + 1)
        while j < len(spans) and spans[j][1] - spans[i][0] <= maxchars - SNIPPET_LEAD:
            j += 1
        distinct = len({text[s:e].lower() for s, e in spans[i:j]})
        if (distinct, j - i) > best_score:
            best, best_score = i, (distinct, j - i)
    start = spans[best][0]
    left = _word_start(text, max(0, start - SNIPPET_LEAD))
    right = _word_end(text, min(len(text), left + maxchars))
    body = _marked(text, spans, left, right).strip()
    return ("…" if left > 0 else "") + body + ("…" if right < len(text) else "")


class _SameLengthFold(dict):
    """str.translate table folding one character to one character (é -> e), so offsets found in
    the folded text are offsets in the original; characters that fold to more (ß) stay as they are."""

    def __missing__(self, codepoint: int) -> int:
        folded = S.fold(chr(codepoint))
        value = ord(folded) if len(folded) == 1 else codepoint
        self[codepoint] = value
        return value


_FOLD_TABLE = _SameLengthFold({cp: cp for cp in range(128)})
# Letters with accents or ligatures; text without any (most English, even with curly quotes) skips
# the per-character translate.
_FOLDABLE_RE = re.compile("[\u00c0-\u024f\u0370-\u03ff\u0400-\u04ff\u1e00-\u1fff\ufb00-\ufb06]")


@functools.lru_cache(maxsize=512)
def _prefix_regex(prefixes: tuple[str, ...]) -> re.Pattern[str]:
    # A bare alternation of literals: the regex engine scans for it much faster than for a pattern
    # that opens with a look-behind; word boundaries are checked on the (few) hits instead.
    return re.compile("|".join(re.escape(p) for p in prefixes))


_WORD_CHAR_RE = re.compile(f"[\\w{S._MARKS}]")
_WORD_TAIL_RE = re.compile(f"[\\w{S._MARKS}]*")


def find_spans(text: str, family: str, terms: Iterable[str]) -> list[tuple[int, int]]:
    """Character spans of the words of ``text`` that analyze to one of ``terms`` in ``family``.

    Snippets are made this way instead of from character offsets stored in the postings, which
    would triple what every query decodes: a regex finds the words that begin like a term (a stem
    is, but for its last letter or so, the start of its words) and the family's analyzer confirms
    each one. CJK terms (character bigrams) are found as they are."""
    wanted = set(terms)
    if not text or not wanted:
        return []
    spans: list[tuple[int, int]] = []
    cjk = sorted((t for t in wanted if S._CJK_RE.search(t)), key=len, reverse=True)
    if cjk:
        spans.extend(m.span() for m in re.finditer("|".join(map(re.escape, cjk)), text))
    words = wanted.difference(cjk)
    if words:
        haystack = text.lower()
        if len(haystack) != len(text):
            haystack = "".join(ch.lower() if len(ch.lower()) == 1 else ch for ch in text)
        if not haystack.isascii() and _FOLDABLE_RE.search(haystack):
            haystack = haystack.translate(_FOLD_TABLE)
        if "_" in haystack:
            haystack = haystack.replace("_", " ")  # the analyzers split words at underscores
        prefixes = tuple(
            sorted({w if len(w) <= 3 else w[: max(3, len(w) - 1)] for w in words}, key=lambda p: (-len(p), p))
        )
        term = S.family_rules(family).term
        is_word_char = _WORD_CHAR_RE.match
        tail = _WORD_TAIL_RE.match
        for match in _prefix_regex(prefixes).finditer(haystack):
            start = match.start()
            if start and is_word_char(haystack, start - 1):
                continue
            end = tail(haystack, match.end()).end()
            if term(haystack[start:end]) in words:
                spans.append((start, end))
    return spans


def _word_start(text: str, index: int) -> int:
    if index <= 0:
        return 0
    space = text.find(" ", index, index + 30)
    return space + 1 if space != -1 else index


def _word_end(text: str, index: int) -> int:
    if index >= len(text):
        return len(text)
    space = text.rfind(" ", max(0, index - 30), index)
    return space if space != -1 else index


def _atomic_write(path: Path, content: str) -> None:
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    with open(tmp, "w", encoding="utf-8") as handle:
        handle.write(content)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
    try:
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    except OSError:
        pass


class _FileLock:
    """An exclusive flock on a file; works between processes and between threads."""

    def __init__(self, path: Path):
        self.path = path
        self.fd: int | None = None

    def acquire(self, blocking: bool = True) -> bool:
        fd = os.open(self.path, os.O_CREAT | os.O_RDWR, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
        except BlockingIOError:
            os.close(fd)
            return False
        self.fd = fd
        return True

    def release(self) -> None:
        if self.fd is not None:
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)
            self.fd = None

    def __enter__(self) -> Self:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def _is_locked(path: Path) -> bool:
    """True if another holder has an exclusive flock on ``path``."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        return False
    except BlockingIOError:
        return True
    finally:
        os.close(fd)


# Errors a damaged or vanished index raises from inside Whoosh.
_INDEX_ERRORS = (
    OSError,
    EOFError,
    struct.error,
    pickle.UnpicklingError,
    zlib.error,
    ValueError,
    IndexError,
    KeyError,
    EmptyIndexError,
    ReaderClosed,
    CorruptIndexError,
)
_LENGTH_OF_BYTE = [byte_to_length(b) for b in range(256)]


def _read_lengths(leaf_reader: SegmentReader, fieldname: str) -> list[int]:
    """Every document's length in ``fieldname`` (Whoosh keeps them as one byte per document)."""
    count = leaf_reader.doc_count_all()
    try:
        column = leaf_reader._perdoc._cached_reader(f"_{fieldname}_len", LENGTHS_COLUMN)
        if column is None:
            return [0] * count
        if column._fixedlen == 1:
            raw = column._dbfile.get(column._basepos, column._count)
            return [_LENGTH_OF_BYTE[b] for b in raw] + [0] * (count - len(raw))
    except AttributeError:  # another codec: the slow, public way
        pass
    return [leaf_reader.doc_field_length(d, fieldname, 0) or 0 for d in range(count)]


# --------------------------------------------------------------------------------------------------
# Per-segment facts, cached by segment id (segments never change, only their deletion sets).


class _Lexicon:
    """A family's vocabulary in one segment, bucketed by first letter and sorted by length, for
    finding terms within a small edit distance without Whoosh's (slow, pure-Python) automata."""

    __slots__ = ("buckets",)

    def __init__(self, terms: Iterable[str]):
        grouped: dict[str, list[str]] = {}
        for term in terms:
            if 3 <= len(term) <= 30 and not term.isdigit():
                grouped.setdefault(term[0], []).append(term)
        self.buckets: dict[str, tuple[list[str], list[int], list[int]]] = {}
        for first, words in grouped.items():
            words.sort(key=len)
            self.buckets[first] = (words, [len(w) for w in words], [_char_mask(w) for w in words])

    def near(self, word: str, limit: int) -> list[tuple[str, int]]:
        bucket = self.buckets.get(word[0])
        if not bucket:
            return []
        words, lengths, masks = bucket
        from bisect import bisect_left, bisect_right

        lo = bisect_left(lengths, len(word) - limit)
        hi = bisect_right(lengths, len(word) + limit)
        wmask = _char_mask(word)
        out = []
        for index in range(lo, hi):
            # Each edit changes at most two letters' presence: a cheap filter before the DP.
            if (masks[index] ^ wmask).bit_count() <= 2 * limit:
                candidate = words[index]
                if candidate != word:
                    distance = _osa_distance(word, candidate, limit)
                    if distance <= limit:
                        out.append((candidate, distance))
        return out


class _SegmentFacts:
    __slots__ = ("keyword_masks", "lengths", "lexicons")

    def __init__(self) -> None:
        self.keyword_masks: dict[str, dict[str, int]] = {}
        self.lexicons: dict[str, _Lexicon] = {}
        self.lengths: dict[str, list[int]] = {}


# --------------------------------------------------------------------------------------------------
# One generation of one index directory: its reader plus everything derived from it.


class _Generation:
    def __init__(self, view: _IndexView, reader: Any, generation: int):
        self.view = view
        self.reader = reader
        self.key = (view.name, generation)
        self.segments: list[tuple[str, SegmentReader, int]] = []
        for leaf_reader, offset in reader.leaf_readers():
            segment = leaf_reader.segment()
            self.segments.append((segment.segment_id() if segment else "", leaf_reader, offset))
        self.ndocs = self.reader.doc_count_all()
        self.active = tuple(
            fam
            for fam in S.FAMILIES
            if self.reader.field_length(S.body_field(fam)) or self.reader.field_length(S.title_field(fam))
        )
        live = (1 << self.ndocs) - 1
        for _, leaf_reader, offset in self.segments:
            if leaf_reader.has_deletions():
                deleted = _mask_from_ids(leaf_reader.deleted_docs_set, leaf_reader.doc_count_all())
                live &= ~(deleted << offset)
        self.live = live
        self._keyword: dict[str, dict[str, int]] = {}
        self._allowed: dict[Any, tuple[int, bytes]] = {}
        self._term_masks: dict[tuple[str, str], int] = {}
        self._prefix: dict[tuple[str, str], list[str]] = {}
        self._stats: dict[tuple[str, str], tuple[float, float]] = {}

    def term_stats(self, fieldname: str, term: str) -> tuple[float, float]:
        """(BM25 idf of the term, average field length) over the whole index."""
        key = (fieldname, term)
        stats = self._stats.get(key)
        if stats is None:
            count = max(1, self.ndocs)
            frequency = self.reader.doc_frequency(fieldname, term)
            idf = math.log(1 + (count - frequency + 0.5) / (frequency + 0.5))
            average = max(1.0, self.reader.field_length(fieldname) / count)
            if len(self._stats) > 4096:
                self._stats.clear()
            stats = self._stats[key] = (idf, average)
        return stats

    # ---- keyword masks (visibility, facets, filters)

    def keyword_masks(self, fieldname: str) -> dict[str, int]:
        masks = self._keyword.get(fieldname)
        if masks is None:
            masks = {}
            for segid, leaf_reader, offset in self.segments:
                facts = self.view.segment_facts(segid)
                local = facts.keyword_masks.get(fieldname)
                if local is None:
                    local = {}
                    size = leaf_reader.doc_count_all()
                    for term in leaf_reader.lexicon(fieldname):
                        # Deleted documents are left out now; ones deleted later are masked by
                        # self.live, or never match a query (the matchers skip them).
                        ids = leaf_reader.postings(fieldname, term).all_ids()
                        local[term.decode("utf-8")] = _mask_from_ids(ids, size)
                    facts.keyword_masks[fieldname] = local
                for value, mask in local.items():
                    masks[value] = masks.get(value, 0) | (mask << offset)
            self._keyword[fieldname] = masks
        return masks

    def allowed(
        self,
        visibilities: frozenset[str],
        constraints: tuple[tuple[str, frozenset[str]], ...],
        exclusions: tuple[tuple[str, frozenset[str]], ...],
    ) -> tuple[int, bytes]:
        key = (visibilities, constraints, exclusions)
        cached = self._allowed.get(key)
        if cached is None:
            vis_masks = self.keyword_masks("visibility")
            mask = 0
            for value in visibilities:
                mask |= vis_masks.get(value, 0)
            mask &= self.live
            for fieldname, values in constraints:
                masks = self.keyword_masks(fieldname)
                either = 0
                for value in values:
                    either |= masks.get(value, 0)
                mask &= either
            for fieldname, values in exclusions:
                masks = self.keyword_masks(fieldname)
                for value in values:
                    mask &= ~masks.get(value, 0)
            cached = (mask, mask.to_bytes((self.ndocs >> 3) + 1, "little"))
            if len(self._allowed) > 64:
                self._allowed.clear()
            self._allowed[key] = cached
        return cached

    # ---- term-level helpers

    def term_mask(self, fieldname: str, term: str) -> int:
        key = (fieldname, term)
        mask = self._term_masks.get(key)
        if mask is None:
            mask = 0
            for _, leaf_reader, offset in self.segments:
                if (fieldname, term) in leaf_reader:
                    ids = leaf_reader.postings(fieldname, term).all_ids()
                    mask |= _mask_from_ids(ids, leaf_reader.doc_count_all()) << offset
            if len(self._term_masks) > 2048:
                self._term_masks.clear()
            self._term_masks[key] = mask
        return mask

    def prefix_terms(self, fieldname: str, prefix: str, family: str) -> list[str]:
        key = (fieldname, prefix)
        cached = self._prefix.get(key)
        if cached is not None:
            return cached
        reader = self.reader
        found: dict[str, int] = {}
        for raw in itertools.islice(reader.expand_prefix(fieldname, prefix), 5000):
            term = raw.decode("utf-8") if isinstance(raw, bytes) else raw
            found[term] = reader.doc_frequency(fieldname, term)
        if family not in ("cjk", "plain"):
            # A prefix of a surface word is not always a prefix of its stem ("escalat*" vs the stem
            # "escal"): also take terms the prefix starts with, a few letters shorter.
            for cut in range(max(3, len(prefix) - 3), len(prefix)):
                stem = prefix[:cut]
                if stem not in found:
                    frequency = reader.doc_frequency(fieldname, stem)
                    if frequency:
                        found[stem] = frequency
        terms = [t for t, _ in heapq.nlargest(MAX_PREFIX_TERMS, found.items(), key=itemgetter(1))]
        if len(self._prefix) > 512:
            self._prefix.clear()
        self._prefix[key] = terms
        return terms

    def near_terms(self, family: str, word: str, limit: int) -> dict[str, int]:
        out: dict[str, int] = {}
        fields_ = (S.title_field(family), S.body_field(family))
        for segid, leaf_reader, _ in self.segments:
            facts = self.view.segment_facts(segid)
            lexicon = facts.lexicons.get(family)
            if lexicon is None:
                terms: set[str] = set()
                for fieldname in fields_:
                    if leaf_reader.field_length(fieldname):
                        terms.update(t.decode("utf-8") for t in leaf_reader.lexicon(fieldname))
                lexicon = facts.lexicons[family] = _Lexicon(terms)
            for term, distance in lexicon.near(word, limit):
                if distance < out.get(term, limit + 1):
                    out[term] = distance
        return out

    def surface_form(self, family: str, term: str, allowed: bytes) -> str | None:
        """How ``term`` (a stem) is most often written in the first visible documents that have it."""
        seen: dict[str, int] = {}
        documents = 0
        for fieldname, stored_name in ((S.body_field(family), "body"), (S.title_field(family), "title")):
            for _, leaf_reader, offset in self.segments:
                if (fieldname, term) not in leaf_reader:
                    continue
                matcher = leaf_reader.postings(fieldname, term)
                while matcher.is_active() and documents < 3:
                    docnum = matcher.id() + offset
                    if allowed[docnum >> 3] & _BITS[docnum & 7]:
                        documents += 1
                        text = leaf_reader.stored_fields(matcher.id()).get(stored_name) or ""
                        for start, end in find_spans(text, family, (term,)):
                            word = text[start:end].lower()
                            seen[word] = seen.get(word, 0) + 1
                    matcher.next()
            if seen:
                break
        return max(seen, key=lambda w: (seen[w], -len(w))) if seen else None


class _IndexView:
    """An open index directory. Keeps one searcher, refreshed by reusing the readers of segments
    whose deletions did not change. (whoosh3 3.54's own Searcher.refresh() reuses a segment reader
    by segment id alone, so deleted and merged-away documents stay visible after a refresh.)"""

    def __init__(self, root: Path, name: str):
        self.name = name
        self.path = root / name
        if not self.path.is_dir():
            raise IndexMissingError(f"search index directory {self.path} is missing")
        meta = self.path / META_FILE
        try:
            version = meta.read_text(encoding="utf-8").strip()
        except FileNotFoundError as exc:
            raise IndexCorruptError(f"search index {self.path} has no {META_FILE}") from exc
        if version != f"schema {S.SCHEMA_VERSION}":
            raise IndexCorruptError(
                f"search index {self.path} has {version!r}, this code needs "
                f"schema {S.SCHEMA_VERSION}: rebuild it"
            )
        self.storage = FileStorage(str(self.path))
        self.ix = FileIndex(self.storage, schema=S.SCHEMA)
        self._readers: dict[str, tuple[int, SegmentReader]] = {}
        self._facts: dict[str, _SegmentFacts] = {}
        self.gen: _Generation | None = None
        self.refresh()

    def segment_facts(self, segid: str) -> _SegmentFacts:
        facts = self._facts.get(segid)
        if facts is None:
            facts = self._facts[segid] = _SegmentFacts()
        return facts

    def field_lengths(self, segid: str, leaf_reader: SegmentReader, fieldname: str) -> list[int]:
        facts = self.segment_facts(segid)
        lengths = facts.lengths.get(fieldname)
        if lengths is None:
            lengths = facts.lengths[fieldname] = _read_lengths(leaf_reader, fieldname)
        return lengths

    def refresh(self) -> bool:
        """Load the newest generation if the index changed; True if it did."""
        if self.gen is not None and self.ix.latest_generation() == self.gen.key[1]:
            return False
        for attempt in range(5):
            try:
                toc = TOC.read(self.storage, self.ix.indexname, schema=S.SCHEMA)
                readers: dict[str, tuple[int, SegmentReader]] = {}
                ordered = []
                for segment in toc.segments:
                    segid = segment.segment_id()
                    deleted = segment.deleted_count()
                    old = self._readers.get(segid)
                    if old is not None and old[0] == deleted and not old[1].is_closed:
                        reader = old[1]
                    else:
                        reader = SegmentReader(self.storage, S.SCHEMA, segment, generation=toc.generation)
                    readers[segid] = (deleted, reader)
                    ordered.append(reader)
                break
            except FileNotFoundError:
                # A writer deleted merged-away files between our directory listing and the open.
                if attempt == 4:
                    raise
                time.sleep(0.02 * (attempt + 1))
        if not ordered:
            top = EmptyReader(S.SCHEMA)
        elif len(ordered) == 1:
            top = ordered[0]
        else:
            top = MultiReader(ordered, generation=toc.generation)
        for segid, (_, reader) in self._readers.items():
            if readers.get(segid, (None, None))[1] is not reader:
                reader.close()
        self._readers = readers
        self._facts = {segid: facts for segid, facts in self._facts.items() if segid in readers}
        self.gen = _Generation(self, top, toc.generation)
        return True

    def close(self) -> None:
        for _, reader in self._readers.values():
            try:
                reader.close()
            except Exception:
                log.debug("closing a segment reader failed", exc_info=True)
        self._readers = {}
        self.gen = None


# --------------------------------------------------------------------------------------------------
# Building a fresh index (serial, or in worker processes that each write one segment).


def _build_worker(path: str, segment_mb: int) -> None:
    """Entry point of a build worker process: pickled document batches arrive on stdin until None;
    the segments written go back on stdout as ("ok", segments, indexed, skipped)."""
    source, sink = sys.stdin.buffer, sys.stdout.buffer
    try:
        ix = FileIndex(FileStorage(path), schema=S.SCHEMA)

        def new_writer() -> SegmentWriter:
            # Postings stay in memory (spilling runs to disk and merging them halves the speed);
            # a full pool is written out as one segment and a new one begins. Not compound:
            # assembling one file would copy every byte once more.
            return SegmentWriter(ix, _lk=False, limitmb=segment_mb * 4, codec=S.index_codec(), compound=False)

        writer = new_writer()
        segments = []
        count = skipped = 0
        limit = segment_mb * 1024 * 1024
        while (batch := pickle.load(source)) is not None:
            for doc in batch:
                try:
                    fields_ = S.prepare_document(doc)
                except ValueError:
                    skipped += 1
                    continue
                writer.add_document(**fields_)
                count += 1
                if writer.pool.currentsize > limit:
                    segments.append(writer._finalize_segment())
                    writer = new_writer()
        if writer._added:
            segments.append(writer._finalize_segment())
        else:
            writer._close_segment()
        pickle.dump(("ok", segments, count, skipped), sink)
    except BaseException as exc:
        pickle.dump(("error", f"{exc!r}\n{traceback.format_exc()}", 0, 0), sink)
        sink.flush()
        raise SystemExit(1) from exc
    sink.flush()


# The worker imports only kms.search.schema and .engine: kms/__init__.py would build the whole Flask
# app for nothing, so the two packages are registered as bare namespaces first.
_WORKER_CODE = """
import sys, types
for name, folder in ((\"kms\", sys.argv[1]), (\"kms.search\", sys.argv[2])):
    if name not in sys.modules:
        package = types.ModuleType(name)
        package.__path__ = [folder]
        sys.modules[name] = package
from kms.search.engine import _build_worker
_build_worker(sys.argv[3], int(sys.argv[4]))
"""


def _build_into(path: Path, documents: Iterable[Mapping[str, Any]], procs: int) -> int:
    path.mkdir(parents=True)
    FileIndex.create(FileStorage(str(path)), S.SCHEMA)
    (path / META_FILE).write_text(f"schema {S.SCHEMA_VERSION}\n", encoding="utf-8")
    seen: set[str] = set()

    def unique(docs: Iterable[Mapping[str, Any]]) -> Iterator[Mapping[str, Any]]:
        for doc in docs:
            doc_id = str(doc.get("id") or "")
            if doc_id in seen:
                log.warning("rebuild: duplicate document id %r skipped", doc_id)
                continue
            seen.add(doc_id)
            yield doc

    stream = unique(documents)
    head = list(itertools.islice(stream, PARALLEL_MIN_DOCS))
    ix = FileIndex(FileStorage(str(path)), schema=S.SCHEMA)
    if procs < 2 or len(head) < PARALLEL_MIN_DOCS:
        writer = ix.writer(limitmb=256, codec=S.index_codec())
        count = 0
        try:
            for doc in itertools.chain(head, stream):
                try:
                    fields_ = S.prepare_document(doc)
                except ValueError as exc:
                    log.warning("rebuild: %s", exc)
                    continue
                writer.add_document(**fields_)
                count += 1
        except BaseException:
            writer.cancel()
            raise
        writer.commit(optimize=True)
        return count
    return _build_parallel(ix, path, itertools.chain(head, stream), procs)


def _build_parallel(ix: FileIndex, path: Path, documents: Iterator[Mapping[str, Any]], procs: int) -> int:
    # Fresh interpreters rather than fork: forking a process whose other threads hold locks is
    # unsafe, and multiprocessing's spawn re-runs the parent's __main__ script.
    package = Path(S.__file__).resolve().parent
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    workers = []
    for _ in range(procs):
        errors_file = tempfile.TemporaryFile()  # noqa: SIM115 - closed after the worker exits
        process = subprocess.Popen(
            [
                sys.executable,
                "-c",
                _WORKER_CODE,
                str(package.parent),
                str(package),
                str(path),
                str(SEGMENT_MB),
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=errors_file,
            env=env,
        )
        workers.append((process, errors_file))
    batches: queue.Queue = queue.Queue(maxsize=procs * 2)
    feed_errors: list[BaseException] = []

    def feed(process: subprocess.Popen) -> None:
        # One feeder thread per worker pulls the next batch: a busy worker never holds up the rest.
        try:
            while (batch := batches.get()) is not None:
                pickle.dump(batch, process.stdin, protocol=pickle.HIGHEST_PROTOCOL)
            pickle.dump(None, process.stdin)
            process.stdin.close()
        except BaseException as exc:  # noqa: BLE001 - a dead worker; reported below
            feed_errors.append(exc)
            while batches.get() is not None:
                pass

    feeders = [threading.Thread(target=feed, args=(process,), daemon=True) for process, _ in workers]
    for feeder in feeders:
        feeder.start()
    outcomes = []
    try:
        batch: list[dict[str, Any]] = []
        for doc in documents:
            batch.append(dict(doc))
            if len(batch) >= BUILD_BATCH:
                batches.put(batch)
                batch = []
        if batch:
            batches.put(batch)
    finally:
        for _ in feeders:
            batches.put(None)
        for feeder in feeders:
            feeder.join()
        for process, errors_file in workers:
            try:
                outcomes.append(pickle.load(process.stdout))
            except (EOFError, pickle.UnpicklingError):
                errors_file.seek(0)
                detail = errors_file.read().decode("utf-8", "replace")[-4000:]
                outcomes.append(("error", f"worker exited with {process.wait()}:\n{detail}", 0, 0))
            process.stdout.close()
            process.wait()
            errors_file.close()
    errors = [detail for status, detail, _, _ in outcomes if status != "ok"]
    if errors:
        raise RuntimeError("search index build failed in a worker:\n" + "\n".join(errors))
    segments = [segment for _, worker_segments, _, _ in outcomes for segment in worker_segments]
    skipped = sum(outcome[3] for outcome in outcomes)
    if skipped:
        log.warning("rebuild: %d documents skipped (no id or visibility)", skipped)
    # Commit the workers' segments in one TOC, as Whoosh's own multiprocess writer does.
    writer = SegmentWriter(ix, timeout=5.0)
    writer._close_segment()
    writer._commit_toc(segments)
    writer._finish()
    return sum(outcome[2] for outcome in outcomes)


# --------------------------------------------------------------------------------------------------
# The engine.


class SearchEngine:
    """The search index in ``directory``: create-or-open, write, rebuild, query.

    One instance per process (per index) is meant to live as long as the process: it keeps the open
    segment readers and per-segment caches between queries and picks up other processes' writes on
    the next query. It is safe to use from several threads (queries take turns), and several
    processes may read, write and rebuild the same directory at once.

    ``create``: make an empty index when there is none (else IndexMissingError). ``lock_timeout``:
    seconds apply() waits for the write lock before IndexBusyError. ``cache_size``: results kept per
    index generation (0 = off). ``procs``: rebuild worker processes (default: one per core, max 4)."""

    def __init__(
        self,
        directory: str | os.PathLike[str],
        *,
        create: bool = True,
        lock_timeout: float = 10.0,
        cache_size: int = 256,
        procs: int | None = None,
    ):
        self.root = Path(directory)
        self.lock_timeout = lock_timeout
        self.cache_size = cache_size
        self.procs = procs if procs is not None else min(4, os.cpu_count() or 1)
        self._lock = threading.RLock()  # the searcher and its caches
        self._write_mutex = threading.Lock()  # one writer per process at a time
        self._view: _IndexView | None = None
        self._cache: OrderedDict[Any, Any] = OrderedDict()
        self._write_ix: tuple[str, FileIndex] | None = None
        if create:
            self._create_if_missing()
        elif not (self.root / CURRENT_FILE).exists():
            raise IndexMissingError(f"no search index in {self.root}")

    # ---- lifecycle

    def _create_if_missing(self) -> None:
        if (self.root / CURRENT_FILE).exists():
            return
        self.root.mkdir(parents=True, exist_ok=True)
        with _FileLock(self.root / REBUILD_LOCK_FILE):
            if (self.root / CURRENT_FILE).exists():
                return
            name = _new_index_name()
            _build_into(self.root / name, (), 1)
            _atomic_write(self.root / CURRENT_FILE, name + "\n")

    def close(self) -> None:
        with self._lock:
            if self._view is not None:
                self._view.close()
                self._view = None
            self._cache.clear()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _current_name(self) -> str:
        try:
            name = (self.root / CURRENT_FILE).read_text(encoding="utf-8").strip()
        except FileNotFoundError as exc:
            raise IndexMissingError(f"no search index in {self.root}") from exc
        except OSError as exc:
            raise IndexCorruptError(f"cannot read {self.root / CURRENT_FILE}: {exc}") from exc
        if not name.startswith(INDEX_PREFIX) or "/" in name or name in (".", ".."):
            raise IndexCorruptError(f"{self.root / CURRENT_FILE} names {name!r}, not an index")
        return name

    def _generation(self) -> _Generation:
        """The current generation, reopening or refreshing as needed (call with self._lock held)."""
        name = self._current_name()
        view = self._view
        if view is None or view.name != name:
            new_view = _IndexView(self.root, name)
            if view is not None:
                view.close()
            self._view = view = new_view
            self._cache.clear()
        elif view.refresh():
            self._cache.clear()
        assert view.gen is not None
        return view.gen

    def _drop_view(self) -> None:
        if self._view is not None:
            self._view.close()
            self._view = None
        self._cache.clear()

    def _reading(self, action: Any) -> Any:
        """Run ``action(gen)`` on the current generation; turn index damage into SearchIndexError.
        A directory swapped away by another process's rebuild is retried once on the new one."""
        with self._lock:
            for attempt in range(2):
                name = self._view.name if self._view is not None else None
                try:
                    return action(self._generation())
                except SearchIndexError:
                    self._drop_view()
                    raise
                except _INDEX_ERRORS as exc:
                    self._drop_view()
                    if attempt == 0 and name is not None and self._current_name() != name:
                        continue
                    raise IndexCorruptError(f"search index in {self.root} is unreadable: {exc!r}") from exc
        raise AssertionError("unreachable")

    # ---- reading

    def doc_count(self) -> int:
        """Number of (live) documents in the index."""
        return self._reading(lambda gen: gen.reader.doc_count())

    def stored_ids_and_stamps(self) -> dict[str, str | None]:
        """id -> stamp (the document's 'stamp', else its 'updated' time) of every live document,
        for comparing the index with the database."""

        def read(gen: _Generation) -> dict[str, str | None]:
            out: dict[str, str | None] = {}
            for _, leaf_reader, _ in gen.segments:
                ids = leaf_reader.column_reader("id")
                stamps = leaf_reader.column_reader("stamp")
                deleted = leaf_reader.deleted_docs_set if leaf_reader.has_deletions() else ()
                for docnum in range(leaf_reader.doc_count_all()):
                    if docnum not in deleted:
                        out[ids[docnum]] = stamps[docnum] or None
            return out

        return self._reading(read)

    def check(self, deep: bool = False) -> int:
        """Open the index and return its document count; with ``deep``, also read every posting
        list and stored document (slow: minutes on big indexes). Raises SearchIndexError."""

        def run(gen: _Generation) -> int:
            if deep:
                for _, leaf_reader, _ in gen.segments:
                    for (fieldname, text), _info in leaf_reader:
                        if S.SCHEMA[fieldname].format is not None:
                            for _ in leaf_reader.postings(fieldname, text).all_ids():
                                pass
                    for docnum in range(leaf_reader.doc_count_all()):
                        leaf_reader.stored_fields(docnum)
            return gen.reader.doc_count()

        with self._lock:
            self._drop_view()
        return self._reading(run)

    def warm(self) -> None:
        """Load what the first queries would otherwise load: document lengths, visibility and facet
        masks, and the typo-correction vocabularies. Optional; e.g. from a thread after startup or
        after a rebuild."""

        def run(gen: _Generation) -> None:
            for fieldname in ("visibility", *(name for _, name in FACETS)):
                gen.keyword_masks(fieldname)
            for segid, leaf_reader, _ in gen.segments:
                for family in gen.active:
                    for fieldname in (S.title_field(family), S.body_field(family)):
                        gen.view.field_lengths(segid, leaf_reader, fieldname)
            for family in gen.active:
                if family != "cjk":
                    gen.near_terms(family, "warm", 1)  # builds the per-segment vocabularies

        self._reading(run)

    def search(
        self,
        query_text: str,
        *,
        visibilities: Iterable[str],
        filters: Mapping[str, Any] | None = None,
        page: int = 1,
        pagelen: int = 10,
    ) -> SearchResult:
        """Search everything the user may see. Results, counts, facets and the suggestion only ever
        come from documents whose visibility is in ``visibilities``. ``filters`` maps type /
        category / tag / lang / status / owner to a value or a list of values (any of them)."""
        query_text = (query_text or "")[:MAX_QUERY_CHARS]
        parsed = parse_query(query_text)
        visible = frozenset(S.normalize_keyword(v) for v in visibilities if str(v).strip())
        constraints = parsed.filters + _filter_constraints(filters)
        page = max(1, min(int(page), 10_000))
        pagelen = max(1, min(int(pagelen), 100))
        empty = SearchResult(query_text, (), 0, page, pagelen, {name: () for name, _ in FACETS})
        if not visible or (not parsed.groups and not constraints):
            return empty

        def run(gen: _Generation) -> SearchResult:
            key = (gen.key, parsed, visible, constraints, page, pagelen, query_text)
            cached = self._cache.get(key)
            if cached is not None:
                self._cache.move_to_end(key)
                return cached
            result = self._search(gen, query_text, parsed, visible, constraints, page, pagelen, empty)
            if self.cache_size:
                self._cache[key] = result
                if len(self._cache) > self.cache_size:
                    self._cache.popitem(last=False)
            return result

        return self._reading(run)

    def _search(
        self,
        gen: _Generation,
        query_text: str,
        parsed: ParsedQuery,
        visible: frozenset[str],
        constraints: tuple[tuple[str, frozenset[str]], ...],
        page: int,
        pagelen: int,
        empty: SearchResult,
    ) -> SearchResult:
        allowed_mask, allowed = gen.allowed(visible, constraints, parsed.excluded_filters)
        if not allowed_mask:
            return empty
        if not parsed.groups:
            return self._listing(gen, query_text, allowed_mask, page, pagelen)
        built = _build_query(gen, parsed)
        if built is None:
            return empty
        node, highlights = built
        scored = _evaluate(gen, node, allowed)
        fuzzy = False
        suggestion = None
        if len(scored) < FEW_RESULTS:
            retry = _typo_retry(gen, parsed, query_text, allowed_mask, allowed, len(scored))
            if retry is not None:
                retry_node, retry_highlights, suggestion = retry
                retry_scored = _evaluate(gen, retry_node, allowed)
                if len(retry_scored) > len(scored):
                    scored, highlights, fuzzy = retry_scored, retry_highlights, True
                if not retry_scored:
                    suggestion = None
        total = len(scored)
        top = heapq.nlargest(page * pagelen, scored)[(page - 1) * pagelen :]
        matched = _mask_from_ids((docnum for _, docnum in scored), gen.ndocs)
        hits = _make_hits(gen, top, highlights)
        return SearchResult(query_text, hits, total, page, pagelen, _facets(gen, matched), suggestion, fuzzy)

    def _listing(
        self, gen: _Generation, query_text: str, allowed_mask: int, page: int, pagelen: int
    ) -> SearchResult:
        """A query of filters only: every allowed document, most recently updated first."""
        docnums = list(_iter_mask(allowed_mask))
        updated: list[tuple[Any, int]] = []
        for _, leaf_reader, offset in gen.segments:
            column = leaf_reader.column_reader("updated_sort")
            end = offset + leaf_reader.doc_count_all()
            for docnum in docnums:
                if offset <= docnum < end:
                    updated.append((column[docnum - offset] or 0, docnum))
        top = heapq.nlargest(page * pagelen, updated)[(page - 1) * pagelen :]
        hits = _make_hits(gen, [(0.0, docnum) for _, docnum in top], {})
        return SearchResult(query_text, hits, len(docnums), page, pagelen, _facets(gen, allowed_mask))

    def suggest_titles(
        self, prefix: str, *, visibilities: Iterable[str], limit: int = 8
    ) -> list[TitleSuggestion]:
        """Type-ahead: titles of visible documents whose words start with what was typed so far."""
        prefix = (prefix or "")[:200]
        visible = frozenset(S.normalize_keyword(v) for v in visibilities if str(v).strip())
        analyzer = S.SCHEMA["title_ac"].analyzer
        words = analyzer.terms(prefix)[:12]
        if not words or not visible or limit < 1:
            return []
        complete, last = (words, None) if prefix[-1:].isspace() else (words[:-1], words[-1])

        def run(gen: _Generation) -> list[TitleSuggestion]:
            _, allowed = gen.allowed(visible, (), ())
            parts: list[tuple] = [("term", "title_ac", word) for word in complete]
            if last is not None:
                expansions = gen.prefix_terms("title_ac", last, "plain")
                if not expansions:
                    return []
                parts.append(("or", [("term", "title_ac", t) for t in expansions]))
            scored = _evaluate(gen, ("and", parts), allowed)
            lowered = prefix.strip().lower()
            out = []
            for score, docnum in heapq.nlargest(limit * 4, scored):
                stored = gen.reader.stored_fields(docnum)
                title = stored.get("title", "")
                # A title that starts with the typed text is the one people mean.
                out.append((title.lower().startswith(lowered), score, -len(title), docnum, stored))
            out.sort(key=lambda item: item[:4], reverse=True)
            return [
                TitleSuggestion(s.get("id", ""), s.get("type", ""), s.get("title", ""), s.get("url", ""))
                for *_, s in out[:limit]
            ]

        return self._reading(run)

    # ---- writing

    def apply(self, changes: Mapping[str, Mapping[str, Any] | None]) -> int:
        """Write changes (doc id -> document, or None to delete) with one writer and one commit.

        Waits up to ``lock_timeout`` for the index lock (IndexBusyError after that), so concurrent
        writers in other processes are serialized instead of losing updates. Returns the number of
        changes written; they are visible to this process's next search at once, and to other
        processes' next search (they check for a new generation on every search)."""
        prepared: list[tuple[str, dict[str, Any] | None]] = []
        for doc_id, doc in changes.items():
            doc_id = str(doc_id)
            if doc is None:
                prepared.append((doc_id, None))
                continue
            fields_ = S.prepare_document({**doc, "id": doc.get("id") or doc_id})
            if fields_["id"] != doc_id:
                raise ValueError(f"change for {doc_id!r} holds a document with id {fields_['id']!r}")
            prepared.append((doc_id, fields_))
        if not prepared:
            return 0
        with self._write_mutex:
            while True:
                name = self._current_name()
                ix = self._writer_index(name)
                try:
                    writer = ix.writer(timeout=self.lock_timeout, delay=0.02, codec=S.index_codec())
                except LockError as exc:
                    raise IndexBusyError(
                        f"search index {self.root / name} stayed locked for {self.lock_timeout} s"
                    ) from exc
                except _INDEX_ERRORS as exc:
                    raise IndexCorruptError(f"cannot write search index {self.root / name}: {exc!r}") from exc
                try:
                    if self._current_name() != name:
                        writer.cancel()  # a rebuild swapped indexes while we waited for the lock
                        continue
                    self._log_for_rebuild(prepared)
                    for doc_id, fields_ in prepared:
                        if fields_ is None:
                            writer.delete_by_term("id", doc_id)
                        else:
                            writer.update_document(**fields_)
                    writer.commit()
                except BaseException:
                    if not writer.is_closed:
                        writer.cancel()
                    raise
                break
        return len(prepared)

    def _writer_index(self, name: str) -> FileIndex:
        if self._write_ix is None or self._write_ix[0] != name:
            path = self.root / name
            if not path.is_dir():
                raise IndexMissingError(f"search index directory {path} is missing")
            self._write_ix = (name, FileIndex(FileStorage(str(path)), schema=S.SCHEMA))
        return self._write_ix[1]

    def _log_for_rebuild(self, prepared: list[tuple[str, dict[str, Any] | None]]) -> None:
        marker = self.root / REBUILD_MARKER_FILE
        if not marker.exists() or not _is_locked(self.root / REBUILD_LOCK_FILE):
            return
        try:
            build = marker.read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            return
        with open(self.root / f"replay-{build}.log", "ab") as handle:
            pickle.dump(prepared, handle, protocol=pickle.HIGHEST_PROTOCOL)
            handle.flush()
            os.fsync(handle.fileno())

    def rebuild(self, documents: Iterable[Mapping[str, Any]]) -> int:
        """Index ``documents`` into a fresh directory and switch every process over to it atomically.

        Searches keep working on the old index until the switch. Changes apply()-ed while the build
        runs are replayed into the new index before the switch, so pass a lazy iterable (read the
        database inside it) and nothing written meanwhile is lost. Returns the new document count."""
        self.root.mkdir(parents=True, exist_ok=True)
        with _FileLock(self.root / REBUILD_LOCK_FILE):
            name = _new_index_name()
            path = self.root / name
            replay = self.root / f"replay-{name}.log"
            marker = self.root / REBUILD_MARKER_FILE
            _atomic_write(marker, name + "\n")
            try:
                _build_into(path, documents, self.procs)
                try:
                    old = self._current_name()
                except SearchIndexError:
                    old = None
                old_lock = None
                if old and (self.root / old).is_dir():
                    old_lock = _FileLock(self.root / old / "MAIN_WRITELOCK")  # Whoosh's own lock file
                if old_lock is not None and not _acquire_within(old_lock, max(self.lock_timeout, 60.0)):
                    raise IndexBusyError(
                        f"search index {self.root / old} stayed locked; rebuild not switched"
                    )
                try:
                    count = _replay(path, replay)
                    _atomic_write(self.root / CURRENT_FILE, name + "\n")
                finally:
                    if old_lock is not None:
                        old_lock.release()
            except BaseException:
                shutil.rmtree(path, ignore_errors=True)
                raise
            finally:
                marker.unlink(missing_ok=True)
                replay.unlink(missing_ok=True)
            self._remove_stale_indexes(keep={name, old or ""})
        return count

    def _remove_stale_indexes(self, keep: set[str]) -> None:
        # The previous index stays one more round: other processes may still be reading it.
        for entry in self.root.iterdir():
            if entry.is_dir() and entry.name.startswith(INDEX_PREFIX) and entry.name not in keep:
                shutil.rmtree(entry, ignore_errors=True)


def _acquire_within(lock: _FileLock, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while True:
        if lock.acquire(blocking=False):
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.02)


def _replay(path: Path, replay: Path) -> int:
    ix = FileIndex(FileStorage(str(path)), schema=S.SCHEMA)
    if replay.exists():
        records = []
        with open(replay, "rb") as handle:
            while True:
                try:
                    records.append(pickle.load(handle))
                except EOFError:
                    break
        if records:
            writer = ix.writer(timeout=5.0, codec=S.index_codec())
            try:
                for prepared in records:
                    for doc_id, fields_ in prepared:
                        if fields_ is None:
                            writer.delete_by_term("id", doc_id)
                        else:
                            writer.update_document(**fields_)
            except BaseException:
                writer.cancel()
                raise
            writer.commit()
    with ix.reader() as reader:
        return reader.doc_count()


def _new_index_name() -> str:
    return f"{INDEX_PREFIX}{time.strftime('%Y%m%d%H%M%S')}-{uuid.uuid4().hex[:8]}"


def _filter_constraints(filters: Mapping[str, Any] | None) -> tuple[tuple[str, frozenset[str]], ...]:
    if not filters:
        return ()
    out = []
    for name, value in filters.items():
        target = FILTER_FIELDS.get(str(name).lower())
        if target is None or value is None or value == "":
            continue
        values = [value] if isinstance(value, str) else list(value)
        keys = frozenset(k for k in (S.normalize_keyword(v) for v in values) if k)
        if keys:
            out.append((target, keys))
    return tuple(sorted(out))


# --------------------------------------------------------------------------------------------------
# Query building, matching, typo correction, hits.


# A query is a small tree of tuples, evaluated segment by segment straight from Whoosh's posting
# blocks: ("term", field, text), ("or", [nodes]), ("and", [nodes]), ("not", node, node),
# ("phrase", field, [texts]) and NULL. Whoosh's own matcher tree costs several microseconds per
# matching document in method calls and per-document length lookups; kms needs every match scored
# anyway (for the total and the facets), so it scores postings in bulk instead.
NULL: tuple = ("null",)
K1, B = 1.2, 0.75


def _clause_node(gen: _Generation, clause: Clause, highlights: dict[str, set[str]]) -> tuple | None:
    """The node for one clause over every active family; None = nothing to search (only stop
    words), NULL = cannot match."""
    parts: list[tuple] = []
    if clause.kind == "prefix":
        prefix = S.fold(clause.text.lower())
        for family in gen.active:
            for fieldname in (S.title_field(family), S.body_field(family)):
                terms = gen.prefix_terms(fieldname, prefix, family)
                parts.extend(("term", fieldname, t) for t in terms)
                highlights.setdefault(fieldname, set()).update(terms)
        return ("or", parts) if parts else NULL
    any_terms = False
    for family in gen.active:
        terms = S.analyzer_for(family).terms(clause.text)
        if not terms:
            continue
        any_terms = True
        for fieldname in (S.title_field(family), S.body_field(family)):
            if len(terms) == 1:
                term = terms[0]
                if family == "cjk" and len(term) == 1 and S._CJK_RE.match(term):
                    # One CJK character: it begins some indexed bigram (or is a run's last char).
                    expansions = gen.prefix_terms(fieldname, term, family)
                    parts.extend(("term", fieldname, t) for t in expansions)
                    highlights.setdefault(fieldname, set()).update(expansions)
                else:
                    parts.append(("term", fieldname, term))
                    highlights.setdefault(fieldname, set()).add(term)
            else:
                parts.append(("phrase", fieldname, terms))
                highlights.setdefault(fieldname, set()).update(terms)
    if not any_terms:
        return None
    return ("or", parts) if parts else NULL


def _build_query(
    gen: _Generation,
    parsed: ParsedQuery,
    overrides: Mapping[tuple[int, int], list[tuple[str, str]]] | None = None,
) -> tuple[tuple, dict[str, set[str]]] | None:
    highlights: dict[str, set[str]] = {}
    groups: list[tuple] = []
    for gi, group in enumerate(parsed.groups):
        parts = []
        for ci, clause in enumerate(group):
            if overrides and (gi, ci) in overrides:
                alternatives = []
                for family, term in overrides[(gi, ci)]:
                    for fieldname in (S.title_field(family), S.body_field(family)):
                        alternatives.append(("term", fieldname, term))
                        highlights.setdefault(fieldname, set()).add(term)
                part: tuple | None = ("or", alternatives)
            else:
                part = _clause_node(gen, clause, highlights)
            if part is not None:
                parts.append(part)
        if parts:
            groups.append(parts[0] if len(parts) == 1 else ("or", parts))
    if not groups:
        return None
    positive = groups[0] if len(groups) == 1 else ("and", groups)
    negatives = [n for n in (_clause_node(gen, c, {}) for c in parsed.excluded) if n not in (None, NULL)]
    if negatives:
        positive = ("not", positive, ("or", negatives))
    return positive, highlights


def _postings(leaf_reader: SegmentReader, fieldname: str, term: str) -> tuple[Any, Any]:
    """(docnums, weights) of a term in one segment, deleted documents included (the caller's
    allowed-document bits leave them out)."""
    if (fieldname, term) not in leaf_reader:
        return (), ()
    matcher = leaf_reader.postings(fieldname, term)
    matcher = getattr(matcher, "child", matcher)  # FilterMatcher over deletions
    if hasattr(matcher, "_read_ids") and hasattr(matcher, "_lastblock"):
        # W3LeafMatcher: take whole blocks instead of stepping posting by posting.
        ids: list[int] = []
        weights: list[float] = []
        while not matcher._atend:
            matcher._read_ids()
            matcher._read_weights()
            ids.extend(matcher._ids)
            weights.extend(matcher._weights)
            if matcher._lastblock:
                break
            matcher._next_block()
        return ids, weights
    ids, weights = [], []
    while matcher.is_active():
        ids.append(matcher.id())
        weights.append(matcher.weight())
        matcher.next()
    return ids, weights


class _SegmentEval:
    """Evaluates a query tree in one segment: {segment docnum: BM25 score}."""

    def __init__(self, gen: _Generation, segid: str, leaf_reader: SegmentReader):
        self.gen = gen
        self.segid = segid
        self.reader = leaf_reader

    def run(self, node: tuple) -> dict[int, float]:
        kind = node[0]
        if kind == "term":
            return self.term(node[1], node[2])
        if kind == "or":
            results = sorted((self.run(child) for child in node[1]), key=len, reverse=True)
            if not results:
                return {}
            merged = dict(results[0])
            for other in results[1:]:
                get = merged.get
                for docnum, score in other.items():
                    merged[docnum] = get(docnum, 0.0) + score
            return merged
        if kind == "and":
            results = []
            for child in node[1]:
                result = self.run(child)
                if not result:
                    return {}
                results.append(result)
            results.sort(key=len)
            merged = results[0]
            for other in results[1:]:
                merged = {d: s + other[d] for d, s in merged.items() if d in other}
                if not merged:
                    return {}
            return merged
        if kind == "not":
            positive = self.run(node[1])
            if positive:
                negative = self.run(node[2])
                positive = {d: s for d, s in positive.items() if d not in negative}
            return positive
        if kind == "phrase":
            return self.phrase(node[1], node[2])
        return {}

    def term(self, fieldname: str, term: str) -> dict[int, float]:
        ids, weights = _postings(self.reader, fieldname, term)
        if not ids:
            return {}
        idf, avg = self.gen.term_stats(fieldname, term)
        lengths = self.gen.view.field_lengths(self.segid, self.reader, fieldname)
        scale = idf * (K1 + 1)
        c1 = K1 * (1 - B)
        c2 = K1 * B / avg
        return {d: scale * w / (w + c1 + c2 * lengths[d]) for d, w in zip(ids, weights, strict=True)}

    def phrase(self, fieldname: str, terms: list[str]) -> dict[int, float]:
        candidates = self.run(("and", [("term", fieldname, t) for t in dict.fromkeys(terms)]))
        if not candidates:
            return {}
        posfield = fieldname
        # Rarest term first: each later term only decodes the documents still in the running.
        order = sorted(range(len(terms)), key=lambda i: self.reader.doc_frequency(posfield, terms[i]))
        alive = sorted(candidates)
        starts: dict[int, set[int]] | None = None
        for index in order:
            survivors: dict[int, set[int]] = {}
            for docnum, positions in _positions(self.reader, posfield, terms[index], alive).items():
                here = {p - index for p in positions}
                if starts is not None:
                    here &= starts[docnum]
                if here:
                    survivors[docnum] = here
            starts = survivors
            if not starts:
                return {}
            alive = sorted(starts)
        return {d: candidates[d] for d in alive}


def _positions(
    leaf_reader: SegmentReader, fieldname: str, term: str, docnums: list[int]
) -> dict[int, list[int]]:
    """Positions of ``term`` in each of the (sorted) ``docnums`` that has it. Blocks holding none
    of them are skipped on their header alone."""
    if (fieldname, term) not in leaf_reader or not docnums:
        return {}
    matcher = leaf_reader.postings(fieldname, term)
    matcher = getattr(matcher, "child", matcher)
    decode = matcher.format.decode_positions
    out: dict[int, list[int]] = {}
    wanted = len(docnums)
    i = 0
    if hasattr(matcher, "_read_values") and hasattr(matcher, "_maxid"):
        while not matcher._atend and i < wanted:
            if docnums[i] <= matcher._maxid:
                matcher._read_ids()
                matcher._read_values()
                values = matcher._values
                for k, docnum in enumerate(matcher._ids):
                    while i < wanted and docnums[i] < docnum:
                        i += 1
                    if i == wanted:
                        break
                    if docnums[i] == docnum:
                        out[docnum] = decode(values[k])
                        i += 1
            if matcher._lastblock:
                break
            matcher._next_block()
        return out
    for docnum in docnums:
        if not matcher.is_active():
            break
        if matcher.id() < docnum:
            matcher.skip_to(docnum)
            if not matcher.is_active():
                break
        if matcher.id() == docnum:
            out[docnum] = matcher.value_as("positions")
    return out


def _evaluate(gen: _Generation, node: tuple, allowed: bytes) -> list[tuple[float, int]]:
    """Every allowed matching document as (score, global docnum)."""
    out: list[tuple[float, int]] = []
    if node is NULL:
        return out
    bits = _BITS
    for segid, leaf_reader, offset in gen.segments:
        scores = _SegmentEval(gen, segid, leaf_reader).run(node)
        if scores:
            out.extend(
                (score, d + offset)
                for d, score in scores.items()
                if allowed[(d + offset) >> 3] & bits[(d + offset) & 7]
            )
    return out


def _typo_retry(
    gen: _Generation, parsed: ParsedQuery, query_text: str, allowed_mask: int, allowed: bytes, found: int
):
    """Corrections for words that visible documents don't contain (or barely, when the query
    found little): the retry query with each such word OR-ed with its nearest visible terms, and
    "did you mean" with the best correction written as documents write it. Candidates are counted
    over visible documents only, so nothing about hidden documents leaks into the suggestion."""
    overrides: dict[tuple[int, int], list[tuple[str, str]]] = {}
    replacements: list[tuple[str, str]] = []
    for gi, group in enumerate(parsed.groups):
        for ci, clause in enumerate(group):
            if clause.kind != "word":
                continue
            per_family = {}
            for family in gen.active:
                if family == "cjk":
                    continue
                terms = S.analyzer_for(family).terms(clause.text)
                if len(terms) == 1 and len(terms[0]) >= 3 and not terms[0].isdigit():
                    per_family[family] = terms[0]
            if not per_family:
                continue
            own = 0
            for family, term in per_family.items():
                own |= gen.term_mask(S.title_field(family), term) | gen.term_mask(S.body_field(family), term)
            own_count = (own & allowed_mask).bit_count()
            if own_count and found >= FEW_RESULTS:
                continue
            candidates = []
            typed = S.fold(clause.text.lower())
            for family, term in per_family.items():
                near = gen.near_terms(family, term, 1 if len(term) <= 4 else 2)
                if family not in ("plain", "ar") and typed.isalpha():
                    # A typo in a suffix defeats the stemmer ("escalatoins" stays whole, while
                    # "escalations" became "escal"): a stem that begins the typed word counts too.
                    for cut in range(max(4, len(typed) - 6), len(typed)):
                        stem = typed[:cut]
                        if stem not in near and (
                            gen.reader.doc_frequency(S.body_field(family), stem)
                            or gen.reader.doc_frequency(S.title_field(family), stem)
                        ):
                            near[stem] = 2
                ranked = sorted(
                    near.items(),
                    key=lambda item: (
                        item[1],
                        -gen.reader.doc_frequency(S.body_field(family), item[0])
                        - gen.reader.doc_frequency(S.title_field(family), item[0]),
                    ),
                )[:12]
                for candidate, distance in ranked:
                    mask = gen.term_mask(S.title_field(family), candidate) | gen.term_mask(
                        S.body_field(family), candidate
                    )
                    visible_count = (mask & allowed_mask).bit_count()
                    # A rare word that exists is only "corrected" to a much more common one.
                    if visible_count and visible_count >= 10 * own_count:
                        candidates.append((distance, -visible_count, family, candidate))
            if not candidates:
                continue
            candidates.sort()
            chosen = candidates[:MAX_FUZZY_CANDIDATES]
            alternatives = [(family, term) for _, _, family, term in chosen]
            if own_count:
                alternatives += list(per_family.items())
            overrides[(gi, ci)] = alternatives
            _, _, family, best = chosen[0]
            surface = gen.surface_form(family, best, allowed) or best
            if clause.raw[:1].isupper():
                surface = surface[:1].upper() + surface[1:]
            replacements.append((clause.raw, surface))
    if not overrides:
        return None
    built = _build_query(gen, parsed, overrides)
    if built is None:
        return None
    suggestion = query_text
    for raw, surface in replacements:
        suggestion = re.sub(
            rf"(?<!\S){re.escape(raw)}(?!\S)", lambda _m, word=surface: word, suggestion, count=1
        )
    return built[0], built[1], (suggestion if suggestion != query_text else None)


def _facets(gen: _Generation, matched: int) -> dict[str, tuple[tuple[str, int], ...]]:
    out = {}
    for name, fieldname in FACETS:
        counts = []
        for value, mask in gen.keyword_masks(fieldname).items():
            count = (mask & matched).bit_count()
            if count:
                counts.append((value, count))
        counts.sort(key=lambda item: (-item[1], item[0]))
        out[name] = tuple(counts[:FACET_LIMIT])
    return out


def _make_hits(
    gen: _Generation, top: list[tuple[float, int]], highlights: Mapping[str, set[str]]
) -> tuple[Hit, ...]:
    hits = []
    for score, docnum in top:
        fields_ = gen.reader.stored_fields(docnum)
        family = S.document_family(fields_)
        title = fields_.get("title", "")
        body = fields_.get("body", "")
        title_terms = highlights.get(S.title_field(family), ())
        body_terms = highlights.get(S.body_field(family), ())
        hits.append(
            Hit(
                id=fields_.get("id", ""),
                type=fields_.get("type", ""),
                title=title,
                url=fields_.get("url", ""),
                snippet=make_snippet(body, find_spans(body, family, body_terms)),
                title_html=_marked(
                    title, _merge_spans(find_spans(title, family, title_terms)), 0, len(title)
                ),
                score=float(score),
                fields={k: v for k, v in fields_.items() if k != "body"},
            )
        )
    return tuple(hits)
