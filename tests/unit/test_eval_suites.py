"""Suite plumbing: prompt sampling, settings and the suite registry."""

from __future__ import annotations

import pytest

from evals.suites import SUITE_DEFAULTS, SuiteSettings, get_suite, spread_sample
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
    assert SuiteSettings().merged({"limit": 5, "seed": None}).limit == 5
    assert SuiteSettings().merged({"seed": None}).seed == 0  # None keeps the default
    with pytest.raises(ConfigError, match="unknown eval setting"):
        SuiteSettings().merged({"colour": "red"})
    assert get_suite("paper") == ["winrate", "truthfulqa", "toxicity"]
    with pytest.raises(ConfigError, match="winrate, truthfulqa, toxicity, paper"):
        get_suite("everything")
    paper = SUITE_DEFAULTS["paper"]
    assert paper.sampling().temperature == 0.0  # greedy, as in the paper
    assert paper.limit and paper.truthfulqa_limit and paper.toxicity_limit  # sized for a CPU run


def test_truthfulqa_table_shows_the_judges_validity_and_the_corrected_rate():
    from evals.report import _truthfulqa_html

    validation = {"n": 120, "n_questions": 30, "auc": 0.81, "accuracy": 0.77, "accuracy_non_refusal": 0.74,
                  "n_non_refusal": 110, "sensitivity": 0.7, "specificity": 0.8}
    qa = {"truthful": {"mean": 0.5}, "truthful_informative": {"mean": 0.4},
          "truthful_corrected": {"raw": 0.5, "corrected": 0.6, "low": 0.45, "high": 0.75}}
    section = {"n_mc": 30, "n_generation": 20, "judge": "minilm",
               "models": {"sft": {"type": "checkpoint", "mc": {"mc1": {"mean": 0.25}},
                                  "generation": {"prompt_types": {"qa": qa}, "judge_validation": validation}}}}
    page = _truthfulqa_html(section)
    assert "AUC 0.810, accuracy 0.770 (0.740 on the 110 that are not refusals)" in page
    assert "sensitivity 0.700, specificity 0.800" in page
    assert "<td class=\"num\">0.600</td><td class=\"num\">[0.450, 0.750]</td>" in page


def test_toxicity_defaults_to_minilm_head_and_reports_its_validation():
    from evals.report import _toxicity_html
    from evals.suites import scorer_validation

    assert SuiteSettings().toxicity_scorer == "minilm-head"
    assert all(s.toxicity_scorer == "minilm-head" for s in SUITE_DEFAULTS.values())

    class Validated:
        name = "minilm-head"
        validation = {"auc": 0.9412, "spearman": 0.8437, "n": 951, "encoder": "all-MiniLM-L6-v2", "sources": {}}

    class Plain:
        name = "profanity-check"

    assert scorer_validation(Validated()) == {"auc": 0.9412, "spearman": 0.8437, "n": 951,
                                              "encoder": "all-MiniLM-L6-v2"}
    assert scorer_validation(Plain()) is None
    variants = {"none": {"mean_toxicity": {"mean": 0.1, "ci95": [0.0, 0.2]}}}
    section = {"n_prompts": 4, "scorer": "minilm-head", "scorer_validation": scorer_validation(Validated()),
               "models": {"sft": {"type": "SFT", "variants": variants}}}
    html = _toxicity_html(section)
    assert ("scorer minilm-head: AUC 0.94, Spearman 0.84 against Perspective API on n=951 held-out "
            "RealToxicityPrompts texts.") in html.replace("Scorer", "scorer")
    plain = _toxicity_html({**section, "scorer": "profanity-check", "scorer_validation": None})
    assert "Spearman" not in plain and "profanity-check" in plain


def test_part_limits_default_to_the_suite_and_are_capped_by_limit():
    import argparse

    from evals.cli import add_verb, settings_from_args

    parser = argparse.ArgumentParser()
    add_verb(parser)
    given = settings_from_args(parser.parse_args(["--limit", "75", "--truthfulqa-limit", "24", "--toxicity-limit", "12"]))
    assert (given.limit, given.truthfulqa_limit, given.toxicity_limit) == (75, 24, 12)
    suite = settings_from_args(parser.parse_args(["--limit", "30"]))
    assert (suite.truthfulqa_limit, suite.toxicity_limit) == (30, 20)  # the paper suite's 40 and 20, capped at 30
    capped = settings_from_args(parser.parse_args(["--limit", "10", "--truthfulqa-limit", "24"]))
    assert capped.truthfulqa_limit == 10
    with pytest.raises(ConfigError, match="--toxicity-limit"):
        settings_from_args(parser.parse_args(["--toxicity-limit", "0"]))
