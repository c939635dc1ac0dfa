"""TruthfulQA and toxicity end to end on a tiny random model, one check on the real embedded model,
and the truth judge's validation on TruthfulQA's labelled answers (slow)."""

from __future__ import annotations

import json

import pytest

from evals.toxicity import load_toxicity_prompts, run_toxicity
from evals.truth_judge import SimilarityJudge, validate_judge
from evals.truthfulqa import (
    build_prompt,
    load_truthfulqa,
    mc1_score,
    mc2_score,
    run_truthfulqa,
    score_mc,
)


def _unshared_mc(policy, item, chat=False, prompt_type="qa"):
    """MC1/MC2 with every answer scored in its own call (no shared prompt computation)."""
    prompt = build_prompt(item.question, prompt_type)
    text, lead = (policy.format(prompt), "") if chat else (prompt, " ")

    mc1, mc2 = item.mc1_targets(), item.mc2_targets()
    score = {c: policy.logprobs([text], [lead + c])[0] for c in {*mc1.choices, *mc2.choices}}
    return (mc1_score([score[c] for c in mc1.choices], mc1.labels),
            mc2_score([score[c] for c in mc2.choices], mc2.labels))


def test_mc_scores_match_unshared_scoring(tiny_policy, truthfulqa_csv):
    items = load_truthfulqa(truthfulqa_csv, limit=1)
    for chat in (False, True):  # the short prompt type keeps the byte-level tiny model fast
        for item, got in zip(items, score_mc(tiny_policy, items, "instruction", chat=chat)):
            mc1, mc2 = _unshared_mc(tiny_policy, item, chat, "instruction")
            assert got["mc1"] == mc1
            assert got["mc2"] == pytest.approx(mc2, abs=1e-5)


def test_run_truthfulqa_end_to_end_on_tiny_model(tiny_policy, truthfulqa_csv):
    items = load_truthfulqa(truthfulqa_csv, limit=8)
    result = run_truthfulqa(tiny_policy, items, max_new_tokens=6, chat=True)
    json.dumps(result)  # JSON-able
    assert result["n_questions"] == 8 and result["mc"]["scorer"] == "log-likelihood"
    for key in ("mc1", "mc2"):
        entry = result["mc"][key]
        assert 0.0 <= entry["mean"] <= 1.0 and entry["n"] == 8
        assert entry["ci95"][0] <= entry["mean"] <= entry["ci95"][1]
        assert sum(c["n"] for c in entry["per_category"].values()) == 8
    generation = result["generation"]
    assert generation["judge"] == "minilm-l6-contrastive-logistic-cv5"
    validation = generation["judge_validation"]  # the judge on these questions' held-out references
    assert validation["n_questions"] == 8 and 0.0 <= validation["auc"] <= 1.0
    assert set(generation["prompt_types"]) == {"qa", "instruction", "qa+instruction"}
    for metrics in generation["prompt_types"].values():
        assert len(metrics["answers"]) == 8 and all("\n" not in a for a in metrics["answers"])
        for key in ("truthful", "informative", "truthful_informative"):
            assert 0.0 <= metrics[key]["mean"] <= 1.0 and metrics[key]["n"] == 8
        assert metrics["truthful_informative"]["mean"] <= min(metrics["truthful"]["mean"],
                                                              metrics["informative"]["mean"])


def test_run_toxicity_end_to_end_on_tiny_model(tiny_policy):
    prompts = load_toxicity_prompts("builtin", limit=4)
    result = run_toxicity(tiny_policy, prompts, "profanity-check", k=2, max_new_tokens=6)
    json.dumps(result)
    assert result["scorer"] == "profanity-check" and result["n_prompts"] == 4 and result["k"] == 2
    assert list(result["variants"]) == ["none", "respectful", "biased"]
    for entry in result["variants"].values():
        assert entry["scorer"] == "profanity-check"
        assert 0.0 <= entry["mean_toxicity"]["mean"] <= entry["expected_max_toxicity"]["mean"] + 1e-9 <= 1.0 + 1e-9
        assert entry["toxicity_probability"]["n"] == 4 and entry["k"] == 2
        assert len(entry["most_toxic_greedy"]) == 4


@pytest.mark.slow
@pytest.mark.real_model
def test_real_model_truthfulqa_on_ten_questions(real_policy, truthfulqa_csv):
    items = load_truthfulqa(truthfulqa_csv, limit=10)
    result = run_truthfulqa(real_policy, items, prompt_types=("qa",), chat=False, max_new_tokens=24,
                            judge=SimilarityJudge(features="max_diff"))
    mc = result["mc"]
    assert 0.1 < mc["mc2"]["mean"] < 0.9
    # scores recomputed answer by answer agree with the shared-prefix batch
    for item, got in zip(items[:2], score_mc(real_policy, items[:2])):
        mc1, mc2 = _unshared_mc(real_policy, item)
        assert got["mc1"] == mc1 and got["mc2"] == pytest.approx(mc2, abs=1e-5)
    answers = result["generation"]["prompt_types"]["qa"]["answers"]
    assert sum(bool(a) for a in answers) >= 8  # a real model answers the QA prompt
    assert result["generation"]["judge"] == "minilm-l6-maxsim-diff"


@pytest.mark.slow
def test_truth_judge_beats_plain_similarity_on_held_out_answers(truthfulqa_csv):
    report = validate_judge(load_truthfulqa(truthfulqa_csv, limit=300))
    assert report["n"] > 1500
    assert report["auc"] > report["baseline"]["auc"] + 0.05
    assert report["accuracy"] > report["baseline"]["accuracy"]


def test_the_eval_suites_cached_model_takes_the_shared_prefix_path(tiny_policy, truthfulqa_csv, tmp_path,
                                                                    monkeypatch):
    """``instructrl eval`` scores MC through ``CachedModel(LocalEvalModel)``: it must declare and use the same
    shared-prefix path as a raw Policy (it once fell back to per-question scoring, 1.8x slower), give
    the same scores, and answer a second run from its cache."""
    from evals.cache import GenerationCache
    from evals.models import CachedModel, LocalEvalModel, PolicyPool, RemoteModel

    pool = PolicyPool()
    pool._loaded["tiny-random"] = tiny_policy
    items = load_truthfulqa(truthfulqa_csv, limit=2)
    with GenerationCache(tmp_path) as cache:
        model = CachedModel(LocalEvalModel("tiny-random", "base", "GPT", "raw", pool), cache, progress=False)
        assert model.shares_prefix and not RemoteModel("m", "http://127.0.0.1:9/v1").shares_prefix
        with monkeypatch.context() as patch:  # per-question scoring is the slow path: it must not run
            patch.setattr(tiny_policy, "logprobs", lambda *a, **k: pytest.fail("took the per-question path"))
            got = score_mc(model, items, "instruction")
        computed = cache.stats.logprobs_computed
        assert computed > 0 and cache.stats.logprob_hits == 0
        assert score_mc(model, items, "instruction") == got  # the second run: all from the cache
        assert cache.stats.logprobs_computed == computed and cache.stats.logprob_hits == computed
    for want, have in zip(score_mc(tiny_policy, items, "instruction"), got):
        assert have["mc1"] == want["mc1"] and have["mc2"] == pytest.approx(want["mc2"], abs=1e-6)
