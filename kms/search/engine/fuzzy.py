"""Typo tolerance: edit distance with transpositions, and a segment's vocabulary bucketed for finding
the words within a small distance of a misspelled one."""

from __future__ import annotations

from collections.abc import Iterable


def _char_mask(term: str) -> int:
    mask = 0
    for ch in term:
        mask |= 1 << (ord(ch) & 63)
    return mask


def osa_distance(a: str, b: str, limit: int) -> int:
    """Edit distance with adjacent transpositions; anything above ``limit`` is reported as limit+1."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        current = [i] + [0] * len(b)
        char = a[i - 1]
        row_min = i
        for j in range(1, len(b) + 1):
            value = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (char != b[j - 1]))
            if i > 1 and j > 1 and char == b[j - 2] and a[i - 2] == b[j - 1]:
                value = min(value, previous2[j - 2] + 1)
            current[j] = value
            row_min = min(row_min, value)
        if row_min > limit:
            return limit + 1
        previous2, previous = previous, current
    return previous[len(b)]


class Lexicon:
    """A family's vocabulary in one segment, bucketed by first letter and sorted by length, for
    finding terms within a small edit distance without Whoosh's (slow, pure-Python) automata."""

    __slots__ = ("buckets", "chars", "terms")

    def __init__(self, terms: Iterable[str]):
        grouped: dict[str, list[str]] = {}
        for term in terms:
            if 3 <= len(term) <= 30 and not term.isdigit():
                grouped.setdefault(term[0], []).append(term)
        self.terms = frozenset(term for words in grouped.values() for term in words)
        self.chars = frozenset(ch for term in self.terms for ch in term)
        self.buckets: dict[str, tuple[list[str], list[int], list[int]]] = {}
        for first, words in grouped.items():
            words.sort(key=len)
            self.buckets[first] = (words, [len(w) for w in words], [_char_mask(w) for w in words])

    def near(self, word: str, limit: int) -> list[tuple[str, int]]:
        bucket = self.buckets.get(word[0])
        if not bucket:
            return []
        words, lengths, masks = bucket
        from bisect import bisect_left, bisect_right

        lo = bisect_left(lengths, len(word) - limit)
        hi = bisect_right(lengths, len(word) + limit)
        wmask = _char_mask(word)
        out = []
        for index in range(lo, hi):
            # Each edit changes at most two letters' presence: a cheap filter before the DP.
            if (masks[index] ^ wmask).bit_count() <= 2 * limit:
                candidate = words[index]
                if candidate != word:
                    distance = osa_distance(word, candidate, limit)
                    if distance <= limit:
                        out.append((candidate, distance))
        return out


def one_edit(word: str, alphabet: Iterable[str]) -> set[str]:
    """Every string one deletion, adjacent transposition, substitution or insertion away from ``word``
    (letters taken from ``alphabet``); ``word`` itself is left out."""
    letters = sorted(set(alphabet))
    splits = [(word[:i], word[i:]) for i in range(len(word) + 1)]
    out = {left + right[1:] for left, right in splits if right}
    out.update(left + right[1] + right[0] + right[2:] for left, right in splits if len(right) > 1)
    out.update(left + ch + right[1:] for left, right in splits if right for ch in letters)
    out.update(left + ch + right for left, right in splits for ch in letters)
    out.discard(word)
    return out
