"""Real content: how many words of an article are its author's own, not copied from a template.

Publishing an untouched template ("## Steps / 1. …") must not count as documenting a process. A line of the
body that is a line of any article template does not count; the rest is counted in words that contain a
letter (numbers and "…" placeholders are not words). In scripts written without spaces (Chinese, Japanese)
each character counts as a word. Each revision stores its count when it is saved, so coverage stays one query.
"""

from __future__ import annotations

import re
import unicodedata

from sqlalchemy import select

from kms.articles.models import ArticleTemplate
from kms.extensions import db
from kms.markdown import slug_words

MIN_OWN_WORDS = 40  # below this, a published article is a stub: it does not count toward coverage
_UNSPACED = ((0x3040, 0x30FF), (0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xF900, 0xFAFF), (0x20000, 0x2FA1F))


_ASCII_WORD = re.compile(r"[A-Za-z0-9]+")


def _line_key(line: str) -> str:
    if line.isascii():  # NFKC leaves ASCII as it is
        return " ".join(line.split()).casefold()
    return " ".join(unicodedata.normalize("NFKC", line).split()).casefold()


def template_lines() -> frozenset[str]:
    """Every non-blank line of every article template, normalised as own_words compares them."""
    lines = set()
    for body in db.session.scalars(select(ArticleTemplate.body)):
        lines.update(_line_key(line) for line in body.splitlines())
    lines.discard("")
    return frozenset(lines)


def _word_count(word: str) -> int:
    unspaced = sum(1 for char in word if any(low <= ord(char) <= high for low, high in _UNSPACED))
    if unspaced:
        return unspaced + (1 if any(c.isalpha() for c in word if not 0x3040 <= ord(c) <= 0x2FA1F) else 0)
    return 1 if any(char.isalpha() for char in word) else 0


def _never_in_a_word(char: str) -> bool:
    """Not a letter, digit or mark, and neither is anything NFKC makes of it: a separator wherever it stands."""
    return all(unicodedata.category(c)[0] not in "LNM" for c in char + unicodedata.normalize("NFKC", char))


# The non-ASCII characters typed most between words (no-break space, curly quotes, dashes, ellipsis, arrows,
# box drawing, dingbats, emoji), each as a space: a line with no other non-ASCII character is counted as ASCII.
_AS_SPACE = {
    code: " "
    for block in (
        range(0x00A0, 0x00C0),
        range(0x2000, 0x2070),
        range(0x2190, 0x2200),
        range(0x2500, 0x2600),
        range(0x2700, 0x27C0),
        range(0x1F300, 0x1FB00),
    )
    for code in block
    if _never_in_a_word(chr(code))
}


def _line_words(line: str) -> int:
    if not line.isascii():
        spaced = line.translate(_AS_SPACE)
        if not spaced.isascii():
            return sum(_word_count(word) for word in slug_words(line))
        line = spaced
    # The common case, without the per-character walk: words with a letter count.
    return sum(1 for word in _ASCII_WORD.findall(line) if not word.isdigit())


def own_words(body: str, templates: frozenset[str] | None = None) -> int:
    """The number of the body's words that are not on a template's line (see the module docstring)."""
    templates = template_lines() if templates is None else templates
    return sum(_line_words(line) for line in (body or "").splitlines() if _line_key(line) not in templates)


def is_stub(words: int | None) -> bool:
    """Whether an article with this many words of its own is still a stub (does not count as documented)."""
    return (words or 0) < MIN_OWN_WORDS
