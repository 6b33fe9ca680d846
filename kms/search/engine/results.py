"""What a search returns: SearchResult, Hit and TitleSuggestion."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

# --------------------------------------------------------------------------------------------------
# Results


@dataclass(frozen=True)
class Hit:
    id: str
    type: str
    title: str
    url: str
    snippet: str  # HTML: the escaped text with <mark> around matches, nothing else
    title_html: str  # HTML: the escaped title with <mark> around matches
    score: float
    fields: Mapping[str, Any]


@dataclass(frozen=True)
class SearchResult:
    query: str
    hits: tuple[Hit, ...]
    total: int
    page: int
    pagelen: int
    facets: Mapping[str, tuple[tuple[str, int], ...]]
    suggestion: str | None = None  # "did you mean", as a query string
    fuzzy: bool = False  # the hits come from the typo-tolerant retry
    # facet name -> value -> how the documents write it: {"category": {"support-tickets": "Support tickets"}}
    facet_labels: Mapping[str, Mapping[str, str]] = field(default_factory=dict)

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.pagelen))


@dataclass(frozen=True)
class TitleSuggestion:
    id: str
    type: str
    title: str
    url: str
