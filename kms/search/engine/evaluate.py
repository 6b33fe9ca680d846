"""Running a query: query trees, postings, BM25 scoring, phrases, typo retry, facets and hits."""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Mapping

from kms.search import schema as S
from kms.search.engine import whoosh_adapter as wa
from kms.search.engine.constants import BITS, FACET_LIMIT, FACETS, FEW_RESULTS
from kms.search.engine.generation import Generation
from kms.search.engine.query import Clause, ParsedQuery
from kms.search.engine.results import Hit
from kms.search.engine.snippets import find_spans, make_snippet, marked, merge_spans

# --------------------------------------------------------------------------------------------------
# Query building, matching, typo correction, hits.


# A query is a small tree of tuples, evaluated segment by segment straight from Whoosh's posting
# blocks: ("term", field, text), ("or", [nodes]), ("and", [nodes]), ("not", node, node),
# ("phrase", field, [texts]) and NULL. Whoosh's own matcher tree costs several microseconds per
# matching document in method calls and per-document length lookups; kms needs every match scored
# anyway (for the total and the facets), so it scores postings in bulk instead.
NULL: tuple = ("null",)
K1, B = 1.2, 0.75


def _clause_node(gen: Generation, clause: Clause, highlights: dict[str, set[str]]) -> tuple | None:
    """The node for one clause over every active family; None = nothing to search (only stop
    words), NULL = cannot match."""
    parts: list[tuple] = []
    if clause.kind == "prefix":
        prefix = S.fold(clause.text.lower())
        for family in gen.active:
            for fieldname in (S.title_field(family), S.body_field(family)):
                terms = gen.prefix_terms(fieldname, prefix, family)
                parts.extend(("term", fieldname, t) for t in terms)
                highlights.setdefault(fieldname, set()).update(terms)
        return ("or", parts) if parts else NULL
    any_terms = False
    for family in gen.active:
        terms = S.analyzer_for(family).terms(clause.text)
        if not terms:
            continue
        any_terms = True
        for fieldname in (S.title_field(family), S.body_field(family)):
            if len(terms) == 1:
                term = terms[0]
                if family == "cjk" and len(term) == 1 and S.CJK_RE.match(term):
                    # One CJK character: it begins some indexed bigram (or is a run's last char).
                    expansions = gen.prefix_terms(fieldname, term, family)
                    parts.extend(("term", fieldname, t) for t in expansions)
                    highlights.setdefault(fieldname, set()).update(expansions)
                else:
                    parts.append(("term", fieldname, term))
                    highlights.setdefault(fieldname, set()).add(term)
            else:
                parts.append(("phrase", fieldname, terms))
                highlights.setdefault(fieldname, set()).update(terms)
    if not any_terms:
        return None
    return ("or", parts) if parts else NULL


def build_query(
    gen: Generation,
    parsed: ParsedQuery,
    overrides: Mapping[tuple[int, int], list[tuple[str, str]]] | None = None,
) -> tuple[tuple, dict[str, set[str]]] | None:
    """The query tree of ``parsed`` and the terms to highlight per field; None = nothing to search."""
    highlights: dict[str, set[str]] = {}
    groups: list[tuple] = []
    for gi, group in enumerate(parsed.groups):
        parts = []
        for ci, clause in enumerate(group):
            if overrides and (gi, ci) in overrides:
                alternatives = []
                for family, term in overrides[(gi, ci)]:
                    for fieldname in (S.title_field(family), S.body_field(family)):
                        alternatives.append(("term", fieldname, term))
                        highlights.setdefault(fieldname, set()).add(term)
                part: tuple | None = ("or", alternatives)
            else:
                part = _clause_node(gen, clause, highlights)
            if part is not None:
                parts.append(part)
        if parts:
            groups.append(parts[0] if len(parts) == 1 else ("or", parts))
    if not groups:
        return None
    positive = groups[0] if len(groups) == 1 else ("and", groups)
    negatives = [n for n in (_clause_node(gen, c, {}) for c in parsed.excluded) if n not in (None, NULL)]
    if negatives:
        positive = ("not", positive, ("or", negatives))
    return positive, highlights


class _SegmentEval:
    """Evaluates a query tree in one segment: {segment docnum: BM25 score}.

    AND and phrase nodes find their matching documents first from docnums alone (set intersections,
    smallest first; positions only for the documents every word of a phrase is in) and compute BM25
    only for those, instead of scoring every posting of every word and intersecting afterwards."""

    def __init__(self, gen: Generation, segid: str, leaf_reader: wa.LeafReader):
        self.gen = gen
        self.segid = segid
        self.reader = leaf_reader
        self._phrases: dict[tuple[str, tuple[str, ...]], set[int]] = {}

    def run(self, node: tuple, only: set[int] | None = None) -> dict[int, float]:
        """Scores of the documents matching ``node`` (among ``only``, when given)."""
        kind = node[0]
        if kind == "term":
            return self.term(node[1], node[2], only)
        if kind == "or":
            results = sorted((self.run(child, only) for child in node[1]), key=len, reverse=True)
            if not results:
                return {}
            merged = dict(results[0])
            for other in results[1:]:
                get = merged.get
                for docnum, score in other.items():
                    merged[docnum] = get(docnum, 0.0) + score
            return merged
        if kind in ("and", "phrase"):
            matching = self.docs(node)
            if only is not None:
                matching &= only
            if not matching:
                return {}
            children = node[1] if kind == "and" else [("term", node[1], t) for t in dict.fromkeys(node[2])]
            merged = dict.fromkeys(matching, 0.0)
            for child in children:
                for docnum, score in self.run(child, matching).items():
                    merged[docnum] += score
            return merged
        if kind == "not":
            positive = self.run(node[1], only)
            if positive:
                negative = self.docs(node[2])
                positive = {d: s for d, s in positive.items() if d not in negative}
            return positive
        return {}

    def docs(self, node: tuple) -> set[int]:
        """The documents matching ``node``, unscored."""
        kind = node[0]
        if kind == "term":
            return set(self.gen.view.postings(self.segid, self.reader, node[1], node[2])[0])
        if kind == "or":
            return set().union(*(self.docs(child) for child in node[1]))
        if kind == "and":
            # Cheapest first: a child that is one term's postings tells its size before decoding more.
            found: set[int] | None = None
            for child in sorted(node[1], key=self._size_hint):
                here = self.docs(child)
                found = here if found is None else found & here
                if not found:
                    return set()
            return found or set()
        if kind == "not":
            positive = self.docs(node[1])
            return positive - self.docs(node[2]) if positive else positive
        if kind == "phrase":
            return self.phrase(node[1], node[2])
        return set()

    def _size_hint(self, node: tuple) -> int:
        if node[0] == "term":
            return self.reader.doc_frequency(node[1], node[2])
        if node[0] == "or":
            return sum(self._size_hint(child) for child in node[1])
        return 1 << 40

    def term(self, fieldname: str, term: str, only: set[int] | None = None) -> dict[int, float]:
        ids, weights, _ = self.gen.view.postings(self.segid, self.reader, fieldname, term)
        if not ids:
            return {}
        idf, avg = self.gen.term_stats(fieldname, term)
        lengths = self.gen.view.field_lengths(self.segid, self.reader, fieldname)
        scale = idf * (K1 + 1)
        c1 = K1 * (1 - B)
        c2 = K1 * B / avg
        if only is None:
            return {d: scale * w / (w + c1 + c2 * lengths[d]) for d, w in zip(ids, weights, strict=True)}
        if len(only) * 8 < len(ids):
            # A few documents out of a long list: look each one up instead of walking the list.
            out = {}
            end = len(ids)
            for d in only:
                i = bisect_left(ids, d)
                if i < end and ids[i] == d:
                    w = weights[i]
                    out[d] = scale * w / (w + c1 + c2 * lengths[d])
            return out
        return {
            d: scale * w / (w + c1 + c2 * lengths[d]) for d, w in zip(ids, weights, strict=True) if d in only
        }

    def phrase(self, fieldname: str, terms: list[str]) -> set[int]:
        """The documents holding ``terms`` next to each other, in order."""
        key = (fieldname, tuple(terms))
        found = self._phrases.get(key)
        if found is None:
            found = self._phrases[key] = self._phrase_docs(fieldname, terms)
        return set(found)

    def _phrase_docs(self, fieldname: str, terms: list[str]) -> set[int]:
        candidates = self.docs(("and", [("term", fieldname, t) for t in dict.fromkeys(terms)]))
        if not candidates:
            return set()
        # Rarest term first: each later term only decodes the documents still in the running.
        order = sorted(range(len(terms)), key=lambda i: self.reader.doc_frequency(fieldname, terms[i]))
        alive = sorted(candidates)
        starts: dict[int, set[int]] | None = None
        for index in order:
            survivors: dict[int, set[int]] = {}
            found = self.gen.view.positions(self.segid, self.reader, fieldname, terms[index], alive)
            for docnum, positions in found.items():
                here = {p - index for p in positions}
                if starts is not None:
                    here &= starts[docnum]
                if here:
                    survivors[docnum] = here
            starts = survivors
            if not starts:
                return set()
            alive = sorted(starts)
        return set(alive)


def score_matches(gen: Generation, node: tuple, allowed: bytes) -> list[tuple[float, int]]:
    """Every allowed matching document as (score, global docnum)."""
    out: list[tuple[float, int]] = []
    if node is NULL:
        return out
    bits = BITS
    for segid, leaf_reader, offset in gen.segments:
        scores = _SegmentEval(gen, segid, leaf_reader).run(node)
        if scores:
            out.extend(
                (score, d + offset)
                for d, score in scores.items()
                if allowed[(d + offset) >> 3] & bits[(d + offset) & 7]
            )
    return out


MAX_TYPO_WORD = 24  # longer words are not corrected letter by letter


def typo_retry(
    gen: Generation, parsed: ParsedQuery, query_text: str, allowed_mask: int, allowed: bytes, found: int
):
    """The query again with each word that visible documents don't contain (or barely, when the
    query found little) replaced by its nearest common visible word, and "did you mean" with the
    whole corrected query written as documents write it. Candidates are counted over visible
    documents only, so nothing about hidden documents leaks into the suggestion."""
    overrides: dict[tuple[int, int], list[tuple[str, str]]] = {}
    replacements: list[tuple[str, str]] = []
    for gi, group in enumerate(parsed.groups):
        for ci, clause in enumerate(group):
            if clause.kind != "word":
                continue
            per_family = _word_terms(gen, clause.text)
            if not per_family:
                continue
            own = 0
            for family, term in per_family.items():
                own |= gen.term_mask(S.title_field(family), term) | gen.term_mask(S.body_field(family), term)
            own_count = (own & allowed_mask).bit_count()
            if own_count and found >= FEW_RESULTS:
                continue
            best = _nearest_common(gen, clause.text, per_family, own_count, allowed_mask)
            if best is None:
                continue
            family, term = best
            surface = gen.surface_form(family, term, allowed) or term
            alternatives = _terms_of_correction(surface, family, term, per_family)
            if own_count:
                alternatives += [item for item in per_family.items() if item not in alternatives]
            overrides[(gi, ci)] = alternatives
            if clause.raw[:1].isupper():
                surface = surface[:1].upper() + surface[1:]
            replacements.append((clause.raw, surface))
    if not overrides:
        return None
    built = build_query(gen, parsed, overrides)
    if built is None:
        return None
    suggestion = query_text
    for raw, surface in replacements:
        suggestion = re.sub(
            rf"(?<!\S){re.escape(raw)}(?!\S)", lambda _m, word=surface: word, suggestion, count=1
        )
    return built[0], built[1], (suggestion if suggestion != query_text else None)


def _word_terms(gen: Generation, text: str) -> dict[str, str]:
    """family -> the one term a typed word analyzes to, in each active family that corrects typos."""
    per_family = {}
    for family in gen.active:
        if family == "cjk":
            continue
        terms = S.analyzer_for(family).terms(text)
        if len(terms) == 1 and len(terms[0]) >= 3 and not terms[0].isdigit():
            per_family[family] = terms[0]
    return per_family


def _nearest_common(
    gen: Generation, text: str, per_family: Mapping[str, str], own_count: int, allowed_mask: int
) -> tuple[str, str] | None:
    """(family, term) of the correction: the fewest edits first (1, then 2 when nothing is one edit
    away; 2 only for words longer than four letters), then the most visible documents. A rare word
    that exists is only "corrected" to a much more common one."""
    typed = S.fold(text.lower())
    longest = max(len(term) for term in per_family.values())
    for limit in (1, 2) if longest > 4 else (1,):
        candidates = []
        for family, term in per_family.items():
            for candidate in _candidates(gen, family, term, typed, limit):
                mask = gen.term_mask(S.title_field(family), candidate) | gen.term_mask(
                    S.body_field(family), candidate
                )
                visible_count = (mask & allowed_mask).bit_count()
                if visible_count and visible_count >= 10 * own_count:
                    candidates.append((-visible_count, family, candidate))
        if candidates:
            _, family, candidate = min(candidates)
            return family, candidate
    return None


def _candidates(gen: Generation, family: str, term: str, typed: str, distance: int) -> set[str]:
    """Indexed terms exactly ``distance`` edits from the typed word, on the word as typed or its term."""
    found = {candidate for candidate, d in gen.near_terms(family, term, distance).items() if d == distance}
    if distance == 1:
        if typed.isalpha() and len(typed) <= MAX_TYPO_WORD:
            found |= gen.one_edit_terms(family, typed)
    elif family not in ("plain", "ar") and typed.isalpha():
        # A typo in a suffix can defeat the stemmer: a stem that begins the typed word counts as two
        # edits away.
        for cut in range(max(4, len(typed) - 6), len(typed)):
            stem = typed[:cut]
            if gen.reader.doc_frequency(S.body_field(family), stem) or gen.reader.doc_frequency(
                S.title_field(family), stem
            ):
                found.add(stem)
    found.discard(term)
    return found


def _terms_of_correction(
    surface: str, family: str, term: str, per_family: Mapping[str, str]
) -> list[tuple[str, str]]:
    """The correction's term in every family the typed word was looked up in, so the retry finds
    the corrected word in pages of any language, as searching for it would."""
    out = [(family, term)]
    for other in per_family:
        if other != family:
            terms = S.analyzer_for(other).terms(surface)
            if len(terms) == 1:
                out.append((other, terms[0]))
    return out


def count_facets(gen: Generation, matched: int) -> dict[str, tuple[tuple[str, int], ...]]:
    """Facet name -> (value, count) of the documents in ``matched``, most frequent first."""
    out = {}
    for name, fieldname in FACETS:
        counts = []
        for value, mask in gen.keyword_masks(fieldname).items():
            count = (mask & matched).bit_count()
            if count:
                counts.append((value, count))
        counts.sort(key=lambda item: (-item[1], item[0]))
        out[name] = tuple(counts[:FACET_LIMIT])
    return out


def make_hits(
    gen: Generation, top: list[tuple[float, int]], highlights: Mapping[str, set[str]]
) -> tuple[Hit, ...]:
    """Hits with snippets and highlighted titles for the (score, docnum) pairs in ``top``."""
    hits = []
    for score, docnum in top:
        fields_ = gen.reader.stored_fields(docnum)
        family = S.document_family(fields_)
        title = fields_.get("title", "")
        body = fields_.get("body", "")
        title_terms = highlights.get(S.title_field(family), ())
        body_terms = highlights.get(S.body_field(family), ())
        hits.append(
            Hit(
                id=fields_.get("id", ""),
                type=fields_.get("type", ""),
                title=title,
                url=fields_.get("url", ""),
                snippet=make_snippet(body, find_spans(body, family, body_terms)),
                title_html=marked(title, merge_spans(find_spans(title, family, title_terms)), 0, len(title)),
                score=float(score),
                fields={k: v for k, v in fields_.items() if k != "body"},
            )
        )
    return tuple(hits)
