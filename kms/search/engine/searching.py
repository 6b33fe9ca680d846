"""Answering on one index generation: a ranked search (with the typo retry and paging), a listing of
filter-only queries with their facets and facet labels, and title type-ahead. SearchEngine picks the
generation and caches the answer."""

from __future__ import annotations

import heapq
from collections.abc import Mapping
from typing import Any

from kms.search.engine.bitmasks import iter_mask, mask_from_ids
from kms.search.engine.constants import FACETS, FEW_RESULTS
from kms.search.engine.evaluate import build_query, count_facets, make_hits, score_matches, typo_retry
from kms.search.engine.generation import Generation
from kms.search.engine.query import ParsedQuery
from kms.search.engine.results import SearchResult, TitleSuggestion


def search_generation(
    gen: Generation,
    query_text: str,
    parsed: ParsedQuery,
    visible: frozenset[str],
    constraints: tuple[tuple[str, frozenset[str]], ...],
    page: int,
    pagelen: int,
    empty: SearchResult,
) -> SearchResult:
    """A ranked page of results on one generation (a filter-only query lists newest first)."""
    allowed_mask, allowed = gen.allowed(visible, constraints, parsed.excluded_filters)
    if not allowed_mask:
        return empty
    if not parsed.groups:
        return _listing(gen, query_text, visible, allowed_mask, page, pagelen)
    built = build_query(gen, parsed)
    if built is None:
        return empty
    node, highlights = built
    scored = score_matches(gen, node, allowed)
    fuzzy = False
    suggestion = None
    if len(scored) < FEW_RESULTS:
        retry = typo_retry(gen, parsed, query_text, allowed_mask, allowed, len(scored))
        if retry is not None:
            retry_node, retry_highlights, suggestion = retry
            retry_scored = score_matches(gen, retry_node, allowed)
            if len(retry_scored) > len(scored):
                scored, highlights, fuzzy = retry_scored, retry_highlights, True
            if not retry_scored:
                suggestion = None
    total = len(scored)
    top = heapq.nlargest(page * pagelen, scored)[(page - 1) * pagelen :]
    matched = mask_from_ids((docnum for _, docnum in scored), gen.ndocs)
    hits = make_hits(gen, top, highlights)
    facets = count_facets(gen, matched)
    labels = _facet_labels(gen, facets, visible)
    return SearchResult(query_text, hits, total, page, pagelen, facets, suggestion, fuzzy, labels)


def _listing(
    gen: Generation, query_text: str, visible: frozenset[str], allowed_mask: int, page: int, pagelen: int
) -> SearchResult:
    """A query of filters only: every allowed document, most recently updated first."""
    docnums = list(iter_mask(allowed_mask))
    updated: list[tuple[Any, int]] = []
    for _, leaf_reader, offset in gen.segments:
        column = leaf_reader.column_reader("updated_sort")
        end = offset + leaf_reader.doc_count_all()
        for docnum in docnums:
            if offset <= docnum < end:
                updated.append((column[docnum - offset] or 0, docnum))
    top = heapq.nlargest(page * pagelen, updated)[(page - 1) * pagelen :]
    hits = make_hits(gen, [(0.0, docnum) for _, docnum in top], {})
    facets = count_facets(gen, allowed_mask)
    labels = _facet_labels(gen, facets, visible)
    return SearchResult(query_text, hits, len(docnums), page, pagelen, facets, facet_labels=labels)


def _facet_labels(
    gen: Generation, facets: Mapping[str, tuple[tuple[str, int], ...]], visible: frozenset[str]
) -> dict[str, dict[str, str]]:
    """facet name -> value -> its label, for the facet values shown."""
    fieldnames = dict(FACETS)
    return {
        name: {value: gen.keyword_label(fieldnames[name], value, visible) for value, _ in values}
        for name, values in facets.items()
    }


def suggest_titles_in(
    gen: Generation,
    prefix: str,
    complete: list[str],
    last: str | None,
    visible: frozenset[str],
    limit: int,
) -> list[TitleSuggestion]:
    """Visible titles holding every ``complete`` word and a word starting with ``last`` (if any)."""
    _, allowed = gen.allowed(visible, (), ())
    parts: list[tuple] = [("term", "title_ac", word) for word in complete]
    if last is not None:
        expansions = gen.prefix_terms("title_ac", last, "plain")
        if not expansions:
            return []
        parts.append(("or", [("term", "title_ac", t) for t in expansions]))
    scored = score_matches(gen, ("and", parts), allowed)
    lowered = prefix.strip().lower()
    out = []
    for score, docnum in heapq.nlargest(limit * 4, scored):
        stored = gen.reader.stored_fields(docnum)
        title = stored.get("title", "")
        # A title that starts with the typed text is the one people mean.
        out.append((title.lower().startswith(lowered), score, -len(title), docnum, stored))
    out.sort(key=lambda item: item[:4], reverse=True)
    return [
        TitleSuggestion(s.get("id", ""), s.get("type", ""), s.get("title", ""), s.get("url", ""))
        for *_, s in out[:limit]
    ]
