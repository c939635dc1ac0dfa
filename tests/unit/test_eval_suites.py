"""Suite plumbing: prompt sampling, settings and the suite registry."""

from __future__ import annotations

import pytest

from evals.suites import SUITE_DEFAULTS, Settings, get_suite, spread_sample
from instructrl.data.schemas import EvalItem
from instructrl.errors import ConfigError


def test_spread_sample_is_stable_and_grows_by_adding():
    # a file sorted by category: the first 10 rows would all be "a"
    items = [EvalItem(f"q{i}", category="a" if i < 50 else "b", id=f"id{i}") for i in range(100)]
    ten, twenty = spread_sample(items, 10), spread_sample(items, 20)
    assert ten == spread_sample(items, 10)
    assert twenty[:10] == ten  # a larger limit only adds prompts (the cached answers stay useful)
    assert {i.category for i in twenty} == {"a", "b"}
    assert spread_sample(items, None) == items and spread_sample(items, 500) == items


def test_settings_and_registry():
    assert Settings().merged({"limit": 5, "seed": None}).limit == 5
    assert Settings().merged({"seed": None}).seed == 0  # None keeps the default
    with pytest.raises(ConfigError, match="unknown eval setting"):
        Settings().merged({"colour": "red"})
    assert get_suite("paper") == ["winrate", "truthfulqa", "toxicity"]
    with pytest.raises(ConfigError, match="winrate, truthfulqa, toxicity, paper"):
        get_suite("everything")
    paper = SUITE_DEFAULTS["paper"]
    assert paper.sampling().temperature == 0.0  # greedy, as in the paper
    assert paper.limit and paper.truthfulqa_limit and paper.toxicity_limit  # sized for a CPU run
