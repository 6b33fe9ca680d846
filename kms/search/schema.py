"""Whoosh schema, per-language analyzers and the item -> index document mapping for kms search."""

from __future__ import annotations

import html
import pickle
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import datetime
from typing import Any

from whoosh import columns, fields, formats
from whoosh.analysis import STOP_WORDS, Composable, Token
from whoosh.codec.whoosh3 import W3Codec
from whoosh.lang import stemmer_for_language, stopwords_for_language
from whoosh.lang.porter import stem as porter_stem
from whoosh.system import pack_uint

# Bump when the schema or an analyzer changes in a way that needs a rebuild; the engine stores it
# beside the index and refuses to search an index written with another version.
SCHEMA_VERSION = 1

DEFAULT_LANGUAGE = "en"
MIN_TOKEN_CHARS = 2  # single letters are noise in alphabetic scripts (CJK is handled apart)
MAX_TOKEN_CHARS = 40  # longer "words" are hashes, URLs and base64: they only bloat the lexicon
TITLE_BOOST = 2.0

# --------------------------------------------------------------------------------------------------
# Language families. Each family has its own title_<family> and body_<family> fields, so every
# document is analyzed by its own language's rules and a query is analyzed once per family that has
# documents; all of them are searched together, which is how an English query word still finds a
# Norwegian page that uses it.

SNOWBALL_FAMILIES = ("da", "de", "es", "fi", "fr", "hu", "it", "nl", "no", "pt", "ro", "ru", "sv")
FAMILIES = ("en", *SNOWBALL_FAMILIES, "ar", "cjk", "plain")

_LANGUAGE_FAMILY = {
    "en": "en",
    "eng": "en",
    "english": "en",
    "nb": "no",
    "nn": "no",
    "no": "no",
    "nob": "no",
    "nno": "no",
    "nor": "no",
    "norsk": "no",
    "zh": "cjk",
    "ja": "cjk",
    "ko": "cjk",
    "zho": "cjk",
    "jpn": "cjk",
    "kor": "cjk",
    "yue": "cjk",
    "cmn": "cjk",
    "wuu": "cjk",
    "ar": "ar",
    "ara": "ar",
    **{code: code for code in SNOWBALL_FAMILIES},
    "dan": "da",
    "deu": "de",
    "ger": "de",
    "spa": "es",
    "fin": "fi",
    "fra": "fr",
    "fre": "fr",
    "hun": "hu",
    "ita": "it",
    "nld": "nl",
    "dut": "nl",
    "por": "pt",
    "ron": "ro",
    "rum": "ro",
    "rus": "ru",
    "swe": "sv",
}


def family_for_language(language: str | None) -> str:
    """Map a BCP 47 tag as authors write it (en-US, nb, zh-Hant, hi, tl) to an analyzer family."""
    primary = primary_language(language)
    return _LANGUAGE_FAMILY.get(primary, "plain")


def primary_language(language: str | None) -> str:
    """'en-US' -> 'en', 'zh_Hant' -> 'zh'; missing -> the default language."""
    tag = (language or "").strip().lower().replace("_", "-")
    return tag.split("-", 1)[0] or DEFAULT_LANGUAGE


def title_field(family: str) -> str:
    return f"title_{family}"


def body_field(family: str) -> str:
    return f"body_{family}"


TEXT_FIELDS = tuple(name for fam in FAMILIES for name in (title_field(fam), body_field(fam)))

# --------------------------------------------------------------------------------------------------
# Character handling shared by all analyzers.


def _mark_ranges() -> str:
    # Python's \w has no combining marks (Devanagari vowel signs, virama, nukta are Mn/Mc), so a
    # plain \w+ cuts Hindi words into pieces. Build the mark class once from the Unicode database.
    ranges: list[tuple[int, int]] = []
    for cp in range(0x300, 0x10000):
        if unicodedata.category(chr(cp)) in ("Mn", "Mc", "Me"):
            if ranges and ranges[-1][1] == cp - 1:
                ranges[-1] = (ranges[-1][0], cp)
            else:
                ranges.append((cp, cp))
    return "".join(f"\\u{a:04x}-\\u{b:04x}" if a != b else f"\\u{a:04x}" for a, b in ranges)


_MARKS = _mark_ranges()
# Underscores are turned into spaces before matching (same length, so offsets hold), which keeps
# this class simple: letters, digits and combining marks.
_WORD_RE = re.compile(f"[\\w{_MARKS}]+")
_CJK_CHARS = (
    "\u1100-\u11ff\u2e80-\u2fdf\u3005\u3040-\u30ff\u3130-\u318f\u31a0-\u31ff\u3400-\u4dbf"
    "\u4e00-\u9fff\ua960-\ua97f\uac00-\ud7af\ud7b0-\ud7ff\uf900-\ufaff\uff66-\uff9f"
    "\U00020000-\U0003134f"
)
_CJK_RE = re.compile(f"[{_CJK_CHARS}]")
_CJK_SPLIT_RE = re.compile(f"([{_CJK_CHARS}]+)|([^{_CJK_CHARS}]+)")
_COMBINING_DIACRITICS_RE = re.compile("[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]")
# Letters that Unicode does not decompose into base + accent.
_FOLD_SPECIAL = str.maketrans(
    {
        "ø": "o",
        "æ": "ae",
        "œ": "oe",
        "ß": "ss",
        "đ": "d",
        "ł": "l",
        "þ": "th",
        "ð": "d",
        "ı": "i",
        "ħ": "h",
        "ŧ": "t",
        "ŋ": "n",
        "ĸ": "k",
        "ſ": "s",
        "ƒ": "f",
    }
)


def fold(word: str) -> str:
    """Fold accents and compatibility forms of a lowercased word: 'café' -> 'cafe', 'ﬁ' -> 'fi'.

    Only Latin/Greek/Cyrillic style combining diacritics are removed; the vowel signs of Indic
    scripts are letters of the word and stay, and CJK/Hangul come back composed (NFC)."""
    if word.isascii():
        return word
    decomposed = unicodedata.normalize("NFKD", word.translate(_FOLD_SPECIAL))
    return unicodedata.normalize("NFC", _COMBINING_DIACRITICS_RE.sub("", decomposed))


def normalize_keyword(value: Any) -> str:
    """One keyword as indexed and as typed in a filter: 'Customer Success' -> 'customer-success'."""
    text = fold(str(value).strip().lower())
    return "-".join(text.split())


def _keyword_list(value: Any) -> list[str]:
    if value is None:
        return []
    items = [value] if isinstance(value, str) else list(value)
    out: list[str] = []
    for item in items:
        for part in str(item).split(","):
            key = normalize_keyword(part)
            if key and key not in out:
                out.append(key)
    return out


# --------------------------------------------------------------------------------------------------
# Per-family term normalization (lowercase -> fold -> stop words -> stem), memoized because natural
# language repeats itself: the cache turns most stemmer calls into one dict lookup.

_STEM_CACHE_LIMIT = 300_000


class _Family:
    __slots__ = ("cache", "cjk", "name", "stem", "stops")

    def __init__(self, name: str, stem: Callable[[str], str] | None, stops: Iterable[str]):
        self.name = name
        self.stem = stem
        self.stops = frozenset(fold(w) for w in stops)
        self.cache: dict[str, str] = {}
        self.cjk = name == "cjk"

    def term(self, lowered: str) -> str:
        """Return the index term for a lowercased word; '' = drop (stop word or junk length)."""
        cached = self.cache.get(lowered)
        if cached is not None:
            return cached
        word = fold(lowered)
        if len(word) < MIN_TOKEN_CHARS or len(word) > MAX_TOKEN_CHARS or word in self.stops:
            result = ""
        elif self.stem is not None and not word.isdigit():
            result = self.stem(word) or word
        else:
            result = word
        if len(self.cache) >= _STEM_CACHE_LIMIT:
            self.cache.clear()
        self.cache[lowered] = result
        return result


def _make_family(name: str) -> _Family:
    if name == "en":
        # The original Porter algorithm: several times faster than Porter2 and what Whoosh's
        # StemmingAnalyzer uses.
        return _Family(name, porter_stem, STOP_WORDS)
    if name in SNOWBALL_FAMILIES or name == "ar":
        try:
            stops: Iterable[str] = stopwords_for_language(name)
        except Exception:  # noqa: BLE001 - no list for this language is fine
            stops = ()
        return _Family(name, stemmer_for_language(name), stops)
    return _Family(name, None, ())


_FAMILY_RULES: dict[str, _Family] = {}


def family_rules(name: str) -> _Family:
    rules = _FAMILY_RULES.get(name)
    if rules is None:
        rules = _FAMILY_RULES[name] = _make_family(name)
    return rules


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

    def _rules(self) -> _Family:
        if self.stem and self.stops:
            return family_rules(self.family)
        key = f"{self.family}:{int(self.stem)}{int(self.stops)}"
        rules = _FAMILY_RULES.get(key)
        if rules is None:
            base = family_rules(self.family)
            rules = _FAMILY_RULES[key] = _Family(
                self.family, base.stem if self.stem else None, base.stops if self.stops else ()
            )
        return rules

    def spans(
        self, text: str, *, query: bool = False, start_pos: int = 0, start_char: int = 0
    ) -> Iterator[tuple[str, int, int, int]]:
        rules = self._rules()
        term = rules.term
        cjk = rules.cjk
        pos = start_pos
        for match in _WORD_RE.finditer(text.replace("_", " ") if "_" in text else text):
            raw = match.group()
            if cjk and _CJK_RE.search(raw):
                base = match.start()
                for part in _CJK_SPLIT_RE.finditer(raw):
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
                        for sub in _WORD_RE.finditer(chunk):
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
        for raw in _WORD_RE.findall(lowered):
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


def index_codec() -> W3Codec:
    """Whoosh's codec without per-posting length statistics. Those only feed block-max skipping
    (Whoosh's TopCollector); kms scores every match to count and facet, and skipping the lookup of
    each document's field length for every posting makes indexing ~18% cheaper."""
    codec = W3Codec(compression=1)  # zlib level 1: a third of level 3's time, ~5% larger
    codec.length_stats = False
    return codec


KEYWORD_FIELDS = ("type", "category", "tags", "language", "status", "visibility", "owner")


def analyzer_for(family: str) -> FamilyAnalyzer:
    return SCHEMA[body_field(family)].analyzer


# --------------------------------------------------------------------------------------------------
# Markdown -> plain text, for indexing and snippets.

_FENCED_BLOCK_RE = re.compile(
    r"^[ \t]*(`{3,}|~{3,})[^\n]*\n(.*?)(?:^[ \t]*\1[ \t]*$|\Z)", re.MULTILINE | re.DOTALL
)
_CODE_RE = re.compile(r"(`+)(.+?)\1", re.DOTALL)
_PLACEHOLDER_RE = re.compile("\x00(\\d+)\x00")
_IMAGE_RE = re.compile(r"!\[([^\]\n]*)\]\([^)\n]*\)")
_LINK_RE = re.compile(r"\[([^\]\n]+)\]\((?:[^()\n]|\([^)\n]*\))*\)")
_REF_LINK_RE = re.compile(r"\[([^\]\n]+)\]\[[^\]\n]*\]")
_AUTOLINK_RE = re.compile(r"<((?:https?|ftp|mailto):[^>\s]+)>")
_HTML_COMMENT_RE = re.compile(r"<!--.*?-->", re.DOTALL)
_HTML_TAG_RE = re.compile(r"</?[A-Za-z][A-Za-z0-9-]*(?:\s[^<>]*)?/?>")
_STAR_EMPHASIS_RE = re.compile(r"\*{1,3}(?=[^\s*])([^*\n]*?[^\s*])\*{1,3}")
_STRIKE_RE = re.compile(r"~~(?=\S)([^~\n]*?\S)~~")
# Starts with the literal so the regex engine can skip ahead; "(?<!\w_)" keeps snake_case intact.
_UNDERSCORE_EMPHASIS_RE = re.compile(r"_(?<!\w_)_{0,2}(?=[^\s_])([^_\n]*?[^\s_])_{1,3}(?!\w)")
# Line-level syntax, applied to one stripped line at a time (anchored patterns over a whole page
# with re.M are tried at every character and cost 10x more).
_RULE_LINE_RE = re.compile(
    r"(?:[-*_=][ \t]*){3,}|=+|-{2,}|\|?[ \t]*:?-{2,}:?[ \t]*(?:\|[ \t]*:?-{2,}:?[ \t]*)*\|?"
)
_HEADING_LINE_RE = re.compile(r"#{1,6}[ \t]+(.*?)(?:[ \t]+#+)?")
_LIST_LINE_RE = re.compile(r"(?:[-*+]|\d{1,9}[.)])[ \t]+(?:\[[ xX]\][ \t]+)?")
_REF_DEF_LINE_RE = re.compile(r"\[[^\]]+\]:[ \t]+\S.*")


def _strip_line(line: str) -> str:
    line = line.strip()
    if not line:
        return ""
    first = line[0]
    if first in "-*_=|:" and _RULE_LINE_RE.fullmatch(line):
        return ""
    while first == ">":
        line = line[1:].lstrip()
        if not line:
            return ""
        first = line[0]
    if first == "#":
        heading = _HEADING_LINE_RE.fullmatch(line)
        if heading:
            line = heading.group(1)
    elif first in "-*+" or first.isdigit():
        marker = _LIST_LINE_RE.match(line)
        if marker:
            line = line[marker.end() :]
    elif first == "[" and _REF_DEF_LINE_RE.fullmatch(line):
        return ""
    if "|" in line:
        line = line.replace("|", " ")
    if "  " in line or "\t" in line or "\u00a0" in line:
        return " ".join(line.split())
    return line


def strip_markdown(text: str | None) -> str:
    """Markdown -> readable plain text: markup removed; link and image text and code kept verbatim.

    The result is plain text (entities decoded, so it may contain '<'): escape it before use in HTML."""
    if not text:
        return ""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")
    # Code is content, not markup: set it aside so the HTML and emphasis rules leave it alone.
    code: list[str] = []

    def keep(content: str) -> str:
        code.append(content)
        return f"\x00{len(code) - 1}\x00"

    if "```" in text or "~~~" in text:
        text = _FENCED_BLOCK_RE.sub(lambda m: keep(m.group(2)), text)
    if "`" in text:
        text = _CODE_RE.sub(lambda m: keep(m.group(2)), text)
    if "<" in text:
        text = _HTML_COMMENT_RE.sub(" ", text)
        text = _AUTOLINK_RE.sub(r"\1", text)
        text = _HTML_TAG_RE.sub(" ", text)
    if "[" in text:
        text = _IMAGE_RE.sub(r"\1", text)
        text = _LINK_RE.sub(r"\1", text)
        text = _REF_LINK_RE.sub(r"\1", text)
    text = "\n".join(filter(None, map(_strip_line, text.split("\n"))))
    if "*" in text:
        text = _STAR_EMPHASIS_RE.sub(r"\1", text)
    if "~~" in text:
        text = _STRIKE_RE.sub(r"\1", text)
    if "_" in text:
        text = _UNDERSCORE_EMPHASIS_RE.sub(r"\1", text)
    if "&" in text:
        text = html.unescape(text)
    if code:
        text = _PLACEHOLDER_RE.sub(lambda m: code[int(m.group(1))], text)
    return text.strip()


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
    visibility = _keyword_list(doc.get("visibility"))
    if not visibility:
        raise ValueError(f"search document {doc_id!r} has no visibility")
    language = str(doc.get("language") or DEFAULT_LANGUAGE).strip()
    family = family_for_language(language)
    title = str(doc.get("title") or "").strip()
    body = strip_markdown(str(doc.get("body") or ""))
    updated = doc.get("updated")
    tags = _keyword_list(doc.get("tags"))
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
            out[name] = str(value)
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
