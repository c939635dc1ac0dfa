"""evals.plots draws valid PNGs for one or several model sizes, and labels sizes readably."""

from __future__ import annotations

import math

from evals.plots import grouped_bars, human_size, winrate_by_size

PNG = b"\x89PNG\r\n\x1a\n"


def _row(name, kind, size, rate):
    return {"name": name, "type": kind, "size": size, "win_rate": rate, "ci": [rate - 0.1, rate + 0.1], "n": 40}


def test_human_size():
    assert human_size(134_515_008) == "135M"
    assert human_size(1.3e9) == "1.3B"
    assert human_size(175e9) == "175B"
    assert human_size(90_624) == "91K"


def test_winrate_by_size_one_and_many_sizes(tmp_path):
    one = [_row("base", "GPT", 135e6, 0.2), _row("sft", "SFT", 135e6, 0.5), _row("ppo", "PPO", 135e6, 0.7),
           _row("remote", "remote", None, 0.9)]
    path = winrate_by_size(one, "sft", tmp_path / "one.png", judge="gold")
    assert path.read_bytes()[:8] == PNG
    many = [_row(f"{k}-{s}", k, s, r) for k in ("GPT", "SFT", "PPO") for s, r in ((1.3e9, 0.3), (6e9, 0.5), (175e9, 0.7))]
    assert winrate_by_size(many, "sft-175B", tmp_path / "many.png").read_bytes()[:8] == PNG


def test_grouped_bars_handles_missing_values(tmp_path):
    series = {"a": [(0.5, 0.4, 0.6), (math.nan, math.nan, math.nan)], "b": [(0.2, math.nan, math.nan), (0.9, 0.8, 1.0)]}
    path = grouped_bars(tmp_path / "bars.png", ["x", "y"], series, "title", "share")
    assert path.read_bytes()[:8] == PNG
