"""Known cases for the ranking statistics: small samples never beat large good ones by luck."""

import math

import pytest

from kms.metrics import stats
from kms.metrics.stats import Group


def test_three_perfect_ratings_do_not_outrank_240_at_96_percent():
    few = stats.wilson_lower(3, 3)
    many = stats.wilson_lower(230, 240)  # 95.8%, shown as 96%
    assert few < 0.5 < many
    assert many > 0.92


def test_wilson_interval_matches_the_textbook_value():
    low, high = stats.wilson_interval(81, 263)  # a commonly quoted example: 0.2553 .. 0.3662
    assert low == pytest.approx(0.2553, abs=5e-4)
    assert high == pytest.approx(0.3662, abs=5e-4)


def test_for_reopen_rate_the_upper_bound_punishes_small_samples():
    # 0 reopened of 2 looks perfect, but its pessimistic (upper) bound is worse than 5 of 200.
    assert stats.wilson_upper(0, 2) > stats.wilson_upper(5, 200)


def test_nothing_measured_gives_the_widest_interval():
    assert stats.wilson_interval(0, 0) == (0.0, 1.0)


def test_shrinkage_pulls_small_samples_toward_the_team_more_than_large_ones():
    groups = [Group(8.0, 4, 25.0), Group(14.0, 300, 25.0), Group(15.0, 300, 25.0), Group(16.0, 300, 25.0)]
    prior = stats.eb_prior(groups)
    assert 14.0 < prior.mean < 15.5
    small = stats.shrink(8.0, 4, prior)
    large = stats.shrink(14.0, 300, prior)
    assert small - 8.0 > abs(large - 14.0)  # the 4-ticket rep moves much further
    assert 8.0 < small < prior.mean


def test_reps_that_differ_only_by_noise_are_shrunk_almost_to_the_team_mean():
    groups = [Group(10.0 + d, 50, 100.0) for d in (-0.5, 0.0, 0.5)]
    prior = stats.eb_prior(groups)
    assert stats.shrink(10.5, 50, prior) == pytest.approx(prior.mean, abs=0.05)


def test_median_from_histogram_interpolates_inside_the_bucket():
    edges = [0, 5, 10, 20, math.inf]
    assert stats.median_from_histogram([0, 10, 0, 0], edges) == pytest.approx(7.5)
    assert stats.median_from_histogram([2, 2, 4, 0], edges) == pytest.approx(10.0)
    assert stats.median_from_histogram([0, 0, 0, 3], edges) == 20.0
    assert stats.median_from_histogram([0, 0, 0, 0], edges) is None


def test_nps_from_counts():
    assert stats.nps_score(60, 10, 100) == pytest.approx(50.0)
    assert stats.nps_score(0, 0, 0) is None
    assert stats.nps_variance(100, 0, 100) == 0.0


def test_why_sentence_reads_like_the_issue_example():
    sentence = stats.why_share("CSAT", 0.9583, 0.9254, 240, "rated ticket", 0.88)
    assert sentence == "CSAT 96% (lower bound 93%) over 240 rated tickets; team 88%"
    reopened = stats.why_share("Reopen rate", 0.02, 0.05, 1, "ticket", None, lower_is_better=True)
    assert reopened == "Reopen rate 2% (upper bound 5%) over 1 ticket"
    assert stats.why_too_few("CSAT", 3, "rated ticket", 30) == (
        "Not ranked on CSAT: 3 rated tickets, at least 30 needed"
    )
