"""The query language: parse_query(), its clauses, and API filters turned into keyword constraints."""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from kms.search import schema as S
from kms.search.engine.constants import FILTER_FIELDS, MAX_CLAUSES, MAX_QUERY_CHARS

log = logging.getLogger("kms.search.engine")  # the engine's one logger, as before the split


# --------------------------------------------------------------------------------------------------
# Query language: words (all must match), "phrases", prefix*, OR, NOT / -word, and the filters
# type: category: tag: lang: status: owner:. Parsing never raises; odd input degrades to words.


@dataclass(frozen=True)
class Clause:
    kind: str  # "word", "phrase" or "prefix"
    text: str  # what gets analyzed
    raw: str  # as typed, so a correction can replace it in the query string


@dataclass(frozen=True)
class ParsedQuery:
    groups: tuple[tuple[Clause, ...], ...] = ()  # every group must match, any clause in it
    excluded: tuple[Clause, ...] = ()
    filters: tuple[tuple[str, frozenset[str]], ...] = ()  # (field, any of these values), all must hold
    excluded_filters: tuple[tuple[str, frozenset[str]], ...] = ()


_LEX_RE = re.compile(
    r"""(?P<space>\s+)
      | (?P<paren>[()])
      | (?P<fneg>-)?(?P<field>[A-Za-z]{2,12}):"(?P<fvalue>[^"]*)"?
      | (?P<pneg>-)?"(?P<phrase>[^"]*)(?P<closed>")?
      | (?P<word>[^\s"()]+)""",
    re.VERBOSE,
)
_FIELD_WORD_RE = re.compile(r"([A-Za-z]{2,12}):(.*)", re.DOTALL)
_WILDCARDS_RE = re.compile(r"[*?]+")


def parse_query(text: str | None) -> ParsedQuery:
    """Parse the search box syntax. Never raises: on any surprise the words are searched plainly."""
    try:
        return _parse(text or "")
    except Exception:
        log.exception("query parser failed; searching plain words")
        words = re.findall(r"\w+", (text or "")[:MAX_QUERY_CHARS])[:MAX_CLAUSES]
        return ParsedQuery(groups=tuple((Clause("word", w, w),) for w in words))


def _parse(text: str) -> ParsedQuery:
    text = text[:MAX_QUERY_CHARS]
    groups: list[list[Clause]] = []
    excluded: list[Clause] = []
    filters: dict[str, set[str]] = {}
    excluded_filters: dict[str, set[str]] = {}
    negate_next = or_next = False
    clauses = 0

    def add_filter(name: str, value: str, negated: bool) -> bool:
        target = FILTER_FIELDS.get(name.lower())
        if target is None:
            return False
        key = S.normalize_keyword(value)
        if key:
            (excluded_filters if negated else filters).setdefault(target, set()).add(key)
        return True

    for match in _LEX_RE.finditer(text):
        if clauses >= MAX_CLAUSES:
            break
        if match.group("space") is not None or match.group("paren") is not None:
            continue
        negated, negate_next = negate_next, False
        found: list[Clause] = []
        if match.group("field") is not None:
            negated = negated or bool(match.group("fneg"))
            value = match.group("fvalue")
            if add_filter(match.group("field"), value, negated):
                or_next = False
                continue
            found = _word_clauses(value, phrase=True)
        elif match.group("phrase") is not None:
            negated = negated or bool(match.group("pneg"))
            body = match.group("phrase")
            if match.group("closed"):
                if body.strip():
                    found = [Clause("phrase", body, match.group())]
            else:  # an unclosed quote: just the words
                found = [c for word in body.split() for c in _word_clauses(word)]
        else:
            word = match.group("word")
            if word == "OR":
                or_next = bool(groups)
                continue
            if word in ("AND", "&&"):
                continue
            if word == "NOT":
                negate_next = True
                continue
            if word[0] in "-!" and len(word) > 1:
                negated, word = True, word[1:]
            field_word = _FIELD_WORD_RE.fullmatch(word)
            if field_word:
                if field_word.group(1).lower() in FILTER_FIELDS:
                    add_filter(field_word.group(1), field_word.group(2), negated)
                    or_next = False
                    continue
                # Another engine's field syntax (title:, author:): search the value's words.
                word = field_word.group(2)
            found = _word_clauses(word)
        for clause in found:
            clauses += 1
            if negated:
                excluded.append(clause)
            elif or_next and groups:
                groups[-1].append(clause)
            else:
                groups.append([clause])
            or_next = False
    return ParsedQuery(
        groups=tuple(tuple(g) for g in groups),
        excluded=tuple(excluded),
        filters=tuple(sorted((k, frozenset(v)) for k, v in filters.items())),
        excluded_filters=tuple(sorted((k, frozenset(v)) for k, v in excluded_filters.items())),
    )


def _word_clauses(word: str, phrase: bool = False) -> list[Clause]:
    if not word.strip():
        return []
    if "*" in word or "?" in word:
        stem = word[:-1] if word.endswith("*") else ""
        if stem and "*" not in stem and "?" not in stem and sum(ch.isalnum() for ch in stem) >= 2:
            return [Clause("prefix", stem, word)]
        cleaned = _WILDCARDS_RE.sub(" ", word).strip()  # "*", "a*", "o*ing": plain words
        return [Clause("word", part, part) for part in cleaned.split()]
    return [Clause("phrase" if phrase and " " in word.strip() else "word", word, word)]


def filter_constraints(filters: Mapping[str, Any] | None) -> tuple[tuple[str, frozenset[str]], ...]:
    """API filters (field -> value or values) as keyword constraints; unknown fields are ignored."""
    if not filters:
        return ()
    out = []
    for name, value in filters.items():
        target = FILTER_FIELDS.get(str(name).lower())
        if target is None or value is None or value == "":
            continue
        values = [value] if isinstance(value, str) else list(value)
        keys = frozenset(k for k in (S.normalize_keyword(v) for v in values) if k)
        if keys:
            out.append((target, keys))
    return tuple(sorted(out))
