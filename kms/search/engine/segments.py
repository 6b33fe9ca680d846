"""Reading the index: bitmask and fuzzy-match helpers, per-segment facts, lexicons, generations and
the refreshed index view."""

from __future__ import annotations

import heapq
import itertools
import logging
import math
import pickle
import struct
import time
import zlib
from collections.abc import Iterable, Iterator
from operator import itemgetter
from pathlib import Path
from typing import Any

from whoosh.codec.whoosh3 import LENGTHS_COLUMN
from whoosh.filedb.filestore import FileStorage
from whoosh.index import TOC, EmptyIndexError, FileIndex
from whoosh.reading import CorruptIndexError, EmptyReader, MultiReader, ReaderClosed, SegmentReader
from whoosh.util.numeric import byte_to_length

from kms.search import schema as S
from kms.search.engine.constants import _BITS, MAX_PREFIX_TERMS, META_FILE
from kms.search.engine.errors import IndexCorruptError, IndexMissingError
from kms.search.engine.snippets import find_spans

log = logging.getLogger("kms.search.engine")  # the engine's one logger, as before the split


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
