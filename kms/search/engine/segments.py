"""Opening the index: the view of one index directory, refreshed by reusing the readers of unchanged
segments, its per-segment caches (field lengths, keyword masks, lexicons), and the errors a damaged
or vanished index raises from inside Whoosh."""

from __future__ import annotations

import logging
import pickle
import struct
import time
import zlib
from pathlib import Path

from whoosh.codec.whoosh3 import LENGTHS_COLUMN
from whoosh.filedb.filestore import FileStorage
from whoosh.index import TOC, EmptyIndexError, FileIndex
from whoosh.reading import CorruptIndexError, EmptyReader, MultiReader, ReaderClosed, SegmentReader
from whoosh.util.numeric import byte_to_length

from kms.search import schema as S
from kms.search.engine.constants import META_FILE
from kms.search.engine.errors import IndexCorruptError, IndexMissingError
from kms.search.engine.fuzzy import _Lexicon
from kms.search.engine.generation import _Generation

log = logging.getLogger("kms.search.engine")  # the engine's one logger, as before the split


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


class _SegmentFacts:
    __slots__ = ("keyword_masks", "lengths", "lexicons")

    def __init__(self) -> None:
        self.keyword_masks: dict[str, dict[str, int]] = {}
        self.lexicons: dict[str, _Lexicon] = {}
        self.lengths: dict[str, list[int]] = {}


# --------------------------------------------------------------------------------------------------
# The open index directory.


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
