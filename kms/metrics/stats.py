"""Small-sample-aware statistics for ranking reps: Wilson bounds, empirical-Bayes shrinkage, medians from
histograms, and the sentences that say why a rep ranks where they do.

Pure functions over plain numbers (no database, no Flask), so the known cases are easy to test.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

# 95% two-sided: the usual choice, and the one the "lower bound" in the sentences refers to.
Z95 = 1.959963984540054


def wilson_interval(successes: int, total: int, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval of a proportion, as (low, high) in 0..1; (0, 1) when nothing was measured.

    Unlike the raw share, it widens for small samples: 3 good ratings out of 3 give a low of about 0.44,
    while 230 out of 240 give about 0.92, so the second ranks higher on the lower bound."""
    if total <= 0:
        return 0.0, 1.0
    successes = min(max(successes, 0), total)
    p = successes / total
    z2 = z * z
    centre = p + z2 / (2 * total)
    margin = z * math.sqrt(p * (1 - p) / total + z2 / (4 * total * total))
    denominator = 1 + z2 / total
    return max(0.0, (centre - margin) / denominator), min(1.0, (centre + margin) / denominator)


def wilson_lower(successes: int, total: int, z: float = Z95) -> float:
    """The pessimistic estimate of a share where higher is better (CSAT, FCR)."""
    return wilson_interval(successes, total, z)[0]


def wilson_upper(successes: int, total: int, z: float = Z95) -> float:
    """The pessimistic estimate of a share where lower is better (reopen rate)."""
    return wilson_interval(successes, total, z)[1]


@dataclass(frozen=True)
class Group:
    """One rep's sample of a measured quantity: its mean, how many values, and their variance."""

    mean: float
    count: int
    variance: float


@dataclass(frozen=True)
class Prior:
    """What empirical Bayes learned from the whole team: where to shrink toward, and how hard.

    `weight` is the number of pseudo-observations at the team mean that each rep's own values are blended with:
    a rep with `weight` values of their own lands half-way between their mean and the team's."""

    mean: float
    weight: float


# When the reps differ less than chance alone explains, the between-rep variance estimate is zero or negative;
# the weight is then capped, which shrinks everybody almost all the way to the team mean (they are alike).
MAX_WEIGHT = 10_000.0


def eb_prior(groups: Sequence[Group]) -> Prior | None:
    """Estimate the team prior from the reps' samples by the method of moments; None without data.

    Team mean: the mean over all values (reps weighted by their counts). Within-rep variance: pooled over reps.
    Between-rep variance: the spread of rep means beyond what their sampling noise explains."""
    used = [g for g in groups if g.count > 0]
    if not used:
        return None
    total = sum(g.count for g in used)
    mean = sum(g.mean * g.count for g in used) / total
    within = sum(g.variance * g.count for g in used) / total
    if len(used) < 2 or within <= 0:
        return Prior(mean, 0.0 if within <= 0 else MAX_WEIGHT)
    rep_means = [g.mean for g in used]
    centre = sum(rep_means) / len(rep_means)
    spread = sum((m - centre) ** 2 for m in rep_means) / (len(rep_means) - 1)
    noise = sum(within / g.count for g in used) / len(used)
    between = spread - noise
    if between <= 0:
        return Prior(mean, MAX_WEIGHT)
    return Prior(mean, min(MAX_WEIGHT, within / between))


def shrink(mean: float, count: int, prior: Prior | None) -> float:
    """A rep's mean pulled toward the team mean, the more the fewer values they have."""
    if prior is None or count + prior.weight <= 0:
        return mean
    return (count * mean + prior.weight * prior.mean) / (count + prior.weight)


def meets_minimum(count: int, minimum: int) -> bool:
    """Whether a rep has enough measured tickets to be ranked at all."""
    return count >= max(1, minimum)


def median_from_histogram(counts: Sequence[int], edges: Sequence[float]) -> float | None:
    """The median of values counted in buckets, interpolated inside the bucket that holds it.

    `edges` are the bucket boundaries in ascending order, len(counts) + 1 of them; the last may be math.inf
    (an open bucket), whose values are then placed at its lower edge. None when nothing was counted."""
    if len(edges) != len(counts) + 1:
        raise ValueError("edges must have one more entry than counts")
    total = sum(counts)
    if total <= 0:
        return None
    half = total / 2
    seen = 0
    for index, count in enumerate(counts):
        if count and seen + count >= half:
            low, high = edges[index], edges[index + 1]
            if math.isinf(high):
                return float(low)
            return low + (high - low) * (half - seen) / count
        seen += count
    return float(edges[-2])


def histogram_mean_variance(counts: Sequence[int], edges: Sequence[float]) -> tuple[float, float] | None:
    """Mean and variance of bucketed values, each value at its bucket's middle (an open last bucket at its lower
    edge). Used to estimate the within-rep spread of handle times for shrinkage."""
    total = sum(counts)
    if total <= 0:
        return None
    middles = [
        edges[i] if math.isinf(edges[i + 1]) else (edges[i] + edges[i + 1]) / 2 for i in range(len(counts))
    ]
    mean = sum(c * m for c, m in zip(counts, middles, strict=True)) / total
    variance = sum(c * (m - mean) ** 2 for c, m in zip(counts, middles, strict=True)) / total
    return mean, variance


def nps_score(promoters: int, detractors: int, answers: int) -> float | None:
    """Net Promoter Score, -100..100: promoters' share minus detractors' share, in points."""
    if answers <= 0:
        return None
    return 100.0 * (promoters - detractors) / answers


def nps_variance(promoters: int, detractors: int, answers: int) -> float:
    """Variance of one answer scored +100 (promoter), 0 (passive) or -100 (detractor)."""
    if answers <= 0:
        return 0.0
    p, d = promoters / answers, detractors / answers
    return 10_000.0 * (p + d - (p - d) ** 2)


# "Why" sentences ----------------------------------------------------------------------------------------


def percent(value: float | None) -> str:
    """A share as a whole percent ("96%"), or an em dash when unknown."""
    return "—" if value is None else f"{round(value * 100)}%"


def minutes(value: float | None) -> str:
    """Minutes with one decimal ("12.5 min")."""
    return "—" if value is None else f"{value:.1f} min"


def signed(value: float | None) -> str:
    """An NPS with its sign ("+42", "-7", "0")."""
    if value is None:
        return "—"
    whole = round(value)
    return f"+{whole}" if whole > 0 else str(whole)


def counted(count: int, noun: str) -> str:
    """'1 rated ticket', '240 rated tickets' (the noun's last word takes the plural)."""
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def why_share(
    label: str,
    value: float,
    bound: float,
    count: int,
    noun: str,
    team: float | None,
    *,
    lower_is_better=False,
) -> str:
    """'CSAT 96% (lower bound 93%) over 240 rated tickets; team 88%' — the bound is the pessimistic one."""
    side = "upper" if lower_is_better else "lower"
    sentence = f"{label} {percent(value)} ({side} bound {percent(bound)}) over {counted(count, noun)}"
    return sentence + (f"; team {percent(team)}" if team is not None else "")


def why_mean(label: str, value: float, shrunk: float, count: int, noun: str, team: float | None, fmt) -> str:
    """'Handle time 9.5 min (10.2 min shrunk toward the team) over 180 timed tickets; team 14.0 min'."""
    sentence = f"{label} {fmt(value)} ({fmt(shrunk)} shrunk toward the team) over {counted(count, noun)}"
    return sentence + (f"; team {fmt(team)}" if team is not None else "")


def why_too_few(label: str, count: int, noun: str, minimum: int) -> str:
    """'Not ranked on CSAT: 3 rated tickets, at least 30 needed'."""
    return f"Not ranked on {label}: {counted(count, noun)}, at least {minimum} needed"
