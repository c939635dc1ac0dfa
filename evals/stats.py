"""Statistics for the evals, as pure functions of plain arrays.

Win rates count a tie as half a win (as in the paper's and AlpacaEval's pairwise protocol); every
interval is a 95 % interval unless ``alpha`` says otherwise. Bootstrap intervals are percentile
intervals over the evaluation prompts; the paired version resamples the same prompts for both
arms, so the shared per-prompt difficulty cancels out of a difference.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

WIN, TIE, LOSS = 1.0, 0.5, 0.0


def outcome_from_ranks(rank_first: int | float, rank_second: int | float) -> float:
    """The first answer's outcome from two ranks (0 = best): 1 win, ½ tie, 0 loss."""
    if rank_first < rank_second:
        return WIN
    return TIE if rank_first == rank_second else LOSS


def outcome_from_scores(score_first: float, score_second: float) -> float:
    """The first answer's outcome from two scores (higher = better): 1 win, ½ tie, 0 loss."""
    if score_first > score_second:
        return WIN
    return TIE if score_first == score_second else LOSS


def _outcomes(outcomes: Sequence[float]) -> np.ndarray:
    values = np.asarray(outcomes, dtype=float)
    if values.ndim != 1:
        raise ValueError("outcomes must be a flat sequence")
    if not np.isin(values, (WIN, TIE, LOSS)).all():
        raise ValueError("outcomes must be 1 (win), 0.5 (tie) or 0 (loss)")
    return values


def win_rate(outcomes: Sequence[float]) -> float:
    """Share of wins, ties counting ½: mean of outcomes in {1, ½, 0}. NaN for no outcomes."""
    values = _outcomes(outcomes)
    return float(values.mean()) if values.size else float("nan")


def tally(outcomes: Sequence[float]) -> dict[str, int]:
    """Counts of wins, ties and losses."""
    values = _outcomes(outcomes)
    return {"wins": int((values == WIN).sum()), "ties": int((values == TIE).sum()),
            "losses": int((values == LOSS).sum())}


def _percentile_interval(samples: np.ndarray, alpha: float) -> tuple[float, float]:
    low, high = np.quantile(samples, [alpha / 2, 1 - alpha / 2])
    return float(low), float(high)


def bootstrap_ci(values: Sequence[float], stat: Callable[[np.ndarray], float] = np.mean,
                 n_boot: int = 1000, seed: int = 0, alpha: float = 0.05) -> tuple[float, float]:
    """Percentile bootstrap interval of ``stat`` over ``values`` (resampled with replacement).

    ``stat`` must accept an array of shape [n_boot, n] with ``axis=-1`` (numpy reductions do) or be a
    plain function of one 1-D array. One value gives a zero-width interval; none gives NaNs."""
    data = np.asarray(values, dtype=float)
    if data.size == 0:
        return float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    index = rng.integers(0, data.size, size=(n_boot, data.size))
    return _percentile_interval(_apply(stat, data[index]), alpha)


def paired_bootstrap_ci(first: Sequence[float], second: Sequence[float],
                        stat: Callable[[np.ndarray], float] = np.mean, n_boot: int = 1000,
                        seed: int = 0, alpha: float = 0.05) -> tuple[float, float]:
    """Bootstrap interval of ``stat(first) - stat(second)`` where both were measured on the same
    prompts: each resample draws one set of prompt indices and applies it to both arms."""
    a, b = np.asarray(first, dtype=float), np.asarray(second, dtype=float)
    if a.shape != b.shape or a.ndim != 1:
        raise ValueError("paired values must be two flat sequences of the same length")
    if a.size == 0:
        return float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    index = rng.integers(0, a.size, size=(n_boot, a.size))
    return _percentile_interval(_apply(stat, a[index]) - _apply(stat, b[index]), alpha)


def ratio_ci(numerators: Sequence[float], denominators: Sequence[float], n_boot: int = 1000, seed: int = 0,
             alpha: float = 0.05) -> tuple[float, float]:
    """Bootstrap interval of ``sum(numerators) / sum(denominators)`` over the units (e.g. a loss per
    token over documents: each document's summed loss and its token count), units resampled whole."""
    num, den = np.asarray(numerators, dtype=float), np.asarray(denominators, dtype=float)
    if num.shape != den.shape or num.ndim != 1:
        raise ValueError("numerators and denominators must be two flat sequences of the same length")
    if num.size == 0:
        return float("nan"), float("nan")
    index = np.random.default_rng(seed).integers(0, num.size, size=(n_boot, num.size))
    return _percentile_interval(num[index].sum(axis=1) / den[index].sum(axis=1), alpha)


def paired_ratio_difference_ci(first: tuple[Sequence[float], Sequence[float]],
                               second: tuple[Sequence[float], Sequence[float]], n_boot: int = 1000, seed: int = 0,
                               alpha: float = 0.05) -> tuple[float, float]:
    """Bootstrap interval of ratio(first) - ratio(second) (each a ``(numerators, denominators)`` pair,
    as in ``ratio_ci``) measured on the same units: one draw of units serves both."""
    (num_a, den_a), (num_b, den_b) = (tuple(np.asarray(v, dtype=float) for v in arm) for arm in (first, second))
    if not num_a.shape == den_a.shape == num_b.shape == den_b.shape or num_a.ndim != 1:
        raise ValueError("both arms must hold flat sequences measured on the same units")
    if num_a.size == 0:
        return float("nan"), float("nan")
    index = np.random.default_rng(seed).integers(0, num_a.size, size=(n_boot, num_a.size))
    ratio_a = num_a[index].sum(axis=1) / den_a[index].sum(axis=1)
    return _percentile_interval(ratio_a - num_b[index].sum(axis=1) / den_b[index].sum(axis=1), alpha)


def _apply(stat: Callable[..., float], samples: np.ndarray) -> np.ndarray:
    try:
        result = np.asarray(stat(samples, axis=-1), dtype=float)
        if result.shape == samples.shape[:1]:
            return result
    except TypeError:  # a plain function of one 1-D array
        pass
    return np.array([stat(row) for row in samples], dtype=float)


def binomial_ci(successes: int, n: int, alpha: float = 0.05) -> tuple[float, float]:
    """Exact (Clopper-Pearson) interval for a proportion; NaNs when n = 0."""
    if n == 0:
        return float("nan"), float("nan")
    if not 0 <= successes <= n:
        raise ValueError(f"successes = {successes} must lie in [0, n = {n}]")
    from scipy.stats import binomtest

    interval = binomtest(successes, n).proportion_ci(confidence_level=1 - alpha, method="exact")
    return float(interval.low), float(interval.high)


def binomial_p_value(successes: int, n: int, p: float = 0.5) -> float:
    """Two-sided exact binomial test of ``successes`` out of ``n`` against rate ``p``."""
    if n == 0:
        return float("nan")
    from scipy.stats import binomtest

    return float(binomtest(successes, n, p).pvalue)


def sign_test_p_value(outcomes: Sequence[float]) -> float:
    """Two-sided sign test that wins and losses are equally likely (ties dropped)."""
    counts = tally(outcomes)
    return binomial_p_value(counts["wins"], counts["wins"] + counts["losses"])


def auc(positive_scores: Sequence[float], negative_scores: Sequence[float]) -> float:
    """Area under the ROC curve: the chance a random positive scores above a random negative,
    ties counting ½ (the Mann-Whitney U statistic divided by n_pos * n_neg)."""
    pos, neg = np.asarray(positive_scores, dtype=float), np.asarray(negative_scores, dtype=float)
    if pos.size == 0 or neg.size == 0:
        return float("nan")
    diff = pos[:, None] - neg[None, :]
    return float(((diff > 0).sum() + 0.5 * (diff == 0).sum()) / diff.size)


# ---- a rate measured by an imperfect judge ------------------------------------------------------


def corrected_rate(judged: float, sensitivity: float, specificity: float) -> float:
    """The true rate behind a rate ``judged`` by a classifier with the given sensitivity (true ones it
    calls true) and specificity (false ones it calls false), Rogan and Gladen (1978):
    (judged + specificity - 1) / (sensitivity + specificity - 1), clipped to [0, 1]. NaN when the
    judge is no better than a coin (sensitivity + specificity <= 1)."""
    informedness = sensitivity + specificity - 1
    if informedness <= 0:
        return float("nan")
    return float(min(1.0, max(0.0, (judged + specificity - 1) / informedness)))


def corrected_rate_ci(judged: Sequence[float], labels: Sequence[int], calls: Sequence[int], n_boot: int = 1000,
                      seed: int = 0, alpha: float = 0.05) -> dict[str, float]:
    """``corrected_rate`` of the judged verdicts (1 = judged true), with the sensitivity and specificity
    measured on a labelled validation set (``labels`` the truth, ``calls`` the judge's verdicts), and a
    percentile bootstrap interval that resamples both the judged answers and the validation set, so it
    includes the uncertainty of the judge's own error rates."""
    judged_a = np.asarray(judged, dtype=float)
    y, call = np.asarray(labels, dtype=int), np.asarray(calls, dtype=int)
    if judged_a.size == 0 or y.size == 0 or y.min() == y.max():
        return {"raw": float(judged_a.mean()) if judged_a.size else float("nan"), "corrected": float("nan"),
                "low": float("nan"), "high": float("nan"), "sensitivity": float("nan"), "specificity": float("nan")}

    def rates(y_s: np.ndarray, call_s: np.ndarray) -> tuple[float, float]:
        positives, negatives = y_s == 1, y_s == 0
        sens = call_s[positives].mean() if positives.any() else np.nan
        spec = 1 - call_s[negatives].mean() if negatives.any() else np.nan
        return float(sens), float(spec)

    sens, spec = rates(y, call)
    rng = np.random.default_rng(seed)
    samples = []
    for _ in range(n_boot):
        j = judged_a[rng.integers(0, judged_a.size, judged_a.size)].mean()
        v = rng.integers(0, y.size, y.size)
        samples.append(corrected_rate(j, *rates(y[v], call[v])))
    samples = np.asarray(samples)
    samples = samples[~np.isnan(samples)]
    low, high = _percentile_interval(samples, alpha) if samples.size else (float("nan"), float("nan"))
    return {"raw": float(judged_a.mean()), "corrected": corrected_rate(float(judged_a.mean()), sens, spec),
            "low": low, "high": high, "sensitivity": sens, "specificity": spec}


# ---- logistic regression and length control -----------------------------------------------------


def fit_logistic(x: np.ndarray, y: np.ndarray, l2: float = 1e-2, steps: int = 50,
                 sample_weight: np.ndarray | None = None) -> np.ndarray:
    """Weights (bias last) of an L2-regularised logistic regression by Newton's method; ``y`` may be
    soft labels in [0, 1] (a tie counts ½). ``sample_weight`` (one non-negative number per row,
    default 1) scales each row's share of the loss: weight 2 is the same fit as the row twice."""
    design = np.hstack([x, np.ones((len(x), 1))])
    weight = np.ones(len(design)) if sample_weight is None else np.asarray(sample_weight, dtype=float)
    if weight.shape != (len(design),) or (weight < 0).any():
        raise ValueError("sample_weight must hold one non-negative number per row")
    w = np.zeros(design.shape[1])
    penalty = np.full(design.shape[1], l2)
    penalty[-1] = 0.0  # the bias is not shrunk
    for _ in range(steps):
        p = 1.0 / (1.0 + np.exp(-np.clip(design @ w, -30, 30)))  # bounded when the classes separate
        grad = design.T @ (weight * (p - y)) + penalty * w
        hess = design.T @ (design * (weight * p * (1 - p))[:, None]) + np.diag(penalty + 1e-9)
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return w


def predict_logistic(w: np.ndarray, x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-(x @ w[:-1] + w[-1])))


def length_controlled_win_rate(outcomes: Sequence[float], model_lengths: Sequence[float],
                               baseline_lengths: Sequence[float], l2: float = 1.0) -> float:
    """AlpacaEval 2's length control for one model against one baseline: fit
    P(model preferred) = sigmoid(theta + phi * tanh(d / s)) to the outcomes (ties as 1/2), where d is
    the model's answer length minus the baseline's and s the spread (std) of d, and report
    sigmoid(theta): the win rate the fit predicts at equal lengths. A judge that only rewards length
    gives about 1/2; a model that wins by being longer loses that part of its win rate."""
    y = np.asarray(outcomes, dtype=float)
    delta = np.asarray(model_lengths, dtype=float) - np.asarray(baseline_lengths, dtype=float)
    if y.size == 0:
        return float("nan")
    scale = delta.std() or 1.0
    w = fit_logistic(np.tanh(delta / scale)[:, None], y, l2=l2)
    return float(1.0 / (1.0 + np.exp(-w[-1])))


def length_controlled_ci(outcomes: Sequence[float], model_lengths: Sequence[float],
                         baseline_lengths: Sequence[float], n_boot: int = 200, seed: int = 0,
                         alpha: float = 0.05) -> dict[str, Any]:
    """``length_controlled_win_rate`` with a percentile bootstrap interval over prompts."""
    y, m, b = (np.asarray(v, dtype=float) for v in (outcomes, model_lengths, baseline_lengths))
    estimate = length_controlled_win_rate(y, m, b)
    if y.size < 2:
        return {"win_rate": estimate, "ci": [float("nan"), float("nan")], "n": int(y.size)}
    rng = np.random.default_rng(seed)
    samples = [length_controlled_win_rate(y[i], m[i], b[i]) for i in rng.integers(0, y.size, (n_boot, y.size))]
    low, high = _percentile_interval(np.asarray(samples), alpha)
    return {"win_rate": estimate, "ci": [low, high], "n": int(y.size)}
