"""The engine's one door into Whoosh (the whoosh3 distribution): index directories and their storage,
writers (including the build workers' uncommitted segments), segment readers, the W3 codec's posting
blocks and length columns, and the errors a damaged index raises from inside Whoosh.

Everything here leans on whoosh3 internals (private attributes, the codec's block layout, TOC and
SegmentWriter details) that a release may change without notice; pyproject.toml pins the range it
was written against and tests/search/test_whoosh_adapter.py fails when the installed whoosh3 leaves
it. The other engine modules import nothing from Whoosh: they call these functions and, on the
readers and matchers handed back, only Whoosh's documented IndexReader and Matcher methods.
"""

from __future__ import annotations

import pickle
import struct
import time
import zlib
from array import array
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from whoosh.codec.whoosh3 import LENGTHS_COLUMN, W3Codec
from whoosh.filedb.filestore import FileStorage
from whoosh.index import TOC, EmptyIndexError, FileIndex, LockError
from whoosh.reading import CorruptIndexError, EmptyReader, MultiReader, ReaderClosed, SegmentReader
from whoosh.system import pack_uint
from whoosh.util.numeric import byte_to_length
from whoosh.writing import SegmentWriter

from kms.search import schema as S

# Names the engine uses for Whoosh's types, so annotations need no Whoosh import.
Index = FileIndex
LeafReader = SegmentReader
IndexLocked = LockError  # a writer did not get the index lock in time

# Errors a damaged or vanished index raises from inside Whoosh.
INDEX_ERRORS: tuple[type[BaseException], ...] = (
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
WRITE_LOCK_FILE = "MAIN_WRITELOCK"  # Whoosh's own lock file inside an index directory

_LENGTH_OF_BYTE = [byte_to_length(b) for b in range(256)]

Prepared = list[tuple[str, dict[str, Any] | None]]  # doc id -> prepared fields, or None to delete


def index_codec() -> W3Codec:
    """Whoosh's codec without per-posting length statistics. Those only feed block-max skipping
    (Whoosh's TopCollector); kms scores every match to count and facet, and skipping the lookup of
    each document's field length for every posting makes indexing ~18% cheaper."""
    codec = W3Codec(compression=1)  # zlib level 1: a third of level 3's time, ~5% larger
    codec.length_stats = False
    return codec


# --------------------------------------------------------------------------------------------------
# Index directories and writers.


def create_index(path: Path) -> None:
    """Write an empty Whoosh index with the kms schema into the (existing) directory ``path``."""
    FileIndex.create(FileStorage(str(path)), S.SCHEMA)


def open_index(path: Path) -> FileIndex:
    """The Whoosh index in ``path`` with the kms schema. Opening reads the newest table of contents; when
    another process's commit deletes it between the directory listing and the read, the open is retried."""
    for attempt in range(5):
        try:
            return FileIndex(FileStorage(str(path)), schema=S.SCHEMA)
        except FileNotFoundError:
            if attempt == 4:
                raise
            time.sleep(0.02 * (attempt + 1))
    raise AssertionError("unreachable")


def open_writer(ix: FileIndex, *, timeout: float, delay: float = 0.1) -> Any:
    """A writer holding the index lock, waited for up to ``timeout`` s (IndexLocked after that)."""
    return ix.writer(timeout=timeout, delay=delay, codec=index_codec())


def bulk_writer(ix: FileIndex) -> Any:
    """A writer for a fresh index's one big build, with a large in-memory postings pool."""
    return ix.writer(limitmb=256, codec=index_codec())


def write_changes(writer: Any, prepared: Prepared) -> None:
    """Apply prepared changes with ``writer``: replace each document by id, or delete it (None)."""
    for doc_id, fields_ in prepared:
        if fields_ is None:
            writer.delete_by_term("id", doc_id)
        else:
            writer.update_document(**fields_)


def index_doc_count(ix: FileIndex) -> int:
    """Live documents in the index's newest generation."""
    with ix.reader() as reader:
        return reader.doc_count()


# What one pooled posting costs in memory, about (three list slots, an int, a float, a bytes object): the pool's
# size estimate, which decides when a build worker starts a new segment (SEGMENT_MB).
_POSTING_BYTES = 100
_SINGLE_POSITION: dict[int, bytes] = {}  # position -> the encoded value of a word seen once, at it


class _TermLists:
    """A build worker's postings pool: per field, per term, the docnums, weights and values in the order
    documents arrive (so already sorted by docnum). Whoosh's PostingPool keeps one tuple per posting
    and sorts them all before writing; here only the terms of each field are sorted."""

    def __init__(self) -> None:
        self.fields: dict[str, dict[bytes, tuple[list[int], list[float], list[bytes]]]] = {}
        # FastPositions fields, keyed by the term as text (encoded once, when written: UTF-8 bytes sort
        # as their text does, so the order is the same).
        self.texts: dict[str, dict[str, tuple[list[int], list[float], list[bytes]]]] = {}
        self.currentsize = 0  # Whoosh's name, read by SegmentBuilder: an estimate in bytes

    def add(self, item: tuple[str, bytes, int, float, bytes | None]) -> None:
        """Take one (fieldname, term bytes, docnum, weight, value) posting, as SegmentWriter hands it."""
        fieldname, tbytes, docnum, weight, vbytes = item
        terms = self.fields.get(fieldname)
        if terms is None:
            terms = self.fields[fieldname] = {}
        entry = terms.get(tbytes)
        if entry is None:
            entry = terms[tbytes] = ([], [], [])
            self.currentsize += 80 + len(tbytes)
        entry[0].append(docnum)
        entry[1].append(weight)
        if vbytes:
            entry[2].append(vbytes)
            self.currentsize += _POSTING_BYTES + len(vbytes)
        else:
            self.currentsize += _POSTING_BYTES

    def add_positions(self, fieldname: str, docnum: int, found: Mapping[str, list[int]], boost: float) -> int:
        """Take one document's terms of a FastPositions field (term -> positions), encoded exactly as
        FastPositions.word_values encodes them; the field length (number of words) back."""
        terms = self.texts.get(fieldname)
        if terms is None:
            terms = self.texts[fieldname] = {}
        length = 0
        size = 0
        dumps = pickle.dumps
        single = _SINGLE_POSITION
        for text, positions in found.items():
            count = len(positions)
            length += count
            if count == 1:
                # Most words occur once in a page: their encoded value repeats, keep it.
                vbytes = single.get(positions[0])
                if vbytes is None:
                    vbytes = pack_uint(1) + dumps(positions, 2)
                    if positions[0] < 65536:
                        single[positions[0]] = vbytes
            else:
                deltas = [b - a for a, b in zip([0, *positions], positions, strict=False)]
                vbytes = pack_uint(count) + dumps(deltas, 2)
            entry = terms.get(text)
            if entry is None:
                entry = terms[text] = ([], [], [])
                size += 80 + 2 * len(text)
            entry[0].append(docnum)
            entry[1].append(count * boost)
            entry[2].append(vbytes)
            size += _POSTING_BYTES + len(vbytes)
        self.currentsize += size
        return length

    def cleanup(self) -> None:
        self.fields = {}
        self.texts = {}

    def write(self, schema: Any, fieldwriter: Any) -> None:
        """Write every posting list through the codec's field writer, whole blocks at a time."""
        for fieldname in sorted(self.fields.keys() | self.texts.keys()):
            terms = self.fields.get(fieldname, {})
            if fieldname in self.texts:
                terms.update((text.encode("utf-8"), entry) for text, entry in self.texts[fieldname].items())
            fieldwriter.start_field(fieldname, schema[fieldname])
            for tbytes in sorted(terms):
                ids, weights, values = terms[tbytes]
                fieldwriter.start_term(tbytes)
                _fill_blocks(fieldwriter._postwriter, ids, weights, values)
                fieldwriter.finish_term()
            fieldwriter.finish_field()


def _fill_blocks(postwriter: Any, ids: list[int], weights: list[float], values: list[bytes]) -> None:
    """Hand one term's postings to W3's block writer a block at a time (its add_posting() checks and
    appends one posting per call). The last block is left buffered for finish_term() to write."""
    limit = postwriter._blocklimit
    count = len(ids)
    for start in range(0, count, limit):
        end = min(count, start + limit)
        postwriter._ids = array("I", ids[start:end])
        chunk = array("f", weights[start:end])
        postwriter._weights = chunk
        postwriter._values = values[start:end] if values else []
        postwriter._maxweight = max(chunk)
        postwriter._minlength = None
        postwriter._maxlength = 0
        if end < count:
            postwriter._write_block()


class _FastSegmentWriter(SegmentWriter):
    """SegmentWriter with the in-memory _TermLists pool; the segment it writes is byte for byte the
    kind Whoosh writes (same codec, same blocks), only built with less work per posting."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.pool.cleanup()
        self.pool = _TermLists()
        # Whoosh's add_document also feeds spelling words and term vectors; the kms schema has neither,
        # and a schema that had them would go the general way.
        self._plain = not any(f.separate_spelling() or f.vector for _, f in self.schema.items())

    def add_document(self, **fields: Any) -> None:
        """SegmentWriter.add_document, with FastPositions fields analyzed and pooled in one step."""
        if not self._plain:
            super().add_document(**fields)
            return
        self._check_state()
        perdocwriter, schema, docnum, pool = self.perdocwriter, self.schema, self.docnum, self.pool
        docboost = self._doc_boost(fields)
        fieldnames = sorted(name for name in fields if not name.startswith("_"))
        self._check_fields(schema, fieldnames)
        perdocwriter.start_doc(docnum)
        try:
            for fieldname in fieldnames:
                value = fields.get(fieldname)
                if value is None:
                    continue
                field = schema[fieldname]
                length = 0
                if field.indexed:
                    boost = self._field_boost(fields, fieldname, docboost)
                    if isinstance(field.format, S.FastPositions) and isinstance(value, str):
                        found = field.analyzer.positions(value)
                        length = pool.add_positions(
                            fieldname, docnum, found, field.format.field_boost * boost
                        )
                        if not field.scorable:
                            length = 0
                    else:
                        for tbytes, freq, weight, vbytes in field.index(value):
                            if field.scorable:
                                length += freq
                            pool.add((fieldname, tbytes, docnum, weight * boost, vbytes))
                stored = fields.get(f"_stored_{fieldname}", value)
                perdocwriter.add_field(fieldname, field, stored if field.stored else None, length)
                if field.column_type and stored is not None:
                    perdocwriter.add_column_value(fieldname, field.column_type, field.to_column_value(stored))
        except ValueError:
            perdocwriter.cancel_doc()
            raise
        perdocwriter.finish_doc()
        self._added = True
        self.docnum += 1

    def _flush_segment(self) -> None:
        self.perdocwriter.close()
        self.pool.write(self.schema, self.fieldwriter)
        self.fieldwriter.close()


class SegmentBuilder:
    """A build worker's writer: documents go into finished but uncommitted segments (a new one each
    time the postings pool passes ``segment_mb``), which the parent commits with commit_segments(),
    as Whoosh's own multiprocess writer does."""

    def __init__(self, path: str, segment_mb: int):
        self._ix = FileIndex(FileStorage(path), schema=S.SCHEMA)
        self._limit = segment_mb * 1024 * 1024
        self._pool_mb = segment_mb * 4
        self._writer = self._new_writer()
        self.segments: list[Any] = []

    def _new_writer(self) -> SegmentWriter:
        # Postings stay in memory (spilling runs to disk and merging them halves the speed); a full
        # pool is written out as one segment. Not compound: one file would copy every byte again.
        return _FastSegmentWriter(
            self._ix, _lk=False, limitmb=self._pool_mb, codec=index_codec(), compound=False
        )

    def add(self, fields_: Mapping[str, Any]) -> None:
        """Add one prepared document, finishing the segment when the pool is full."""
        self._writer.add_document(**fields_)
        if self._writer.pool.currentsize > self._limit:
            self.segments.append(self._writer._finalize_segment())
            self._writer = self._new_writer()

    def finish(self) -> list[Any]:
        """Finish the last segment (or drop it when empty); the segments to commit (picklable)."""
        if self._writer._added:
            self.segments.append(self._writer._finalize_segment())
        else:
            self._writer._close_segment()
        return self.segments


def commit_segments(ix: FileIndex, segments: Iterable[Any]) -> None:
    """Commit segments written by SegmentBuilder workers into the index in one new generation."""
    writer = SegmentWriter(ix, timeout=5.0)
    writer._close_segment()
    writer._commit_toc(list(segments))
    writer._finish()


# --------------------------------------------------------------------------------------------------
# Reading: one generation's segment readers, reused across refreshes.


def open_segment_readers(
    ix: FileIndex, previous: Mapping[str, tuple[int, Any]]
) -> tuple[Any, dict[str, tuple[int, Any]], int]:
    """Open the newest generation: (top reader, segment id -> (deleted count, reader), generation).

    A reader in ``previous`` is reused when its segment's deletions did not change (whoosh3 3.54's
    own Searcher.refresh() reuses a reader by segment id alone, so deleted and merged-away documents
    stay visible after a refresh). The caller closes the previous readers not reused."""
    for attempt in range(5):
        try:
            toc = TOC.read(ix.storage, ix.indexname, schema=S.SCHEMA)
            readers: dict[str, tuple[int, Any]] = {}
            ordered = []
            for segment in toc.segments:
                segid = segment.segment_id()
                deleted = segment.deleted_count()
                old = previous.get(segid)
                if old is not None and old[0] == deleted and not old[1].is_closed:
                    reader = old[1]
                else:
                    reader = SegmentReader(ix.storage, S.SCHEMA, segment, generation=toc.generation)
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
    return top, readers, toc.generation


def leaves(reader: Any) -> list[tuple[str, SegmentReader, int]]:
    """(segment id, segment reader, first global docnum) of each segment under ``reader``."""
    out = []
    for leaf_reader, offset in reader.leaf_readers():
        segment = leaf_reader.segment()
        out.append((segment.segment_id() if segment else "", leaf_reader, offset))
    return out


def deleted_docnums(leaf_reader: SegmentReader) -> Iterable[int]:
    """The segment's deleted docnums (empty when it has none)."""
    return leaf_reader.deleted_docs_set if leaf_reader.has_deletions() else ()


def field_lengths(leaf_reader: SegmentReader, fieldname: str) -> list[int]:
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


def postings(
    leaf_reader: SegmentReader, fieldname: str, term: str, values: bool = False
) -> tuple[list[int], list[float], list[bytes] | None]:
    """(docnums, weights, encoded values or None) of a term in one segment, deleted documents
    included (the caller's allowed-document bits leave them out). ``values``: also the encoded
    posting values (positions), for phrases."""
    if (fieldname, term) not in leaf_reader:
        return [], [], [] if values else None
    matcher = leaf_reader.postings(fieldname, term)
    matcher = getattr(matcher, "child", matcher)  # FilterMatcher over deletions
    ids: list[int] = []
    weights: list[float] = []
    raw: list[bytes] | None = [] if values else None
    if hasattr(matcher, "_read_ids") and hasattr(matcher, "_lastblock"):
        # W3LeafMatcher: take whole blocks instead of stepping posting by posting.
        while not matcher._atend:
            matcher._read_ids()
            matcher._read_weights()
            ids.extend(matcher._ids)
            weights.extend(matcher._weights)
            if raw is not None:
                matcher._read_values()
                raw.extend(matcher._values)
            if matcher._lastblock:
                break
            matcher._next_block()
        return ids, weights, raw
    while matcher.is_active():
        ids.append(matcher.id())
        weights.append(matcher.weight())
        if raw is not None:
            raw.append(matcher.value())
        matcher.next()
    return ids, weights, raw


def positions_decoder(fieldname: str) -> Any:
    """The function that turns one encoded posting value of ``fieldname`` into its positions."""
    return S.SCHEMA[fieldname].format.decode_positions


def positions(
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


def read_segment_fully(leaf_reader: SegmentReader) -> None:
    """Decode every posting list and stored document of a segment (raises on damage)."""
    for (fieldname, text), _info in leaf_reader:
        if S.SCHEMA[fieldname].format is not None:
            for _ in leaf_reader.postings(fieldname, text).all_ids():
                pass
    for docnum in range(leaf_reader.doc_count_all()):
        leaf_reader.stored_fields(docnum)
