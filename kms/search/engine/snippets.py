"""Snippets and highlighting: find_spans() locates query terms in stored text, make_snippet() marks them."""

from __future__ import annotations

import functools
import html
import re
from collections.abc import Iterable

from kms.search import schema as S
from kms.search.engine.constants import SNIPPET_CHARS, SNIPPET_LEAD


def merge_spans(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Sort (start, end) spans and merge the ones that overlap or touch."""
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            if end > merged[-1][1]:
                merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged


def _escape(text: str) -> str:
    return html.escape(text.replace("\n", " "), quote=True)


def marked(text: str, spans: list[tuple[int, int]], start: int, end: int) -> str:
    """HTML-escaped ``text[start:end]`` with the ``spans`` inside it wrapped in <mark>."""
    out: list[str] = []
    cursor = start
    for span_start, span_end in spans:
        if span_end <= start or span_start >= end:
            continue
        span_start, span_end = max(span_start, start), min(span_end, end)
        out.append(_escape(text[cursor:span_start]))
        out.append(f"<mark>{_escape(text[span_start:span_end])}</mark>")
        cursor = span_end
    out.append(_escape(text[cursor:end]))
    return "".join(out)


def make_snippet(text: str, spans: Iterable[tuple[int, int]], maxchars: int = SNIPPET_CHARS) -> str:
    """The passage of ``text`` (about ``maxchars`` long) holding the most distinct matches, as HTML:
    the text escaped, matches wrapped in <mark>, an ellipsis where text was cut."""
    if not text:
        return ""
    spans = merge_spans([(s, e) for s, e in spans if 0 <= s < e <= len(text)])
    if not spans:
        end = _word_end(text, min(len(text), maxchars))
        return _escape(text[:end]).strip() + ("…" if end < len(text) else "")
    best, best_score, j = 0, (-1, -1), 0
    for i in range(len(spans)):
        j = max(j, i + 1)
        while j < len(spans) and spans[j][1] - spans[i][0] <= maxchars - SNIPPET_LEAD:
            j += 1
        distinct = len({text[s:e].lower() for s, e in spans[i:j]})
        if (distinct, j - i) > best_score:
            best, best_score = i, (distinct, j - i)
    start = spans[best][0]
    left = _word_start(text, max(0, start - SNIPPET_LEAD))
    right = _word_end(text, min(len(text), left + maxchars))
    body = marked(text, spans, left, right).strip()
    return ("…" if left > 0 else "") + body + ("…" if right < len(text) else "")


class _SameLengthFold(dict):
    """str.translate table folding one character to one character (é -> e), so offsets found in
    the folded text are offsets in the original; characters that fold to more (ß) stay as they are."""

    def __missing__(self, codepoint: int) -> int:
        folded = S.fold(chr(codepoint))
        value = ord(folded) if len(folded) == 1 else codepoint
        self[codepoint] = value
        return value


_FOLD_TABLE = _SameLengthFold({cp: cp for cp in range(128)})
# Letters with accents or ligatures; text without any (most English, even with curly quotes) skips
# the per-character translate.
_FOLDABLE_RE = re.compile("[\u00c0-\u024f\u0370-\u03ff\u0400-\u04ff\u1e00-\u1fff\ufb00-\ufb06]")


@functools.lru_cache(maxsize=512)
def _prefix_regex(prefixes: tuple[str, ...]) -> re.Pattern[str]:
    # A bare alternation of literals: the regex engine scans for it much faster than for a pattern
    # that opens with a look-behind; word boundaries are checked on the (few) hits instead.
    return re.compile("|".join(re.escape(p) for p in prefixes))


_WORD_CHAR_RE = re.compile(f"[\\w{S.MARKS}]")
_WORD_TAIL_RE = re.compile(f"[\\w{S.MARKS}]*")


def find_spans(text: str, family: str, terms: Iterable[str]) -> list[tuple[int, int]]:
    """Character spans of the words of ``text`` that analyze to one of ``terms`` in ``family``.

    Snippets are made this way instead of from character offsets stored in the postings, which
    would triple what every query decodes: a regex finds the words that begin like a term (a stem
    is, but for its last letter or so, the start of its words) and the family's analyzer confirms
    each one. CJK terms (character bigrams) are found as they are."""
    wanted = set(terms)
    if not text or not wanted:
        return []
    spans: list[tuple[int, int]] = []
    cjk = sorted((t for t in wanted if S.CJK_RE.search(t)), key=len, reverse=True)
    if cjk:
        spans.extend(m.span() for m in re.finditer("|".join(map(re.escape, cjk)), text))
    words = wanted.difference(cjk)
    if words:
        haystack = text.lower()
        if len(haystack) != len(text):
            haystack = "".join(ch.lower() if len(ch.lower()) == 1 else ch for ch in text)
        if not haystack.isascii() and _FOLDABLE_RE.search(haystack):
            haystack = haystack.translate(_FOLD_TABLE)
        if "_" in haystack:
            haystack = haystack.replace("_", " ")  # the analyzers split words at underscores
        prefixes = tuple(
            sorted({w if len(w) <= 3 else w[: max(3, len(w) - 1)] for w in words}, key=lambda p: (-len(p), p))
        )
        term = S.family_rules(family).term
        is_word_char = _WORD_CHAR_RE.match
        tail = _WORD_TAIL_RE.match
        for match in _prefix_regex(prefixes).finditer(haystack):
            start = match.start()
            if start and is_word_char(haystack, start - 1):
                continue
            end = tail(haystack, match.end()).end()
            if term(haystack[start:end]) in words:
                spans.append((start, end))
    return spans


def _word_start(text: str, index: int) -> int:
    if index <= 0:
        return 0
    space = text.find(" ", index, index + 30)
    return space + 1 if space != -1 else index


def _word_end(text: str, index: int) -> int:
    if index >= len(text):
        return len(text)
    space = text.rfind(" ", max(0, index - 30), index)
    return space if space != -1 else index
