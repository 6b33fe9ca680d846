"""Fixed handle-time buckets: RepDay keeps a count per bucket so medians can be read from summed histograms.

A median cannot be added up from daily medians; a histogram over the same fixed buckets can. The buckets are
upper edges in minutes (a value v falls in the first bucket whose edge is >= v; the last bucket is open-ended).
They are part of the stored data: change them only with a migration that recounts metric_rep_days.
"""

from __future__ import annotations

import bisect
import json
from collections.abc import Iterable

# Upper edges in minutes; one more bucket after the last edge holds everything longer (over 8 hours).
HANDLE_BUCKETS: tuple[float, ...] = (
    1, 2, 3, 4, 5, 6, 8, 10, 12, 15, 20, 25, 30, 40, 50, 60, 75, 90, 120, 150, 180, 240, 300, 480,
)  # fmt: skip
BUCKET_COUNT = len(HANDLE_BUCKETS) + 1


def bucket_index(minutes: float) -> int:
    """The bucket a handle time falls in (0 for anything up to 1 minute, BUCKET_COUNT - 1 past 8 hours)."""
    return bisect.bisect_left(HANDLE_BUCKETS, minutes)


def empty_hist() -> list[int]:
    return [0] * BUCKET_COUNT


def parse_hist(text: str | None) -> list[int]:
    """A stored handle_hist (JSON list) as a list of BUCKET_COUNT counts; empty or missing text is all zeros."""
    if not text:
        return empty_hist()
    counts = [int(n) for n in json.loads(text)]
    return (counts + empty_hist())[:BUCKET_COUNT]


def dump_hist(counts: list[int]) -> str:
    """The JSON text stored in RepDay.handle_hist."""
    # The same text as json.dumps(counts, separators=(",", ":")) for a list of ints, several times faster.
    return "[" + ",".join(map(str, counts)) + "]"


def add_hists(hists: Iterable[list[int] | str]) -> list[int]:
    """The element-wise sum of histograms (lists or stored JSON text)."""
    total = empty_hist()
    for hist in hists:
        counts = parse_hist(hist) if isinstance(hist, str) or hist is None else hist
        for index, count in enumerate(counts):
            total[index] += count
    return total


def median_from_hist(counts: list[int] | str) -> float | None:
    """The median handle time in minutes estimated from a histogram: linear inside the bucket that holds the
    middle ticket (bucket 0 starts at 0; the open last bucket is reported as its lower edge). None when empty."""
    if isinstance(counts, str):
        counts = parse_hist(counts)
    total = sum(counts)
    if total == 0:
        return None
    middle = total / 2
    seen = 0
    for index, count in enumerate(counts):
        if count and seen + count >= middle:
            low = HANDLE_BUCKETS[index - 1] if index > 0 else 0.0
            if index >= len(HANDLE_BUCKETS):
                return float(low)
            high = HANDLE_BUCKETS[index]
            return float(low + (high - low) * (middle - seen) / count)
        seen += count
    return float(HANDLE_BUCKETS[-1])
