"""Opening the index: the view of one index directory, refreshed by reusing the readers of unchanged
segments, and its per-segment caches (field lengths, keyword masks, lexicons)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from kms.search import schema as S
from kms.search.engine import whoosh_adapter as wa
from kms.search.engine.constants import META_FILE
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
