"""Whoosh schema, per-language analyzers and the item -> index document mapping for kms search."""

from __future__ import annotations

import pickle
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any

from whoosh import columns, fields, formats
from whoosh.analysis import Composable, Token
from whoosh.system import pack_uint

# The names kms.search.analysis took over stay importable from here, as before the split.
from kms.search.analysis import (  # noqa: F401
    CJK_RE,
    CJK_SPLIT_RE,
    DEFAULT_LANGUAGE,
    FAMILIES,
    MARKS,
    MAX_TOKEN_CHARS,
    MIN_TOKEN_CHARS,
    SNOWBALL_FAMILIES,
    WORD_RE,
    FamilyRules,
    family_for_language,
    family_rules,
    fold,
    keyword_list,
    normalize_keyword,
    primary_language,
    variant_rules,
)
from kms.search.lightstem import rules_fingerprint
from kms.search.plaintext import strip_markdown

# Bump when the schema or an analyzer changes in a way that needs a rebuild; the engine stores it
# beside the index and refuses to search an index written with another version.
# 2: category, status and owner are one keyword each, commas or not. 3: Hindi and Tagalog fields and
# stemmers; the digest of their rules follows, so that changing a rule also asks for a rebuild.
SCHEMA_VERSION = f"3.{rules_fingerprint()}"
TITLE_BOOST = 2.0


def title_field(family: str) -> str:
    return f"title_{family}"


def body_field(family: str) -> str:
    return f"body_{family}"


TEXT_FIELDS = tuple(name for fam in FAMILIES for name in (title_field(fam), body_field(fam)))

# --------------------------------------------------------------------------------------------------
# Analyzers. One fused class instead of a Tokenizer | Lowercase | Stop | Stem chain: the chain pays a
# generator hop per filter per token, which is most of Whoosh's indexing time.


class FamilyAnalyzer(Composable):
    """Tokenize, lowercase, fold, drop stop words and stem for one language family.

    ``spans(text)`` yields (term, position, startchar, endchar); ``positions(text)`` is the fast
    index-side form; ``terms(text)`` the query-side one; Whoosh's analyzer protocol (``__call__``)
    sits on ``spans``. In the CJK family, runs of Han/Kana/Hangul become overlapping character
    bigrams plus, when indexing, the run's last character alone, so a one- or two-character query
    always finds its text (jieba would miss a two-character query inside a longer dictionary word)."""

    def __init__(self, family: str, stem: bool = True, stops: bool = True):
        self.family = family
        self.stem = stem
        self.stops = stops

    def __eq__(self, other: object) -> bool:
        return isinstance(other, FamilyAnalyzer) and (self.family, self.stem, self.stops) == (
            other.family,
            other.stem,
            other.stops,
        )

    def __hash__(self) -> int:
        return hash((self.family, self.stem, self.stops))

    def _rules(self) -> FamilyRules:
        return variant_rules(self.family, stem=self.stem, stops=self.stops)

    def spans(
        self, text: str, *, query: bool = False, start_pos: int = 0, start_char: int = 0
    ) -> Iterator[tuple[str, int, int, int]]:
        rules = self._rules()
        term = rules.term
        cjk = rules.cjk
        pos = start_pos
        for match in WORD_RE.finditer(text.replace("_", " ") if "_" in text else text):
            raw = match.group()
            if cjk and CJK_RE.search(raw):
                base = match.start()
                for part in CJK_SPLIT_RE.finditer(raw):
                    chunk = part.group()
                    offset = start_char + base + part.start()
                    if part.group(1):
                        if len(chunk) == 1:
                            yield chunk, pos, offset, offset + 1
                            pos += 1
                            continue
                        for i in range(len(chunk) - 1):
                            yield chunk[i : i + 2], pos, offset + i, offset + i + 2
                            pos += 1
                        if not query:
                            # The last character alone, so that a one-character query (a prefix
                            # over bigrams) also finds a character that ends a run.
                            yield chunk[-1], pos, offset + len(chunk) - 1, offset + len(chunk)
                            pos += 1
                    else:
                        for sub in WORD_RE.finditer(chunk):
                            t = term(sub.group().lower())
                            if t:
                                yield t, pos, offset + sub.start(), offset + sub.end()
                                pos += 1
                continue
            t = term(raw.lower())
            if t:
                yield t, pos, start_char + match.start(), start_char + match.end()
                pos += 1

    def positions(self, text: str) -> dict[str, list[int]]:
        """Index-side analysis in one pass: term -> its positions in ``text``."""
        rules = self._rules()
        lowered = text.lower()
        seen: dict[str, list[int]] = {}
        if rules.cjk or len(lowered) != len(text):
            # CJK runs, or a letter whose lowercase has another length (findall on the lowered
            # text would then not line up with what spans() sees).
            for term, pos, _, _ in self.spans(text):
                seen.setdefault(term, []).append(pos)
            return seen
        if "_" in lowered:
            lowered = lowered.replace("_", " ")
        cache_get = rules.cache.get
        compute = rules.term
        pos = 0
        for raw in WORD_RE.findall(lowered):
            term = cache_get(raw)
            if term is None:
                term = compute(raw)
            if term:
                positions = seen.get(term)
                if positions is None:
                    seen[term] = [pos]
                else:
                    positions.append(pos)
                pos += 1
        return seen

    def terms(self, text: str) -> list[str]:
        """Query-side analysis: the terms of ``text`` in order (CJK runs as bigrams)."""
        return [t for t, _, _, _ in self.spans(text, query=True)]

    def __call__(
        self,
        value: Any,
        positions: bool = False,
        chars: bool = False,
        keeporiginal: bool = False,
        removestops: bool = True,
        start_pos: int = 0,
        start_char: int = 0,
        tokenize: bool = True,
        mode: str = "",
        **kwargs: Any,
    ) -> Iterator[Token]:
        token = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        if not tokenize:
            rules = self._rules()
            lowered = str(value).lower()
            token.text = rules.term(lowered) or fold(lowered)
            token.original = str(value)
            token.boost = 1.0
            if positions:
                token.pos = start_pos
            if chars:
                token.startchar, token.endchar = start_char, start_char + len(value)
            yield token
            return
        for text, pos, startchar, endchar in self.spans(
            value, query=mode == "query", start_pos=start_pos, start_char=start_char
        ):
            token.text = text
            token.boost = 1.0
            token.stopped = False
            if keeporiginal:
                token.original = value[startchar - start_char : endchar - start_char]
            if positions:
                token.pos = pos
            if chars:
                token.startchar, token.endchar = startchar, endchar
            yield token


class KeywordListAnalyzer(Composable):
    """Comma-separated keywords, each normalized by :func:`normalize_keyword` into one token."""

    def __eq__(self, other: object) -> bool:
        return isinstance(other, KeywordListAnalyzer)

    def __hash__(self) -> int:
        return hash(KeywordListAnalyzer)

    def __call__(
        self,
        value: Any,
        positions: bool = False,
        chars: bool = False,
        removestops: bool = True,
        start_pos: int = 0,
        start_char: int = 0,
        tokenize: bool = True,
        mode: str = "",
        **kwargs: Any,
    ) -> Iterator[Token]:
        token = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        parts = [str(value)] if not tokenize else str(value).split(",")
        for i, part in enumerate(parts):
            key = normalize_keyword(part)
            if not key:
                continue
            token.text = key
            token.boost = 1.0
            token.stopped = False
            if positions:
                token.pos = start_pos + i
            if chars:
                token.startchar, token.endchar = start_char, start_char + len(part)
            yield token


class FastPositions(formats.Positions):
    """Whoosh's Positions posting format (term frequency as weight, positions for phrases), fed
    straight from ``FamilyAnalyzer.positions`` without Token objects. The bytes written are
    exactly Positions' own, so reading is Whoosh's.

    No character offsets: they would triple the posting values that every query decodes, and
    snippets find their words in the stored text instead (kms.search.engine.find_spans)."""

    def word_values(self, value: Any, analyzer: Any, **kwargs: Any):
        positions_of = getattr(analyzer, "positions", None)
        if positions_of is None or not isinstance(value, str):
            yield from super().word_values(value, analyzer, **kwargs)
            return
        boost = self.field_boost
        dumps = pickle.dumps
        for text, positions in positions_of(value).items():
            count = len(positions)
            if count > 1:
                positions = [b - a for a, b in zip([0, *positions], positions, strict=False)]  # deltas
            yield text, count, count * boost, pack_uint(count) + dumps(positions, 2)


# --------------------------------------------------------------------------------------------------
# The schema.


_ANALYZERS = {family: FamilyAnalyzer(family) for family in FAMILIES}


def _text_field(family: str, boost: float) -> fields.FieldType:
    return fields.FieldType(FastPositions(field_boost=boost), _ANALYZERS[family], scorable=True)


def _keyword_field(stored: bool = True) -> fields.FieldType:
    return fields.FieldType(formats.Existence(), KeywordListAnalyzer(), scorable=False, stored=stored)


def build_schema() -> fields.Schema:
    """The index schema: one document per item, text fields per language family."""
    schema = fields.Schema(
        # id and stamp are also columns, so drift checks read them without unpickling stored bodies.
        id=fields.ID(stored=True, unique=True, sortable=True),
        type=_keyword_field(),
        category=_keyword_field(),
        tags=_keyword_field(),
        language=_keyword_field(),
        status=_keyword_field(),
        visibility=_keyword_field(),
        owner=_keyword_field(),
        # Stored for display and kept as a column for "newest first"; not indexed (a DATETIME
        # field writes 8 trie terms per document that nothing here queries).
        updated=fields.STORED(),
        updated_sort=fields.COLUMN(columns.NumericColumn("q", default=0)),
        verified=fields.STORED(),
        url=fields.STORED(),
        title=fields.STORED(),
        body=fields.STORED(),
        stamp=fields.ID(stored=True, sortable=True),
        # Unstemmed title words for type-ahead: a prefix of a surface word is not a prefix of its stem.
        title_ac=fields.FieldType(
            formats.Frequency(), FamilyAnalyzer("cjk", stem=False, stops=False), scorable=True
        ),
    )
    for family in FAMILIES:
        schema.add(title_field(family), _text_field(family, TITLE_BOOST))
        schema.add(body_field(family), _text_field(family, 1.0))
    return schema


SCHEMA = build_schema()


KEYWORD_FIELDS = ("type", "category", "tags", "language", "status", "visibility", "owner")


def analyzer_for(family: str) -> FamilyAnalyzer:
    return SCHEMA[body_field(family)].analyzer


# --------------------------------------------------------------------------------------------------
# Item dict -> Whoosh fields.

DOC_TYPES = ("article", "process", "module", "lesson")


def prepare_document(doc: Mapping[str, Any]) -> dict[str, Any]:
    """Turn an item dict (id, type, title, body, tags, category, language, status, visibility,
    owner, updated, url, verified, optional stamp) into the keyword arguments of add_document.

    Raises ValueError for a document without id or visibility: an item nobody may see, or that
    cannot be replaced later, must not enter the index."""
    doc_id = str(doc.get("id") or "").strip()
    if not doc_id:
        raise ValueError("search document without an id")
    visibility = keyword_list(doc.get("visibility"))
    if not visibility:
        raise ValueError(f"search document {doc_id!r} has no visibility")
    language = str(doc.get("language") or DEFAULT_LANGUAGE).strip()
    family = family_for_language(language)
    title = str(doc.get("title") or "").strip()
    body = strip_markdown(str(doc.get("body") or ""))
    updated = doc.get("updated")
    tags = keyword_list(doc.get("tags"))
    out: dict[str, Any] = {
        "id": doc_id,
        "type": normalize_keyword(doc.get("type") or "article"),
        "title": title,
        "body": body,
        "url": str(doc.get("url") or ""),
        "visibility": ",".join(visibility),
        "_stored_visibility": visibility,
        "language": f"{language.lower().replace('_', '-')},{primary_language(language)}",
        "_stored_language": language,
        "title_ac": title,
        title_field(family): title,
        body_field(family): body,
    }
    if tags:
        raw_tags = doc.get("tags")
        labels = raw_tags.split(",") if isinstance(raw_tags, str) else [str(tag) for tag in raw_tags]
        out["tags"] = ",".join(tags)
        out["_stored_tags"] = [label.strip() for label in labels if label.strip()]
    for name in ("category", "status", "owner"):
        value = doc.get(name)
        if value not in (None, ""):
            # One keyword even when the name holds a comma ("Returns, exchanges"); the name as
            # written is stored, for display and facet labels.
            out[name] = normalize_keyword(value)
            out[f"_stored_{name}"] = str(value)
    if isinstance(updated, datetime):
        out["updated"] = updated
        out["updated_sort"] = int(updated.timestamp() * 1_000_000)
    verified = doc.get("verified")
    if verified is not None:
        out["verified"] = verified
    stamp = doc.get("stamp")
    if stamp is None and isinstance(updated, datetime):
        stamp = updated.isoformat()
    if stamp is not None:
        out["stamp"] = str(stamp)
    return out


def document_family(fields_: Mapping[str, Any]) -> str:
    """The family of a prepared (or stored) document, from its language."""
    return family_for_language(fields_.get("_stored_language") or fields_.get("language"))
