"""Language families and the text rules analyzers apply: character folding, keyword normalization,
stop words and stemming per family."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable
from typing import Any

from whoosh.analysis import STOP_WORDS
from whoosh.lang import stemmer_for_language, stopwords_for_language
from whoosh.lang.porter import stem as porter_stem

from kms.search.lightstem import hindi_stem, tagalog_stem

DEFAULT_LANGUAGE = "en"
MIN_TOKEN_CHARS = 2  # single letters are noise in alphabetic scripts (CJK is handled apart)
MAX_TOKEN_CHARS = 40  # longer "words" are hashes, URLs and base64: they only bloat the lexicon

# --------------------------------------------------------------------------------------------------
# Language families. Each family has its own title_<family> and body_<family> fields, so every
# document is analyzed by its own language's rules and a query is analyzed once per family that has
# documents; all of them are searched together, which is how an English query word still finds a
# Norwegian page that uses it.

SNOWBALL_FAMILIES = ("da", "de", "es", "fi", "fr", "hu", "it", "nl", "no", "pt", "ro", "ru", "sv")
LIGHT_FAMILIES = ("hi", "tl")  # kms.search.lightstem: Hindi and Tagalog, which Snowball lacks
FAMILIES = ("en", *SNOWBALL_FAMILIES, "ar", *LIGHT_FAMILIES, "cjk", "plain")

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
    "hi": "hi",
    "hin": "hi",
    "tl": "tl",
    "tgl": "tl",
    "fil": "tl",  # Filipino, the standard form of Tagalog
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


LIGHT_STEMMERS: dict[str, Callable[[str], str]] = {"hi": hindi_stem, "tl": tagalog_stem}


def family_for_language(language: str | None) -> str:
    """Map a BCP 47 tag as authors write it (en-US, nb, zh-Hant, hi, tl) to an analyzer family."""
    primary = primary_language(language)
    return _LANGUAGE_FAMILY.get(primary, "plain")


def primary_language(language: str | None) -> str:
    """'en-US' -> 'en', 'zh_Hant' -> 'zh'; missing -> the default language."""
    tag = (language or "").strip().lower().replace("_", "-")
    return tag.split("-", 1)[0] or DEFAULT_LANGUAGE


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


MARKS = _mark_ranges()
# Underscores are turned into spaces before matching (same length, so offsets hold), which keeps
# this class simple: letters, digits and combining marks.
WORD_RE = re.compile(f"[\\w{MARKS}]+")
_CJK_CHARS = (
    "\u1100-\u11ff\u2e80-\u2fdf\u3005\u3040-\u30ff\u3130-\u318f\u31a0-\u31ff\u3400-\u4dbf"
    "\u4e00-\u9fff\ua960-\ua97f\uac00-\ud7af\ud7b0-\ud7ff\uf900-\ufaff\uff66-\uff9f"
    "\U00020000-\U0003134f"
)
CJK_RE = re.compile(f"[{_CJK_CHARS}]")
CJK_SPLIT_RE = re.compile(f"([{_CJK_CHARS}]+)|([^{_CJK_CHARS}]+)")
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
    """One keyword as indexed and as typed in a filter: 'Customer Success' -> 'customer-success',
    'Kundestøtte' -> 'kundestotte'. A comma separates words like a space ('Returns, exchanges' ->
    'returns-exchanges'), so a name and its keyword match whether or not a list split it first."""
    text = fold(str(value).strip().lower())
    return "-".join(text.replace(",", " ").split())


def keyword_list(value: Any) -> list[str]:
    """A keyword value (one string, comma-separated or not, or a list) as unique normalized keywords."""
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


class FamilyRules:
    """One family's term normalization: fold, drop stop words and junk lengths, stem (memoized)."""

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


def _make_family(name: str) -> FamilyRules:
    if name == "en":
        # The original Porter algorithm: several times faster than Porter2 and what Whoosh's
        # StemmingAnalyzer uses.
        return FamilyRules(name, porter_stem, STOP_WORDS)
    if name in SNOWBALL_FAMILIES or name == "ar":
        try:
            stops: Iterable[str] = stopwords_for_language(name)
        except Exception:  # noqa: BLE001 - no list for this language is fine
            stops = ()
        return FamilyRules(name, stemmer_for_language(name), stops)
    if name in LIGHT_STEMMERS:
        return FamilyRules(name, LIGHT_STEMMERS[name], ())
    return FamilyRules(name, None, ())


_FAMILY_RULES: dict[str, FamilyRules] = {}


def family_rules(name: str) -> FamilyRules:
    rules = _FAMILY_RULES.get(name)
    if rules is None:
        rules = _FAMILY_RULES[name] = _make_family(name)
    return rules


def variant_rules(name: str, *, stem: bool, stops: bool) -> FamilyRules:
    """A family's rules without its stemmer and/or stop words (e.g. for type-ahead), built once."""
    if stem and stops:
        return family_rules(name)
    key = f"{name}:{int(stem)}{int(stops)}"
    rules = _FAMILY_RULES.get(key)
    if rules is None:
        base = family_rules(name)
        rules = _FAMILY_RULES[key] = FamilyRules(
            name, base.stem if stem else None, base.stops if stops else ()
        )
    return rules
