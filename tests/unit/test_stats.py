"""evals.stats against values worked out by hand, and a coverage simulation for the bootstrap CI."""

from __future__ import annotations

import math

import numpy as np
import pytest

from evals.stats import (
    auc,
    binomial_ci,
    binomial_p_value,
    bootstrap_ci,
    corrected_rate,
    corrected_rate_ci,
    fit_logistic,
    length_controlled_ci,
    length_controlled_win_rate,
    outcome_from_ranks,
    outcome_from_scores,
    paired_bootstrap_ci,
    paired_ratio_difference_ci,
    ratio_ci,
    sign_test_p_value,
    tally,
    win_rate,
)


def test_win_rate_counts_ties_as_half():
    # 2 wins + 1 tie (= ½) out of 4 -> 2.5 / 4
    assert win_rate([1, 0.5, 0, 1]) == pytest.approx(0.625)
    assert win_rate([0.5, 0.5, 0.5]) == 0.5
    assert math.isnan(win_rate([]))
    assert tally([1, 0.5, 0, 1]) == {"wins": 2, "ties": 1, "losses": 1}


def test_win_rate_rejects_other_values():
    with pytest.raises(ValueError, match="0.5"):
        win_rate([1, 0.7])


def test_outcomes_from_ranks_and_scores():
    assert outcome_from_ranks(0, 1) == 1.0  # rank 0 is best
    assert outcome_from_ranks(1, 1) == 0.5
    assert outcome_from_ranks(2, 0) == 0.0
    assert outcome_from_scores(0.3, -1.0) == 1.0
    assert outcome_from_scores(2.0, 2.0) == 0.5
    assert outcome_from_scores(-2.0, 2.0) == 0.0


def test_bootstrap_ci_by_hand():
    # a constant sample has no spread: every resample mean is 3
    assert bootstrap_ci([3.0, 3.0, 3.0]) == (3.0, 3.0)
    # two values {0, 1}: resample means are 0, ½, 1 with probabilities ¼, ½, ¼, so the 2.5 % and
    # 97.5 % quantiles of many resamples are 0 and 1
    assert bootstrap_ci([0.0, 1.0], n_boot=4000) == (0.0, 1.0)
    # the same seed gives the same interval; an interval brackets the sample mean
    values = np.random.default_rng(1).normal(size=50)
    low, high = bootstrap_ci(values, seed=7)
    assert (low, high) == bootstrap_ci(values, seed=7)
    assert low < values.mean() < high
    assert all(math.isnan(v) for v in bootstrap_ci([]))


def test_bootstrap_ci_accepts_a_plain_statistic():
    # median of 4 draws from {1, 2, 3, 100}: it equals 100 when at least 3 draws are 100, which has
    # probability 4·(¼)³·¾ + (¼)⁴ = 0.0508 > 0.025, so the 97.5 % quantile is 100; likewise the
    # 2.5 % quantile is 1 (at least 3 draws of 1)
    low, high = bootstrap_ci([1.0, 2.0, 3.0, 100.0], stat=lambda x: float(np.median(x)), n_boot=4000)
    assert (low, high) == (1.0, 100.0)


def test_paired_bootstrap_ci_by_hand():
    a = np.array([0.0, 1.0, 0.5, 1.0, 0.0])
    # the difference of an arm with itself is exactly 0 in every resample
    assert paired_bootstrap_ci(a, a) == (0.0, 0.0)
    # shifting every paired value by 1 shifts every resampled difference by exactly 1: pairing makes
    # the (large) spread of the shared values cancel, which an unpaired bootstrap would not
    low, high = paired_bootstrap_ci(a + 1.0, a)
    assert low == pytest.approx(1.0) and high == pytest.approx(1.0)
    with pytest.raises(ValueError):
        paired_bootstrap_ci([1.0, 2.0], [1.0])


def test_ratio_ci_by_hand():
    # every unit has the same ratio (2 per token): any resample's ratio is 2
    assert ratio_ci([2.0, 4.0, 6.0], [1.0, 2.0, 3.0]) == (2.0, 2.0)
    # two units, 1/1 and 3/1: resamples give (1+1)/2, (1+3)/2, (3+3)/2 = 1, 2, 3 with chances ¼, ½, ¼,
    # so the 2.5 % and 97.5 % quantiles are 1 and 3; a ratio of sums, not a mean of ratios
    assert ratio_ci([1.0, 3.0], [1.0, 1.0], n_boot=4000) == (1.0, 3.0)
    # units weigh by their denominators: 10/10 with 0/1 gives sums 20/20, 10/11, 0/2 -> 1, 0.909..., 0
    low, high = ratio_ci([10.0, 0.0], [10.0, 1.0], n_boot=4000)
    assert (low, high) == (0.0, 1.0)
    assert all(math.isnan(v) for v in ratio_ci([], []))
    with pytest.raises(ValueError):
        ratio_ci([1.0], [1.0, 2.0])


def test_paired_ratio_difference_ci_by_hand():
    loss = ([4.0, 9.0, 1.0], [2.0, 3.0, 1.0])
    assert paired_ratio_difference_ci(loss, loss) == (0.0, 0.0)
    # the second arm loses exactly half a nat per token more on every unit: the difference is -0.5 in
    # every resample, however different the units are from one another
    worse = ([4.0 + 1.0, 9.0 + 1.5, 1.0 + 0.5], [2.0, 3.0, 1.0])
    low, high = paired_ratio_difference_ci(loss, worse)
    assert low == pytest.approx(-0.5) and high == pytest.approx(-0.5)
    with pytest.raises(ValueError):
        paired_ratio_difference_ci(loss, ([1.0], [1.0]))


def test_binomial_helpers_by_hand():
    # Clopper-Pearson with 0 successes in 10: upper = 1 - (alpha/2)^(1/n) = 1 - 0.025^(0.1)
    low, high = binomial_ci(0, 10)
    assert low == 0.0
    assert high == pytest.approx(1 - 0.025 ** 0.1, abs=1e-9)
    # 10 of 10: lower = (alpha/2)^(1/n)
    low, high = binomial_ci(10, 10)
    assert low == pytest.approx(0.025 ** 0.1, abs=1e-9) and high == 1.0
    # exact two-sided test of 10 of 10 against ½: 2 * 0.5^10
    assert binomial_p_value(10, 10) == pytest.approx(2 * 0.5 ** 10)
    assert binomial_p_value(5, 10) == pytest.approx(1.0)
    assert math.isnan(binomial_p_value(0, 0))
    with pytest.raises(ValueError):
        binomial_ci(11, 10)


def test_sign_test_drops_ties():
    # 8 wins, 5 ties, 0 losses: the ties go, leaving 8 of 8 -> 2 * 0.5^8
    assert sign_test_p_value([1.0] * 8 + [0.5] * 5) == pytest.approx(2 * 0.5 ** 8)


def test_auc_by_hand():
    # pairs (pos, neg): 3>1, 3>2, 2>1 win; 2=2 ties -> (3 + ½) / 4
    assert auc([3, 2], [1, 2]) == pytest.approx(0.875)
    assert auc([1], [2]) == 0.0
    assert math.isnan(auc([], [1]))


def test_bootstrap_ci_covers_the_true_win_rate_about_95_percent_of_the_time():
    """Draw many eval runs from a known outcome distribution (win ½, tie 0.2, loss 0.3, so the true
    win rate with ties as ½ is 0.5 + 0.1 = 0.6) and count how often the 95 % interval holds 0.6."""
    rng = np.random.default_rng(12345)
    truth, runs, n = 0.6, 400, 120
    covered = 0
    for run in range(runs):
        outcomes = rng.choice([1.0, 0.5, 0.0], size=n, p=[0.5, 0.2, 0.3])
        low, high = bootstrap_ci(outcomes, n_boot=1000, seed=run)
        covered += low <= truth <= high
    coverage = covered / runs
    # binomial noise of 400 runs is about ±0.011 (1 sd); the percentile bootstrap runs slightly narrow
    assert 0.91 <= coverage <= 0.985, coverage


def test_corrected_rate_by_hand():
    # sensitivity 0.8, specificity 0.9, judged 0.5: (0.5 + 0.9 - 1) / (0.8 + 0.9 - 1) = 0.4 / 0.7
    assert corrected_rate(0.5, 0.8, 0.9) == pytest.approx(0.4 / 0.7)
    # a perfect judge reports the judged rate itself; out-of-range estimates are clipped
    assert corrected_rate(0.37, 1.0, 1.0) == pytest.approx(0.37)
    assert corrected_rate(0.05, 0.8, 0.9) == 0.0 and corrected_rate(0.95, 0.8, 0.9) == 1.0
    assert math.isnan(corrected_rate(0.5, 0.5, 0.5))  # a coin tells nothing


def test_corrected_rate_recovers_a_gap_the_judge_shrinks():
    """Two models truly 30 % and 70 % true; a judge with sensitivity 0.7 and specificity 0.7 reports
    0.42 and 0.58 (a 16-point gap). Corrected, the gap is 40 points again, inside the intervals."""
    labels = [1] * 100 + [0] * 100
    calls = [1] * 70 + [0] * 30 + [1] * 30 + [0] * 70  # sensitivity 0.7, specificity 0.7
    low_model = [1] * 42 + [0] * 58
    high_model = [1] * 58 + [0] * 42
    low = corrected_rate_ci(low_model, labels, calls, n_boot=400)
    high = corrected_rate_ci(high_model, labels, calls, n_boot=400)
    assert (low["sensitivity"], low["specificity"]) == (0.7, 0.7)
    assert low["raw"] == pytest.approx(0.42) and low["corrected"] == pytest.approx(0.3)
    assert high["corrected"] == pytest.approx(0.7)
    assert low["low"] < 0.3 < low["high"] and high["low"] < 0.7 < high["high"]
    # the interval is wider than the raw rate's own: it carries the judge's uncertainty too
    raw_low, raw_high = bootstrap_ci(low_model, n_boot=400)
    assert low["high"] - low["low"] > raw_high - raw_low


def test_length_control_at_equal_lengths_is_the_plain_win_rate():
    # no length difference: the fit is its intercept alone, sigmoid(theta) = the mean outcome, by hand 2.5 / 4
    assert length_controlled_win_rate([1, 1, 0, 0.5], [10] * 4, [10] * 4) == pytest.approx(0.625, abs=1e-6)


def test_length_control_removes_a_win_bought_with_length_and_keeps_one_that_was_not():
    rng = np.random.default_rng(0)
    n = 400
    longer = rng.random(n) < 0.7  # the model is longer on 70 % of prompts ...
    delta = np.where(longer, 1, -1) * rng.uniform(20, 200, n)
    base = np.full(n, 300.0)
    # ... and a judge that prefers the longer answer 85 % of the time, whatever it says
    length_judge = np.where(rng.random(n) < 0.85, longer, ~longer).astype(float)
    raw = length_judge.mean()
    controlled = length_controlled_win_rate(length_judge, base + delta, base)
    assert raw > 0.58 and abs(controlled - 0.5) < 0.06 < raw - 0.5
    # a model that wins 80 % of prompts whatever the lengths keeps its win rate
    quality = (rng.random(n) < 0.8).astype(float)
    assert length_controlled_win_rate(quality, base + delta, base) == pytest.approx(quality.mean(), abs=0.03)
    summary = length_controlled_ci(length_judge, base + delta, base, n_boot=100)
    assert summary["n"] == n and summary["ci"][0] < controlled < summary["ci"][1]


def test_weighted_logistic_by_hand():
    # intercept only: the fit is the weighted mean of the labels, by hand 3 / (3 + 1) = 0.75, bias log 3
    w = fit_logistic(np.zeros((2, 0)), np.array([1.0, 0.0]), sample_weight=np.array([3.0, 1.0]))
    assert w[-1] == pytest.approx(math.log(3), abs=1e-8)
    # weight 2 on a row is the same fit as the row twice
    x = np.array([[0.0], [1.0], [2.0], [3.0]])
    y = np.array([0.0, 1.0, 0.0, 1.0])
    twice = fit_logistic(np.vstack([x, x[1:2]]), np.append(y, y[1]), l2=0.1)
    weighted = fit_logistic(x, y, l2=0.1, sample_weight=np.array([1.0, 2.0, 1.0, 1.0]))
    np.testing.assert_allclose(weighted, twice, atol=1e-10)
    # unit weights are the unweighted fit; a negative weight is refused
    np.testing.assert_array_equal(fit_logistic(x, y, sample_weight=np.ones(4)), fit_logistic(x, y))
    with pytest.raises(ValueError, match="sample_weight"):
        fit_logistic(x, y, sample_weight=np.array([1.0, -1.0, 1.0, 1.0]))
