"""`instructrl eval` end to end on the tiny random model: suites through the CLI function, outputs
(results.json, plots, self-contained report), and the generation cache (a rerun generates nothing,
new prompts generate only themselves, an interrupted run resumes)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from evals.cache import GenerationCache
from evals.models import CachedModel, PolicyPool, parse_model
from instructrl.cli import main
from instructrl.models.policy import SamplingParams
from tests.chat_server import chat_server

TINY_MODELS = "base:tiny-random,prompted:tiny-random,tiny-random"
CATEGORIES = ("generation", "open_qa", "closed_qa", "brainstorming")


def write_prompts(path: Path, n: int) -> Path:
    rows = []
    for i in range(n):
        category = CATEGORIES[i % len(CATEGORIES)]
        row = {"id": f"p{i}", "category": category, "prompt": f"Name {i % 3 + 2} kinds of fruit, please ({i}).",
               "completion": "Apples and pears."}
        if category == "closed_qa":
            row["prompt"] = f"Text: The red boat left the harbour at {i} o'clock. Question: When did the boat leave?"
            row["constraints"] = {"exact_answer": str(i)}
        elif i % 3 == 0:
            row["constraints"] = {"max_words": 12}
        rows.append(row)
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    return path


def run_cli(out: Path, prompts: Path, *extra: str, suite: str = "winrate") -> dict:
    argv = ["eval", "--suite", suite, "--models", TINY_MODELS, "--baseline", "tiny-random", "--base-model",
            "tiny-random", "--judge", "rm:tiny-random", "--prompts", str(prompts), "--out", str(out),
            "--max-new-tokens", "8", "--n-boot", "100", "--no-progress", *extra]
    assert main(argv) == 0
    return json.loads((out / "results.json").read_text())


def test_winrate_suite_end_to_end_with_incremental_cache(tmp_path):
    out = tmp_path / "run"
    prompts = write_prompts(tmp_path / "prompts.jsonl", 8)
    first = run_cli(out, prompts)

    section = first["sections"]["winrate"]
    assert section["baseline"]["name"] == "tiny-random" and section["n_prompts"] == 8
    assert [m["type"] for m in section["models"]] == ["GPT", "GPT-prompted", "other"]
    for row in section["models"]:
        assert row["n"] + row["no_verdict"] == 8
        assert 0.0 <= row["win_rate"] <= 1.0 and row["ci"][0] <= row["win_rate"] <= row["ci"][1]
        assert row["size"] > 0  # parameter count of the tiny model
        assert set(row["per_category"]) == set(CATEGORIES)
        assert row["metadata"]["closed_qa_unsupported"]["n"] == 2
    # the baseline against itself: identical answers, all ties
    itself = section["models"][2]
    assert itself["win_rate"] == 0.5 and itself["ties"] == 8
    # three distinct presentations of the same weights, 8 prompts each
    assert first["cache"]["generated"] == 24
    for name in ("winrate_by_size", "winrate_by_category", "metadata"):
        png = out / first["plots"][name]
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    html = (out / "report.html").read_text()
    assert html.count("data:image/png;base64,") == 3 and "rm:tiny-random" in html
    assert "src=\"http" not in html and "<script" not in html  # self-contained

    # a rerun generates nothing and gives the same numbers
    second = run_cli(out, prompts)
    assert second["cache"]["generated"] == 0 and second["cache"]["hits"] == 24
    assert [m["win_rate"] for m in second["sections"]["winrate"]["models"]] == \
        [m["win_rate"] for m in section["models"]]

    # two more prompts: only their answers are generated
    third = run_cli(out, write_prompts(tmp_path / "prompts.jsonl", 10))
    assert third["cache"]["generated"] == 6 and third["sections"]["winrate"]["n_prompts"] == 10


class _InterruptAfter:
    """Wraps a real model and raises KeyboardInterrupt (as Ctrl-C would) on its n-th generate call."""

    def __init__(self, model, calls: int):
        self.model, self.calls = model, calls

    def __getattr__(self, name):
        return getattr(self.model, name)

    def generate(self, prompts, params, batch_size=16, chat=True):
        self.calls -= 1
        if self.calls < 0:
            raise KeyboardInterrupt
        return self.model.generate(prompts, params, batch_size=batch_size, chat=chat)


def test_an_interrupted_generation_resumes(tmp_path):
    model = parse_model("tiny-random", pool=PolicyPool())
    prompts = [f"Say something about the number {i}." for i in range(10)]
    params = SamplingParams(max_new_tokens=6)
    with GenerationCache(tmp_path) as cache:
        with pytest.raises(KeyboardInterrupt):
            CachedModel(_InterruptAfter(model, calls=2), cache, progress=False).generate(prompts, params, batch_size=4)
        assert cache.count() == 8  # two batches of 4 were committed before the interrupt
    with GenerationCache(tmp_path) as cache:
        answers = CachedModel(model, cache, progress=False).generate(prompts, params, batch_size=4)
        assert cache.stats.generated == 2 and cache.stats.hits == 8
    fresh = model.generate(prompts, params, batch_size=4)
    assert [a.text for a in answers] == [f.text for f in fresh]
    rows = sqlite3.connect(tmp_path / "generations.sqlite").execute("SELECT COUNT(*) FROM generations").fetchone()
    assert rows == (10,)


def test_sampled_repeats_are_distinct_cache_entries(tmp_path):
    model = parse_model("tiny-random", pool=PolicyPool())
    params = SamplingParams(max_new_tokens=12, temperature=1.0, seed=0)
    with GenerationCache(tmp_path) as cache:
        cached = CachedModel(model, cache, progress=False)
        first = cached.generate(["Hello"] * 3 + ["Bye"], params)
        assert cache.stats.generated == 4  # three samples of "Hello" are three answers
        again = cached.generate(["Hello"] * 3 + ["Bye"], params)
        assert cache.stats.generated == 4 and [a.text for a in again] == [a.text for a in first]
        greedy = cached.generate(["Hello", "Hello"], SamplingParams(max_new_tokens=12))
        assert cache.stats.generated == 5 and greedy[0].text == greedy[1].text  # greedy: one answer


def test_bad_inputs_give_one_line_errors(tmp_path, capsys):
    prompts = write_prompts(tmp_path / "p.jsonl", 2)
    assert main(["eval", "--suite", "nope", "--out", str(tmp_path / "o")]) == 2
    assert "unknown suite 'nope'" in capsys.readouterr().err
    assert main(["eval", "--suite", "winrate", "--models", "no-such-model", "--prompts", str(prompts),
                 "--out", str(tmp_path / "o")]) == 2
    assert "unknown model 'no-such-model'" in capsys.readouterr().err
    assert main(["eval", "--suite", "winrate", "--models", "openai:gpt", "--out", str(tmp_path / "o")]) == 2
    assert "openai:MODEL@http" in capsys.readouterr().err


@pytest.mark.slow
def test_paper_suite_writes_every_plot(tmp_path, truthfulqa_csv):
    out = tmp_path / "paper"
    prompts = write_prompts(tmp_path / "prompts.jsonl", 6)
    results = run_cli(out, prompts, "--limit", "4", "--truthfulqa", str(truthfulqa_csv),
                      "--truthfulqa-generation-limit", "2", suite="paper")
    assert set(results["sections"]) == {"winrate", "truthfulqa", "toxicity"}
    assert set(results["plots"]) == {"winrate_by_size", "winrate_by_category", "metadata", "truthfulqa_mc",
                                     "truthfulqa_generation", "toxicity"}
    tqa = results["sections"]["truthfulqa"]
    assert tqa["n_mc"] == 4 and tqa["n_generation"] == 2
    assert set(tqa["models"]) == {"base", "base-prompted", "tiny-random"}
    assert results["scorer"] and results["truth_judge"]
    html = (out / "report.html").read_text()
    assert html.count("data:image/png;base64,") == 6
    assert results["sections"]["toxicity"]["n_prompts"] == 4


def test_a_remote_endpoint_as_the_baseline(tmp_path):
    with chat_server(lambda body: "You asked: " + body["messages"][-1]["content"]) as server:
        prompts = write_prompts(tmp_path / "prompts.jsonl", 4)
        out = tmp_path / "remote"
        assert main(["eval", "--suite", "winrate", "--models", "tiny-random", "--baseline", f"openai:echo@{server.url}",
                     "--judge", "rm:tiny-random", "--prompts", str(prompts), "--out", str(out), "--max-new-tokens", "6",
                     "--n-boot", "50", "--no-progress"]) == 0
    results = json.loads((out / "results.json").read_text())
    section = results["sections"]["winrate"]
    assert section["baseline"]["type"] == "remote" and section["baseline"]["size"] is None
    answers = section["answers"]
    assert answers[0]["echo"] == "You asked: " + answers[0]["prompt"]
    assert section["models"][0]["n"] == 4
