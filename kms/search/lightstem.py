"""Light stemmers for Hindi and Tagalog, which Whoosh and Snowball do not cover.

Both only remove common inflection, one rule at a time, longest affix first, and never cut a word
below a minimum stem, so that a wrong cut costs a little recall rather than merging unrelated words.

Hindi: nouns and adjectives inflect for number and case with vowel signs at the end (ग्राहक, ग्राहकों;
भाषा, भाषाएं, भाषाओं; नीति, नीतियां, नीतियों), verbs take gender and number vowels and future endings
(करेगा, करेंगे). Only vowel signs, nasalisation and the future endings are removed, never a consonant:
cutting "ना" or "ता" would stem सफलता to सफल but सफलताओं to सफलत. Chandrabindu is written as anusvara
first (ियाँ and ियां are the same ending as people type them).

Tagalog: verbs and derived nouns take prefixes (mag-, nag-, pag-, ma-, na-, ka-, i-, maka-, naka-,
ipag-, pinag-...), the infixes -um- and -in- after the first consonant, reduplication of the first
syllable for the aspect (magbabayad, kumakain), and the suffixes -in/-hin and -an/-han (basahin,
bayaran, where a root's final d is written r between vowels). A prefix that ends in a consonant is
only removed before a consonant, as Tagalog spelling writes a hyphen before a vowel (mag-aral), and a
word with a letter Tagalog's own words do not use (c, f, j, q, v, x, z) is borrowed and kept whole.
"""

from __future__ import annotations

import hashlib
import unicodedata

# --------------------------------------------------------------------------------------------------
# Hindi

_CHANDRABINDU, _ANUSVARA, _VIRAMA = "\u0901", "\u0902", "\u094d"

HINDI_SUFFIXES = tuple(
    sorted(
        {
            # plural and oblique endings of nouns and adjectives
            "ियों",
            "ियां",
            "ाओं",
            "ाएं",
            "ाओ",
            "ुओं",
            "ुएं",
            "ूओं",
            "इयों",
            "इयां",
            "ओं",
            "एं",
            "ों",
            "ें",
            "ीं",
            "ां",
            # gender, number and case vowels (लड़का, लड़के, लड़की; नीति; वस्तु)
            "ा",
            "े",
            "ी",
            "ि",
            "ो",
            "ु",
            "ू",
            "ं",
            "ई",
            "ए",
            # future tense (करूंगा, करेगा, करेंगे, करोगे, जाएगी, जाएंगे)
            "ूंगा",
            "ूंगी",
            "ेंगे",
            "ेंगी",
            "ेगा",
            "ेगी",
            "ोगे",
            "ोगी",
            "एगा",
            "एगी",
            "एंगे",
            "एंगी",
            "ओगे",
            "ओगी",
            # polite imperative (कीजिए, बताइए, बताइये)
            "िए",
            "िये",
            "िएगा",
            "इए",
            "इये",
        },
        key=lambda suffix: (-len(suffix), suffix),
    )
)
HINDI_MIN_LETTERS = 2  # letters (not vowel signs) a stem keeps


def _letters(text: str) -> int:
    # Vowel signs, virama and nasalisation are marks (M*), not letters (L*).
    return sum(1 for ch in text if unicodedata.category(ch).startswith("L"))


def hindi_stem(word: str) -> str:
    """ग्राहकों -> ग्राहक, भाषाओं -> भाष (as भाषा), नीतियां -> नीत (as नीति); other scripts unchanged."""
    word = word.replace(_CHANDRABINDU, _ANUSVARA)
    for suffix in HINDI_SUFFIXES:
        if word.endswith(suffix):
            stem = word[: -len(suffix)]
            if _letters(stem) >= HINDI_MIN_LETTERS and not stem.endswith(_VIRAMA):
                return stem
    return word


# --------------------------------------------------------------------------------------------------
# Tagalog

_VOWELS = frozenset("aeiou")

# prefix -> the shortest root it may leave. Short prefixes start many roots (mahal, kamay, isa), so
# they need a longer remainder.
TAGALOG_PREFIXES = dict(
    sorted(
        {
            "makapag": 4,
            "nakapag": 4,
            "makipag": 4,
            "nakipag": 4,
            "pakikipag": 4,
            "ipinag": 4,
            "magpa": 4,
            "nagpa": 4,
            "pagpa": 4,
            "pinag": 4,
            "ipag": 4,
            "pagka": 4,
            "maka": 4,
            "naka": 4,
            "paki": 4,
            "mang": 4,
            "nang": 4,
            "pang": 4,
            "mag": 3,
            "nag": 3,
            "pag": 3,
            "ipa": 4,
            "ika": 4,
            "ma": 4,
            "na": 4,
            "pa": 4,
            "ka": 4,
            "i": 5,
        }.items(),
        key=lambda item: (-len(item[0]), item[0]),
    )
)
TAGALOG_SUFFIXES = ("han", "hin", "an", "in")  # longest first
# Letters Tagalog's own words do not use: a word with one is borrowed ("customer", "ticket") and stays whole.
TAGALOG_FOREIGN_LETTERS = frozenset("cfjqvxz")
TAGALOG_MIN_ROOT = 3


def _is_vowel(ch: str) -> bool:
    return ch in _VOWELS


def _strip_prefix(word: str) -> str:
    for prefix, shortest in TAGALOG_PREFIXES.items():
        rest = word[len(prefix) :]
        if not word.startswith(prefix) or len(rest) < shortest or not any(map(_is_vowel, rest)):
            continue
        if not _is_vowel(prefix[-1]) and _is_vowel(rest[0]):
            continue  # mag-aral is written with a hyphen: "nagalit" is not nag- + alit
        return rest
    return word


def _strip_infix(word: str) -> str:
    # C + um/in + vowel...: bumili -> bili, sinulat -> sulat, kumain -> kain; before a vowel they
    # come first: umalis -> alis, inaral -> aral.
    if len(word) >= 6 and not _is_vowel(word[0]) and word[1:3] in ("um", "in") and _is_vowel(word[3]):
        return word[0] + word[3:]
    if len(word) >= 6 and word[:2] in ("um", "in") and _is_vowel(word[2]):
        return word[2:]
    return word


def _strip_reduplication(word: str) -> str:
    # The first syllable said twice: babayad -> bayad, tatayo -> tayo, aaral -> aral.
    if len(word) >= 6 and not _is_vowel(word[0]) and _is_vowel(word[1]) and word[:2] == word[2:4]:
        return word[2:]
    if len(word) >= 5 and _is_vowel(word[0]) and word[0] == word[1]:
        return word[1:]
    return word


def _strip_suffix(word: str) -> str:
    for suffix in TAGALOG_SUFFIXES:
        stem = word[: -len(suffix)]
        if word.endswith(suffix) and len(stem) >= TAGALOG_MIN_ROOT + 1 and any(map(_is_vowel, stem)):
            if len(stem) >= 2 and stem[-1] == "r" and _is_vowel(stem[-2]):
                stem = stem[:-1] + "d"  # bayaran -> bayad: a final d is written r before -an/-in
            return stem
    return word


def tagalog_stem(word: str) -> str:
    """nagbabayad, babayaran, bayad -> bayad; kumakain, kain -> kain; "customer" stays whole."""
    if not word.isalpha() or not word.isascii() or len(word) < 5 or TAGALOG_FOREIGN_LETTERS & set(word):
        return word
    stem = _strip_reduplication(_strip_infix(_strip_prefix(word)))
    return _strip_suffix(stem)


def rules_fingerprint() -> str:
    """A short digest of every rule above: it changes whenever a rule does, so that an index written
    with other rules is rebuilt (kms.search.schema.SCHEMA_VERSION carries it)."""
    rules = repr(
        (
            HINDI_SUFFIXES,
            HINDI_MIN_LETTERS,
            TAGALOG_PREFIXES,
            TAGALOG_SUFFIXES,
            TAGALOG_MIN_ROOT,
            sorted(TAGALOG_FOREIGN_LETTERS),
        )
    )
    return hashlib.sha256(rules.encode("utf-8")).hexdigest()[:8]
