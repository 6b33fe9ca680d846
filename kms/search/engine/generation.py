"""One generation of one index directory: its reader, which documents are live, and everything a
query derives from them (keyword and term masks, allowed sets, prefix expansions, near words, BM25
statistics), cached until the index changes."""

from __future__ import annotations

import heapq
import itertools
import math
from operator import itemgetter
from typing import TYPE_CHECKING, Any

from kms.search import schema as S
from kms.search.engine import whoosh_adapter as wa
from kms.search.engine.bitmasks import mask_from_ids
from kms.search.engine.constants import BITS, MAX_PREFIX_TERMS
from kms.search.engine.fuzzy import Lexicon, one_edit
from kms.search.engine.snippets import find_spans

if TYPE_CHECKING:
    from kms.search.engine.segments import IndexView

_MAX_ALPHABET = 80  # letters tried per position when looking for one-edit corrections


class Generation:
    """One generation of an open index: its reader, its segments and the caches derived from them."""

    def __init__(self, view: IndexView, reader: Any, generation: int):
        self.view = view
        self.reader = reader
        self.key = (view.name, generation)
        self.segments: list[tuple[str, wa.LeafReader, int]] = wa.leaves(reader)
        self.ndocs = self.reader.doc_count_all()
        self.active = tuple(
            fam
            for fam in S.FAMILIES
            if self.reader.field_length(S.body_field(fam)) or self.reader.field_length(S.title_field(fam))
        )
        live = (1 << self.ndocs) - 1
        for _, leaf_reader, offset in self.segments:
            if leaf_reader.has_deletions():
                deleted = mask_from_ids(wa.deleted_docnums(leaf_reader), leaf_reader.doc_count_all())
                live &= ~(deleted << offset)
        self.live = live
        self._keyword: dict[str, dict[str, int]] = {}
        self._allowed: dict[Any, tuple[int, bytes]] = {}
        self._term_masks: dict[tuple[str, str], int] = {}
        self._prefix: dict[tuple[str, str], list[str]] = {}
        self._stats: dict[tuple[str, str], tuple[float, float]] = {}
        self._labels: dict[tuple[str, str, frozenset[str]], str] = {}

    def term_stats(self, fieldname: str, term: str) -> tuple[float, float]:
        """(BM25 idf of the term, average field length) over the whole index."""
        key = (fieldname, term)
        stats = self._stats.get(key)
        if stats is None:
            count = max(1, self.ndocs)
            frequency = self.reader.doc_frequency(fieldname, term)
            idf = math.log(1 + (count - frequency + 0.5) / (frequency + 0.5))
            average = max(1.0, self.reader.field_length(fieldname) / count)
            if len(self._stats) > 4096:
                self._stats.clear()
            stats = self._stats[key] = (idf, average)
        return stats

    # ---- keyword masks (visibility, facets, filters)

    def keyword_masks(self, fieldname: str) -> dict[str, int]:
        masks = self._keyword.get(fieldname)
        if masks is None:
            masks = {}
            for segid, leaf_reader, offset in self.segments:
                facts = self.view.segment_facts(segid)
                local = facts.keyword_masks.get(fieldname)
                if local is None:
                    local = {}
                    size = leaf_reader.doc_count_all()
                    for term in leaf_reader.lexicon(fieldname):
                        # Deleted documents are left out now; ones deleted later are masked by
                        # self.live, or never match a query (the matchers skip them).
                        ids = leaf_reader.postings(fieldname, term).all_ids()
                        local[term.decode("utf-8")] = mask_from_ids(ids, size)
                    facts.keyword_masks[fieldname] = local
                for value, mask in local.items():
                    masks[value] = masks.get(value, 0) | (mask << offset)
            self._keyword[fieldname] = masks
        return masks

    def allowed(
        self,
        visibilities: frozenset[str],
        constraints: tuple[tuple[str, frozenset[str]], ...],
        exclusions: tuple[tuple[str, frozenset[str]], ...],
    ) -> tuple[int, bytes]:
        key = (visibilities, constraints, exclusions)
        cached = self._allowed.get(key)
        if cached is None:
            vis_masks = self.keyword_masks("visibility")
            mask = 0
            for value in visibilities:
                mask |= vis_masks.get(value, 0)
            mask &= self.live
            for fieldname, values in constraints:
                masks = self.keyword_masks(fieldname)
                either = 0
                for value in values:
                    either |= masks.get(value, 0)
                mask &= either
            for fieldname, values in exclusions:
                masks = self.keyword_masks(fieldname)
                for value in values:
                    mask &= ~masks.get(value, 0)
            cached = (mask, mask.to_bytes((self.ndocs >> 3) + 1, "little"))
            if len(self._allowed) > 64:
                self._allowed.clear()
            self._allowed[key] = cached
        return cached

    def keyword_label(self, fieldname: str, value: str, visibilities: frozenset[str]) -> str:
        """How documents write keyword ``value`` ('support-tickets' -> 'Support tickets'): the stored
        label of the first live document with it that ``visibilities`` may see, so a hidden document
        never names a facet; ``value`` itself when none stores a matching label."""
        key = (fieldname, value, visibilities)
        label = self._labels.get(key)
        if label is None:
            label = value
            mask = self.keyword_masks(fieldname).get(value, 0) & self.allowed(visibilities, (), ())[0]
            if mask:
                stored = self.reader.stored_fields((mask & -mask).bit_length() - 1).get(fieldname)
                # One label (category) or several (tags, stored as a list).
                for candidate in [stored] if isinstance(stored, str) else stored or ():
                    if S.normalize_keyword(candidate) == value:
                        label = str(candidate).strip()
                        break
            if len(self._labels) > 4096:
                self._labels.clear()
            self._labels[key] = label
        return label

    # ---- term-level helpers

    def term_mask(self, fieldname: str, term: str) -> int:
        key = (fieldname, term)
        mask = self._term_masks.get(key)
        if mask is None:
            mask = 0
            for _, leaf_reader, offset in self.segments:
                if (fieldname, term) in leaf_reader:
                    ids = leaf_reader.postings(fieldname, term).all_ids()
                    mask |= mask_from_ids(ids, leaf_reader.doc_count_all()) << offset
            if len(self._term_masks) > 2048:
                self._term_masks.clear()
            self._term_masks[key] = mask
        return mask

    def prefix_terms(self, fieldname: str, prefix: str, family: str) -> list[str]:
        key = (fieldname, prefix)
        cached = self._prefix.get(key)
        if cached is not None:
            return cached
        reader = self.reader
        found: dict[str, int] = {}
        for raw in itertools.islice(reader.expand_prefix(fieldname, prefix), 5000):
            term = raw.decode("utf-8") if isinstance(raw, bytes) else raw
            found[term] = reader.doc_frequency(fieldname, term)
        if family not in ("cjk", "plain"):
            # A prefix of a surface word is not always a prefix of its stem ("escalat*" vs the stem
            # "escal"): also take terms the prefix starts with, a few letters shorter.
            for cut in range(max(3, len(prefix) - 3), len(prefix)):
                stem = prefix[:cut]
                if stem not in found:
                    frequency = reader.doc_frequency(fieldname, stem)
                    if frequency:
                        found[stem] = frequency
        terms = [t for t, _ in heapq.nlargest(MAX_PREFIX_TERMS, found.items(), key=itemgetter(1))]
        if len(self._prefix) > 512:
            self._prefix.clear()
        self._prefix[key] = terms
        return terms

    def lexicons(self, family: str) -> list[Lexicon]:
        """The family's vocabulary (title and body terms), one lexicon per segment, built once."""
        out = []
        fields_ = (S.title_field(family), S.body_field(family))
        for segid, leaf_reader, _ in self.segments:
            facts = self.view.segment_facts(segid)
            lexicon = facts.lexicons.get(family)
            if lexicon is None:
                terms: set[str] = set()
                for fieldname in fields_:
                    if leaf_reader.field_length(fieldname):
                        terms.update(t.decode("utf-8") for t in leaf_reader.lexicon(fieldname))
                lexicon = facts.lexicons[family] = Lexicon(terms)
            out.append(lexicon)
        return out

    def near_terms(self, family: str, word: str, limit: int) -> dict[str, int]:
        """Indexed terms of ``family`` within ``limit`` edits of ``word`` -> their distance."""
        out: dict[str, int] = {}
        for lexicon in self.lexicons(family):
            for term, distance in lexicon.near(word, limit):
                if distance < out.get(term, limit + 1):
                    out[term] = distance
        return out

    def one_edit_terms(self, family: str, typed: str) -> set[str]:
        """Indexed terms that a word one edit away from ``typed`` (as typed, before stemming)
        analyzes to: "custmer" -> "customer" -> the stem "custom", which is three edits from
        "custmer" itself, so comparing stems alone would miss it."""
        lexicons = self.lexicons(family)
        alphabet = set().union(*(lexicon.chars for lexicon in lexicons)) if lexicons else set()
        if len(alphabet) > _MAX_ALPHABET:
            alphabet = {ch for ch in alphabet if ch.isascii()} | set(typed)
        term_of = S.family_rules(family).term
        found = set()
        for variant in one_edit(typed, alphabet):
            term = term_of(variant)
            if term and any(term in lexicon.terms for lexicon in lexicons):
                found.add(term)
        return found

    def surface_form(self, family: str, term: str, allowed: bytes) -> str | None:
        """How ``term`` (a stem) is most often written in the first visible documents that have it."""
        seen: dict[str, int] = {}
        documents = 0
        for fieldname, stored_name in ((S.body_field(family), "body"), (S.title_field(family), "title")):
            for _, leaf_reader, offset in self.segments:
                if (fieldname, term) not in leaf_reader:
                    continue
                matcher = leaf_reader.postings(fieldname, term)
                while matcher.is_active() and documents < 3:
                    docnum = matcher.id() + offset
                    if allowed[docnum >> 3] & BITS[docnum & 7]:
                        documents += 1
                        text = leaf_reader.stored_fields(matcher.id()).get(stored_name) or ""
                        for start, end in find_spans(text, family, (term,)):
                            word = text[start:end].lower()
                            seen[word] = seen.get(word, 0) + 1
                    matcher.next()
            if seen:
                break
        return max(seen, key=lambda w: (seen[w], -len(w))) if seen else None
