"""Bradley–Terry leaderboard maths, checked against values worked out by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from serve.leaderboard import ELO_SCALE, bradley_terry, leaderboard_from_battles


def test_two_players_three_wins_of_four_give_log_three():
    # MLE of σ(d) = 3/4  =>  d = ln(3/4 / 1/4) = ln 3; strengths are centred, so ±ln(3)/2
    theta = bradley_terry([("A", "B", 1.0)] * 3 + [("A", "B", 0.0)], l2=0.0)
    assert theta["A"] - theta["B"] == pytest.approx(math.log(3), abs=1e-6)
    assert theta["A"] + theta["B"] == pytest.approx(0.0, abs=1e-9)


def test_ties_count_half_to_each_side():
    # one win and two ties = 2 points of 3 for A: σ(d) = 2/3  =>  d = ln 2
    theta = bradley_terry([("A", "B", 1.0), ("A", "B", 0.5), ("B", "A", 0.5)], l2=0.0)
    assert theta["A"] - theta["B"] == pytest.approx(math.log(2), abs=1e-6)


def test_side_does_not_matter():
    # "B beats A" written from B's side is the same evidence as A losing
    left = bradley_terry([("A", "B", 1.0)] * 3 + [("B", "A", 1.0)], l2=0.0)
    right = bradley_terry([("A", "B", 1.0)] * 3 + [("A", "B", 0.0)], l2=0.0)
    assert left["A"] == pytest.approx(right["A"], abs=1e-6)


def test_prior_keeps_an_unbeaten_model_finite():
    # one game, A won. With the prior l2/2 (θ_A² + θ_B²) and θ_B = -θ_A, d = 2 θ_A, the optimum
    # satisfies 1 - σ(d) = l2 · θ_A (the first-order condition); without a prior d would run to +∞.
    l2 = 0.05
    theta = bradley_terry([("A", "B", 1.0)], l2=l2)
    d = theta["A"] - theta["B"]
    assert math.isfinite(d) and d > 0
    assert 1 - 1 / (1 + math.exp(-d)) == pytest.approx(l2 * theta["A"], abs=1e-7)
    # a stronger prior pulls the two closer together
    assert bradley_terry([("A", "B", 1.0)], l2=1.0)["A"] < theta["A"]


def test_self_play_is_ignored():
    assert bradley_terry([("A", "A", 1.0)]) == {}
    assert bradley_terry([("A", "B", 1.0), ("A", "A", 0.0)], l2=0.1) == bradley_terry([("A", "B", 1.0)], l2=0.1)


def test_score_out_of_range_is_rejected():
    with pytest.raises(ValueError, match="not in"):
        bradley_terry([("A", "B", 2.0)])


def _simulate(strengths: dict[str, float], games: int, seed: int) -> list[tuple[str, str, float]]:
    rng = np.random.default_rng(seed)
    names = list(strengths)
    battles = []
    for _ in range(games):
        i, j = rng.choice(len(names), size=2, replace=False)
        a, b = names[i], names[j]
        p = 1 / (1 + math.exp(-(strengths[a] - strengths[b])))
        battles.append((a, b, float(rng.random() < p)))
    return battles


def test_simulation_recovers_known_strengths():
    true = {"w": -1.0, "x": -0.2, "y": 0.3, "z": 0.9}  # mean 0, like the fit
    theta = bradley_terry(_simulate(true, 6000, seed=1), l2=0.0)
    for name, value in true.items():
        assert theta[name] == pytest.approx(value, abs=0.12)


def test_leaderboard_rows_counts_and_intervals():
    true = {"strong": 1.0, "middle": 0.0, "weak": -1.0}
    battles = _simulate(true, 1500, seed=2) + [("middle", "weak", 0.5)] * 10
    rows = leaderboard_from_battles(battles, bootstrap=100, seed=0)
    assert [r["model"] for r in rows] == ["strong", "middle", "weak"]
    for row in rows:
        assert row["ci_low"] <= row["rating"] <= row["ci_high"]
        expected_games = sum(row["model"] in (a, b) for a, b, _ in battles)
        assert row["games"] == expected_games
        wins = sum((a == row["model"] and s == 1.0) or (b == row["model"] and s == 0.0) for a, b, s in battles)
        assert row["wins"] == wins
    assert rows[1]["ties"] == 10 and rows[2]["ties"] == 10 and rows[0]["ties"] == 0
    # ratings are on the Elo scale: the gap between neighbours ~ 400/ln10 per unit of strength
    gap = rows[0]["rating"] - rows[2]["rating"]
    assert gap == pytest.approx(2.0 * ELO_SCALE, rel=0.15)
    # the mean rating is the base, because strengths are centred
    assert np.mean([r["rating"] for r in rows]) == pytest.approx(1000.0, abs=0.2)


def test_bootstrap_is_seeded():
    battles = _simulate({"a": 0.5, "b": 0.0, "c": -0.5}, 300, seed=3)
    assert leaderboard_from_battles(battles, bootstrap=30, seed=7) == leaderboard_from_battles(battles, bootstrap=30, seed=7)
    assert leaderboard_from_battles(battles, bootstrap=30, seed=7) != leaderboard_from_battles(battles, bootstrap=30, seed=8)


def test_empty_leaderboard():
    assert leaderboard_from_battles([]) == []
