"""The arena leaderboard: a Bradley–Terry fit of the votes, with bootstrap confidence intervals.

Bradley–Terry models the chance that model i's answer beats model j's as
P(i beats j) = σ(θ_i − θ_j). We fit θ by maximum likelihood over all battles (a tie counts ½ a win
to each side), plus a small Gaussian (L2) prior on θ so that a model that has never lost still gets
a finite strength. Ratings are shown on an Elo-like scale, 1000 + 400/ln 10 · θ, so 400 points
apart means 10:1 odds. The confidence interval is the 2.5–97.5 % range of ratings refitted on
battles resampled with replacement (a seeded bootstrap). Everything is computed live from the
votes database; there is no stored rating to go stale.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy.optimize import minimize

Battle = tuple[str, str, float]  # (model A, model B, score of A: 1 win, 0.5 tie, 0 loss)

ELO_SCALE = 400 / math.log(10)
ELO_BASE = 1000.0
DEFAULT_L2 = 0.05  # prior precision on θ: a N(0, 1/0.05) prior, weak next to a few dozen games


def win_matrix(battles_a: np.ndarray, battles_b: np.ndarray, score: np.ndarray, weight: np.ndarray,
               n: int) -> np.ndarray:
    """W[i, j] = total score model i earned against model j (ties give ½ to each side)."""
    wins = np.zeros((n, n))
    np.add.at(wins, (battles_a, battles_b), score * weight)
    np.add.at(wins, (battles_b, battles_a), (1.0 - score) * weight)
    return wins


def fit_strengths(wins: np.ndarray, l2: float = DEFAULT_L2) -> np.ndarray:
    """θ maximising Σ_ij W_ij log σ(θ_i − θ_j) − l2/2 ‖θ‖², centred to mean 0.

    The likelihood alone only fixes differences of θ; a (Σθ)² term pins the mean without moving the
    optimum (with l2 > 0 the optimum already has Σθ = 0, since the likelihood's gradient sums to 0)."""
    n = wins.shape[0]
    games = wins + wins.T

    def objective(theta: np.ndarray) -> tuple[float, np.ndarray]:
        diff = theta[:, None] - theta[None, :]
        # -log σ(d) = log(1 + e^{-d}), computed stably
        nll = float(np.sum(wins * np.logaddexp(0.0, -diff)))
        lose = wins * (1.0 - _sigmoid(diff))  # ∂/∂d of -W log σ(d) is -W (1 - σ(d))
        total = theta.sum()
        value = nll + 0.5 * l2 * float(theta @ theta) + 0.5 * total**2
        grad = -lose.sum(axis=1) + lose.sum(axis=0) + l2 * theta + total
        return value, grad

    def hessian(theta: np.ndarray) -> np.ndarray:
        p = _sigmoid(theta[:, None] - theta[None, :])
        curvature = games * p * (1.0 - p)  # σ'(d) = σ(d)(1 - σ(d)), the same for d and -d
        return np.diag(curvature.sum(axis=1)) - curvature + l2 * np.eye(n) + np.ones((n, n))

    # Newton steps in a trust region: a handful of iterations for the few models an arena has
    result = minimize(objective, np.zeros(n), jac=True, hess=hessian, method="trust-exact",
                      options={"gtol": 1e-9, "maxiter": 1_000})
    theta = result.x
    return theta - theta.mean()


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * x))  # no overflow for large |x|


def _encode(battles: Sequence[Battle]) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Models (sorted) and the distinct battle outcomes as arrays (A index, B index, score, count);
    grouping identical outcomes keeps the bootstrap cost independent of the number of votes."""
    models = sorted({m for a, b, _ in battles for m in (a, b)})
    index = {m: i for i, m in enumerate(models)}
    outcomes: dict[tuple[int, int, float], int] = {}
    for x, y, score in battles:
        score = float(score)
        if not 0.0 <= score <= 1.0:
            raise ValueError(f"battle score {score} is not in [0, 1] (1 = A won, 0.5 = tie, 0 = B won)")
        key = (index[x], index[y], score)
        outcomes[key] = outcomes.get(key, 0) + 1
    keys = list(outcomes)
    a = np.array([k[0] for k in keys], dtype=np.int64)
    b = np.array([k[1] for k in keys], dtype=np.int64)
    s = np.array([k[2] for k in keys])
    return models, a, b, s, np.array([outcomes[k] for k in keys], dtype=float)


def _self_play_removed(battles: Sequence[Battle]) -> list[Battle]:
    return [(a, b, s) for a, b, s in battles if a != b]  # a model against itself says nothing


def bradley_terry(battles: Sequence[Battle], l2: float = DEFAULT_L2) -> dict[str, float]:
    """Each model's strength θ (mean 0) fitted to ``battles``; l2=0 is the plain maximum likelihood."""
    battles = _self_play_removed(battles)
    if not battles:
        return {}
    models, a, b, s, count = _encode(battles)
    theta = fit_strengths(win_matrix(a, b, s, count, len(models)), l2)
    return {m: float(t) for m, t in zip(models, theta)}


def to_rating(theta: float | np.ndarray) -> float | np.ndarray:
    return ELO_BASE + ELO_SCALE * theta


def leaderboard_from_battles(battles: Sequence[Battle], bootstrap: int = 200, seed: int = 0,
                             l2: float = DEFAULT_L2) -> list[dict[str, Any]]:
    """Rows {model, rating, ci_low, ci_high, games, wins, ties}, best first."""
    battles = _self_play_removed(battles)
    if not battles:
        return []
    models, a, b, s, count = _encode(battles)
    n, total = len(models), int(count.sum())
    theta = fit_strengths(win_matrix(a, b, s, count, n), l2)
    low, high = np.full(n, np.nan), np.full(n, np.nan)
    if bootstrap > 0:
        rng = np.random.default_rng(seed)
        samples = np.empty((bootstrap, n))
        for k in range(bootstrap):
            # resampling the battles with replacement = multinomial counts over the distinct outcomes
            weight = rng.multinomial(total, count / total).astype(float)
            samples[k] = fit_strengths(win_matrix(a, b, s, weight, n), l2)
        low, high = np.percentile(samples, [2.5, 97.5], axis=0)
    games = np.bincount(a, count, n) + np.bincount(b, count, n)
    wins = np.bincount(a, count * (s == 1.0), n) + np.bincount(b, count * (s == 0.0), n)
    ties = np.bincount(a, count * (s == 0.5), n) + np.bincount(b, count * (s == 0.5), n)
    rows = [{"model": m, "rating": round(float(to_rating(theta[i])), 1),
             "ci_low": round(float(to_rating(low[i])), 1) if bootstrap > 0 else None,
             "ci_high": round(float(to_rating(high[i])), 1) if bootstrap > 0 else None,
             "games": int(games[i]), "wins": int(wins[i]), "ties": int(ties[i])}
            for i, m in enumerate(models)]
    return sorted(rows, key=lambda r: (-r["rating"], r["model"]))


def leaderboard(store, bootstrap: int = 200, seed: int = 0, l2: float = DEFAULT_L2) -> list[dict[str, Any]]:
    """The leaderboard of a ``VoteStore``'s battles, computed now."""
    return leaderboard_from_battles(store.battles(), bootstrap=bootstrap, seed=seed, l2=l2)
