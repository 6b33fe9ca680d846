"""Opening the index: the view of one index directory, refreshed by reusing the readers of unchanged
segments, and its per-segment caches (field lengths, keyword masks, lexicons)."""

from __future__ import annotations

import logging
from array import array
from bisect import bisect_left
from collections import OrderedDict
from pathlib import Path
from typing import Any

from kms.search import schema as S
from kms.search.engine import whoosh_adapter as wa
from kms.search.engine.constants import META_FILE, POSTINGS_CACHE
from kms.search.engine.errors import IndexCorruptError, IndexMissingError
from kms.search.engine.fuzzy import Lexicon
from kms.search.engine.generation import Generation

log = logging.getLogger("kms.search.engine")  # the engine's one logger, as before the split


# --------------------------------------------------------------------------------------------------
# Per-segment facts, cached by segment id (segments never change, only their deletion sets).


class SegmentFacts:
    """What is derived from one segment once: keyword masks, lexicons, field lengths."""

    __slots__ = ("keyword_masks", "lengths", "lexicons")

    def __init__(self) -> None:
        self.keyword_masks: dict[str, dict[str, int]] = {}
        self.lexicons: dict[str, Lexicon] = {}
        self.lengths: dict[str, list[int]] = {}


def _cost(entry: tuple[array, array, list[bytes] | None]) -> int:
    """What a cached posting list counts against POSTINGS_CACHE: one per posting, seven with positions
    (a bytes object per posting weighs about six docnum + weight pairs)."""
    return len(entry[0]) * (1 if entry[2] is None else 7)


# --------------------------------------------------------------------------------------------------
# The open index directory.


class IndexView:
    """An open index directory. Keeps one reader, refreshed by reusing the readers of segments whose
    deletions did not change (see whoosh_adapter.open_segment_readers)."""

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
        self.ix = wa.open_index(self.path)
        self._readers: dict[str, tuple[int, Any]] = {}
        self._facts: dict[str, SegmentFacts] = {}
        # (segment id, field, term) -> (docnums, weights), least recently used first; a segment's
        # postings never change (deletions are masked by the caller), so entries stay valid until
        # their segment is merged away.
        self._postings: OrderedDict[tuple[str, str, str], tuple[array, array]] = OrderedDict()
        self._postings_held = 0
        self.gen: Generation | None = None
        self.refresh()

    def segment_facts(self, segid: str) -> SegmentFacts:
        facts = self._facts.get(segid)
        if facts is None:
            facts = self._facts[segid] = SegmentFacts()
        return facts

    def field_lengths(self, segid: str, leaf_reader: wa.LeafReader, fieldname: str) -> list[int]:
        facts = self.segment_facts(segid)
        lengths = facts.lengths.get(fieldname)
        if lengths is None:
            lengths = facts.lengths[fieldname] = wa.field_lengths(leaf_reader, fieldname)
        return lengths

    def postings(
        self, segid: str, leaf_reader: wa.LeafReader, fieldname: str, term: str, values: bool = False
    ) -> tuple[array, array, list[bytes] | None]:
        """(docnums, weights, encoded positions or None) of a term in one segment, decoded once and
        kept while the cache's budget allows. ``values``: the positions too (phrases need them)."""
        key = (segid, fieldname, term)
        cached = self._postings.get(key)
        if cached is not None and (cached[2] is not None or not values):
            self._postings.move_to_end(key)
            return cached
        ids, weights, raw = wa.postings(leaf_reader, fieldname, term, values=values)
        entry = (array("I", ids), array("f", weights), raw)
        if cached is not None:
            self._postings_held -= _cost(cached)
            del self._postings[key]
        if _cost(entry) <= POSTINGS_CACHE // 4:
            self._postings[key] = entry
            self._postings_held += _cost(entry)
            while self._postings_held > POSTINGS_CACHE:
                _, old = self._postings.popitem(last=False)
                self._postings_held -= _cost(old)
        return entry

    def positions(
        self, segid: str, leaf_reader: wa.LeafReader, fieldname: str, term: str, docnums: list[int]
    ) -> dict[int, list[int]]:
        """Positions of ``term`` in each of the (sorted) ``docnums`` that has it."""
        ids, _, raw = self.postings(segid, leaf_reader, fieldname, term, values=True)
        out: dict[int, list[int]] = {}
        if not ids or raw is None:
            return out
        fmt = wa.positions_decoder(fieldname)
        lo, end = 0, len(ids)
        for docnum in docnums:
            lo = bisect_left(ids, docnum, lo, end)
            if lo == end:
                break
            if ids[lo] == docnum:
                out[docnum] = fmt(raw[lo])
        return out

    def refresh(self) -> bool:
        """Load the newest generation if the index changed; True if it did."""
        if self.gen is not None and self.ix.latest_generation() == self.gen.key[1]:
            return False
        top, readers, generation = wa.open_segment_readers(self.ix, self._readers)
        for segid, (_, reader) in self._readers.items():
            if readers.get(segid, (None, None))[1] is not reader:
                reader.close()
        self._readers = readers
        self._facts = {segid: facts for segid, facts in self._facts.items() if segid in readers}
        for key in [key for key in self._postings if key[0] not in readers]:
            self._postings_held -= _cost(self._postings.pop(key))
        self.gen = Generation(self, top, generation)
        return True

    def close(self) -> None:
        for _, reader in self._readers.values():
            try:
                reader.close()
            except Exception:
                log.debug("closing a segment reader failed", exc_info=True)
        self._readers = {}
        self.gen = None
