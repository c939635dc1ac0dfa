"""The rm stage end to end on the tiny random model: malformed rows dropped and counted, parameters
change, held-out accuracy logged, demonstrations' mean reward ≈ 0 after the bias, resume."""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
from pathlib import Path

import pytest
import torch

from instructrl.checkpoints import Registry
from instructrl.config import resolve
from instructrl.data.loaders import load_records
from instructrl.data.schemas import Demonstration
from instructrl.errors import ConfigError, DataError, ModelError
from instructrl.models.reward import RewardModel
from tests.launch import cpu_processes, fsdp_env
from train import reward as rm_stage
from train.loop import read_metrics

WORDS = ["apple", "river", "stone", "cloud", "tiger", "lemon", "piano", "maple", "ocean", "candle"]


def run_command(module, argv: list[str]) -> int:
    """Run one verb's subcommand as `instructrl` does (its parser only, so other verbs' modules stay out)."""
    import argparse

    parser = argparse.ArgumentParser()
    module.add_commands(parser.add_subparsers())
    args = parser.parse_args(argv)
    return args.func(args)


def write_comparisons(path: Path, n: int = 48) -> int:
    """K = 2..4 answers per prompt (mixed K pads within a batch); the best answer repeats the prompt's
    word. Appends four malformed rows; returns how many."""
    rng = random.Random(0)
    rows = []
    for i in range(n):
        word = WORDS[i % len(WORDS)]
        k = 2 + i % 3
        answers = [f"{word} {word} {word}."] + [f"something else {rng.randint(0, 999)} {j}" for j in range(k - 1)]
        ranking = list(range(k))
        rows.append({"prompt": f"Say the word {word}, request {i}.", "completions": answers, "ranking": ranking,
                     "source": "test", "labeler": "rule"})
    bad = [
        {"prompt": "One answer only", "completions": ["a"], "ranking": [0]},
        {"prompt": "Duplicates", "completions": ["same", "same"], "ranking": [0, 1]},
        {"prompt": "Ranking mismatch", "completions": ["a", "b", "c"], "ranking": [0, 1]},
        {"prompt": "  ", "completions": ["a", "b"], "ranking": [0, 1]},
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows + bad))
    return len(bad)


def write_demonstrations(path: Path) -> None:
    rows = [{"prompt": f"Say the word {w}, demo {i}.", "completion": f"{w} {w} {w}."}
            for i, w in enumerate(WORDS * 3)]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))


def config_for(tmp_path: Path, *extra: str):
    data, demos = tmp_path / "comparisons.jsonl", tmp_path / "demos.jsonl"
    if not data.exists():
        write_comparisons(data)
        write_demonstrations(demos)
    return resolve(rm_stage.CONFIG, "rm", "tiny", [
        f"data.train={data}", f"rm.demonstrations={demos}", f"run.run_dir={tmp_path / 'run'}", *extra])


def test_rm_stage_trains_logs_accuracy_and_normalises(tmp_path, capsys):
    registry = Registry()
    config = config_for(tmp_path, "run.output=rm-tiny")
    before = RewardModel.load("tiny-random")
    checkpoint = rm_stage.run(config, registry)
    out = capsys.readouterr().out
    assert "dropped 4 malformed rows" in out and "a comparison needs at least 2" in out

    card = checkpoint.card
    assert card.stage == "rm" and card.kind == "reward" and card.parent == "tiny-random"
    assert card.metrics["steps"] == 4
    assert 0.0 <= card.metrics["accuracy"] <= 1.0
    assert card.metrics["accuracy_ci_low"] <= card.metrics["accuracy"] <= card.metrics["accuracy_ci_high"]
    assert card.metrics["pairs"] > 0 and "demonstrations" in card.metrics["bias_source"]
    logged = read_metrics(tmp_path / "run")
    assert any("val/accuracy" in row for row in logged) and any("train/loss" in row for row in logged)

    after = RewardModel.load(str(checkpoint.path))
    assert json.loads((checkpoint.path / "reward.json").read_text())["bias"] == pytest.approx(card.metrics["bias"])
    assert after.bias == pytest.approx(card.metrics["bias"]) and after.bias != 0.0
    changed = [n for n, p in after.model.state_dict().items() if not torch.equal(p, before.model.state_dict()[n])]
    assert any(n.startswith("score") for n in changed) and any("layers" in n for n in changed)

    demos = load_records(tmp_path / "demos.jsonl", Demonstration, split="train").records
    scores = after.score([d.prompt for d in demos], [d.completion for d in demos])
    assert sum(scores) / len(scores) == pytest.approx(0.0, abs=1e-4)
    assert len(set(round(s, 4) for s in scores)) > 1  # a real model, not a constant

    assert rm_stage.run(config, registry).path == checkpoint.path  # same command: the finished checkpoint


def test_rm_stage_in_mixed_precision_computes_in_bf16_and_keeps_float32_weights(tmp_path, monkeypatch):
    """run.mixed_precision=bf16: the layers compute in bfloat16 under autocast while training, the
    weights, their gradients and the saved checkpoint stay float32."""
    seen = []
    real_loss_fn = rm_stage.loss_fn

    def watching(model, batch):
        inner = model.module if hasattr(model, "module") else model
        layer = inner.model.model.layers[0].mlp.down_proj
        handle = layer.register_forward_hook(lambda m, i, o: seen.append(o.dtype))
        try:
            return real_loss_fn(model, batch)
        finally:
            handle.remove()

    monkeypatch.setattr(rm_stage, "loss_fn", watching)
    config = config_for(tmp_path, "run.output=rm-bf16", "run.mixed_precision=bf16", "run.max_steps=2")
    checkpoint = rm_stage.run(config, Registry())
    assert seen and set(seen) == {torch.bfloat16}
    loaded = RewardModel.load(str(checkpoint.path))
    assert {p.dtype for p in loaded.model.parameters()} == {torch.float32}
    assert checkpoint.card.config["run"]["mixed_precision"] == "bf16" and checkpoint.card.metrics["steps"] == 2


def test_rm_stage_resume_gives_the_same_weights(tmp_path):
    registry = Registry()
    config = config_for(tmp_path, "run.output=rm-resume", "run.save_every=2")
    first = rm_stage.run(config, registry)
    weights = RewardModel.load(str(first.path)).model.state_dict()
    assert (tmp_path / "run" / "state" / "state.pt").exists()  # saved at step 2 of 4
    shutil.rmtree(first.path)  # as if the run had died after its step-2 save
    (tmp_path / "run" / "metrics.jsonl").unlink()
    state_file = tmp_path / "run" / "state" / "state.pt"
    state = torch.load(state_file, weights_only=False)
    assert 0 < state["elapsed_s"] < first.card.wall_time_s
    state["elapsed_s"] = 1000.0  # as if the killed process had trained for 1000 s
    torch.save(state, state_file)
    second = rm_stage.run(config, registry)
    assert second.card.wall_time_s >= 1000.0  # the card counts the killed process's time too
    assert min(row["step"] for row in read_metrics(tmp_path / "run")) == 3  # resumed, not restarted
    resumed = RewardModel.load(str(second.path)).model.state_dict()
    for name, value in weights.items():
        torch.testing.assert_close(resumed[name], value, msg=name)


def test_falls_back_to_best_answers_and_lora_trains_the_head(tmp_path, capsys):
    config = config_for(tmp_path, "run.output=rm-lora", "rm.demonstrations=missing-demos.jsonl",
                        "model.lora.r=4", "run.max_steps=2")
    checkpoint = rm_stage.run(config, Registry())
    assert "using the comparisons' best answers" in capsys.readouterr().out
    assert checkpoint.card.metrics["bias_source"].startswith("the best answers")
    loaded = RewardModel.load(str(checkpoint.path))
    assert not any("lora" in n for n in loaded.model.state_dict())  # adapters merged into plain weights
    fresh = RewardModel.load("tiny-random")
    assert not torch.equal(loaded.model.score.weight, fresh.model.score.weight)


def test_clear_errors_for_missing_sft_and_missing_default_data(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ModelError, match="no sft checkpoint"):
        rm_stage.run(resolve(rm_stage.CONFIG, "rm", None, ["data.train=x.jsonl"]), Registry())
    with pytest.raises(DataError, match="instructrl data compare"):
        rm_stage.run(resolve(rm_stage.CONFIG, "rm", "tiny", []), Registry())


def test_presets_load():
    for preset in ("tiny", "cpu", "gpu"):
        config = resolve(rm_stage.CONFIG, "rm", preset, [])
        assert config.run.epochs == 1 or config.run.max_steps
    assert resolve(rm_stage.CONFIG, "rm", "cpu", []).model.name == "sft"


def test_data_compare_then_train_rm(tmp_path, capsys):
    """`instructrl data compare` samples K answers from the tiny model, the gold labeler ranks them,
    and the file trains the reward model."""
    import train.compare

    demos = tmp_path / "demos.jsonl"
    write_demonstrations(demos)
    out = tmp_path / "sampled.jsonl"
    code = run_command(train.compare, ["compare", "--model", "tiny-random", "--prompts", str(demos), "--split", "all", "--k", "3",
                 "--labeler", "gold", "--noise", "0", "--max-new-tokens", "12", "--limit", "12", "--out", str(out)])
    assert code == 0
    printed = capsys.readouterr().out
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert rows and f"wrote {len(rows)} comparisons labelled by gold" in printed
    for row in rows:
        assert 2 <= len(row["completions"]) <= 3 and len(set(row["completions"])) == len(row["completions"])
        assert row["labeler"] == "gold" and row["source"] == "sampled:tiny-random"
    from instructrl.labelers import get_labeler

    gold = get_labeler("gold")
    demo_by_prompt = {d.prompt: d for d in load_records(demos, Demonstration).records}
    from instructrl.data.schemas import EvalItem

    first = rows[0]
    assert gold.rank(EvalItem.from_demonstration(demo_by_prompt[first["prompt"]]), first["completions"]) == first["ranking"]

    config = resolve(rm_stage.CONFIG, "rm", "tiny", [f"data.train={out}", f"data.validation={out}",
                                                    f"rm.demonstrations={demos}", "run.max_steps=2",
                                                    f"run.run_dir={tmp_path / 'run'}"])
    checkpoint = rm_stage.run(config, Registry())
    assert checkpoint.card.metrics["steps"] == 2


def test_a_killed_data_compare_resumes_to_the_same_file(tmp_path, monkeypatch, capsys):
    """Chunks are saved as they finish: a run killed in its second chunk, started again with the same
    flags, writes byte for byte the file of a run never interrupted; other flags are refused."""
    import train.compare

    demos = tmp_path / "demos.jsonl"
    write_demonstrations(demos)
    monkeypatch.setattr(train.compare, "CHUNK", 4)

    def argv(out, k="3"):
        return ["compare", "--model", "tiny-random", "--prompts", str(demos), "--split", "all", "--k", k,
                "--noise", "0.25", "--max-new-tokens", "8", "--limit", "10", "--out", str(out)]

    whole = tmp_path / "whole.jsonl"
    assert run_command(train.compare, argv(whole)) == 0
    resumed = tmp_path / "resumed.jsonl"
    real_label, calls = train.compare.label, []

    def dies_in_chunk_two(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real_label(*args, **kwargs)

    monkeypatch.setattr(train.compare, "label", dies_in_chunk_two)
    with pytest.raises(KeyboardInterrupt):
        run_command(train.compare, argv(resumed))
    assert not resumed.exists() and json.loads((tmp_path / "resumed.jsonl.progress.json").read_text())["done"] == 4
    with pytest.raises(ConfigError, match="k differ"):
        run_command(train.compare, argv(resumed, k="2"))
    monkeypatch.setattr(train.compare, "label", real_label)
    capsys.readouterr()
    assert run_command(train.compare, argv(resumed)) == 0
    assert "resuming: 4 done" in capsys.readouterr().out
    assert resumed.read_bytes() == whole.read_bytes() and whole.read_text().strip()
    assert not list(tmp_path.glob("resumed.jsonl.*"))


def test_noisy_compare_labels_differ_from_clean():
    from instructrl.data.schemas import EvalItem
    from instructrl.labelers import dense_ranks
    from instructrl.labelers.base import Labeler
    from instructrl.labelers.noise import NoisyLabeler
    from train.compare import distinct, label

    class Longest(Labeler):
        name = "longest"

        def rank(self, item, completions):
            return dense_ranks([len(c) for c in completions])

    assert distinct(["a", " a ", "b", "a"]) == ["a", "b"]
    items = [EvalItem(f"q{i}", id=f"q{i}") for i in range(200)]
    answers = [["x", "xx", "xx "] for _ in items] + [["same", "same "]]
    rows, counts = label(items + [EvalItem("dup", id="dup")], answers, NoisyLabeler(Longest(), 0.25, seed=1), "t")
    assert counts["kept"] == 200 and counts["skipped: fewer than 2 distinct answers"] == 1
    flipped = sum(r.ranking == (0, 1) for r in rows)  # clean: "xx" (index 1) is best
    assert 30 < flipped < 70  # about a quarter of 200


def test_hh_rlhf_file_loads_and_trains(hh_file, tmp_path, capsys):
    """The shared Anthropic HH file: chosen/rejected dialogues become a shared conversation + 2 ranked
    answers; the few malformed rows are rejected with their reasons and counted."""
    from instructrl.data.schemas import Comparison

    loaded = load_records(hh_file, Comparison, skip_bad_rows=True)
    assert len(loaded.records) > 1500 and 0 < len(loaded.rejected) < 10
    assert all("Human turn" in str(err) for err in loaded.rejected)
    first = loaded.records[0]
    assert len(first.completions) == 2 and first.ranking == (0, 1) and first.source == "hh-rlhf"
    assert isinstance(first.prompt, list) and first.prompt[-1]["role"] == "user"
    config = resolve(rm_stage.CONFIG, "rm", "tiny", [f"data.train={hh_file}", "rm.val_limit=8",
                                                    "rm.demonstrations=null", "run.max_steps=2",
                                                    f"run.run_dir={tmp_path / 'run'}"])
    checkpoint = rm_stage.run(config, Registry())
    assert "dropped" in capsys.readouterr().out  # the rejected rows are reported, not silently skipped
    assert checkpoint.card.metrics["pairs"] == 8


def test_votes_export_trains_through_the_cli(tmp_path, capsys):
    """Rows as `instructrl votes export` writes them (labeler "human", source "arena") train the RM:
    `instructrl train rm --data votes.jsonl`."""
    import train.cli

    votes = tmp_path / "votes.jsonl"
    rows = [{"id": f"v{i}", "prompt": f"Tell me about {w}.", "completions": [f"{w} is great.", f"no {i}"],
             "ranking": [i % 2, 1 - i % 2], "source": "arena", "labeler": "human"} for i, w in enumerate(WORDS * 4)]
    votes.write_text("".join(json.dumps(r) + "\n" for r in rows))
    code = run_command(train.cli, ["rm", "--preset", "tiny", "--data", str(votes), "--demonstrations", "null",
                 "--set", f"run.run_dir={tmp_path / 'run'}", "--set", "run.max_steps=2", "--output", "rm-votes"])
    assert code == 0
    checkpoint = Registry().get("rm-votes")
    assert checkpoint.card.kind == "reward" and checkpoint.card.metrics["steps"] == 2
    assert "wrote" in capsys.readouterr().out


@pytest.mark.slow
@pytest.mark.parametrize("parallel", ["ddp", "fsdp"])
def test_two_cpu_processes_match_one_process(tmp_path, parallel):
    """DDP, and FSDP 2 (gloo) with the shipped config's settings, over two real processes: the K-wise
    loss is normalised over the global batch, so the losses equal one process's, and one process logs
    and writes the checkpoint."""
    config_for(tmp_path)  # writes the comparison and demonstration files

    def launch(processes: int, out: str) -> list[dict]:
        env = {**os.environ, "INSTRUCTRL_CHECKPOINTS": str(tmp_path / out / "ckpt"), "OMP_NUM_THREADS": "1",
               **(fsdp_env() if parallel == "fsdp" and processes > 1 else {})}
        args = ["train", "rm", "--preset", "tiny", "--data", str(tmp_path / "comparisons.jsonl"),
                "--set", f"rm.demonstrations={tmp_path / 'demos.jsonl'}", "--set", f"run.run_dir={tmp_path / out}",
                "--set", "run.max_steps=3", "--set", "run.eval_every=100"]
        done = subprocess.run([*cpu_processes(processes), "-m", "instructrl.cli", *args], env=env,
                              capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr[-3000:]
        assert (f"{processes} processes" in done.stdout) == (processes > 1)
        assert ("FSDP 2 over 2 CPU processes" in done.stdout) == (parallel == "fsdp" and processes > 1)
        return [m for m in read_metrics(tmp_path / out) if "train/loss" in m]

    two, one = launch(2, "two"), launch(1, "one")
    bias = [Registry(tmp_path / out / "ckpt").get("rm").card.metrics["bias"] for out in ("two", "one")]
    assert bias[0] == pytest.approx(bias[1], abs=1e-4)  # scored by the trained weights, copied back
    assert [m["step"] for m in two] == [1, 2, 3]
    assert [m["train/loss"] for m in two] == pytest.approx([m["train/loss"] for m in one], abs=1e-4)


def test_data_compare_samples_from_a_model_behind_a_url(tmp_path, capsys):
    """`--generation-url`: the K answers come from the model served by a live `instructrl serve`, one
    chat request per answer with its own seed (so the K answers to a prompt differ)."""
    import httpx

    import train.compare
    from serve.app import create_app
    from serve.settings import Settings
    from serve.votes import VoteStore
    from tests.live_server import LiveServer

    demos, out = tmp_path / "demos.jsonl", tmp_path / "sampled.jsonl"
    write_demonstrations(demos)
    store = VoteStore(tmp_path / "votes.sqlite")
    with LiveServer(create_app(Settings(models=("tiny-random",), serve_registry=False), vote_store=store)) as live:
        code = run_command(train.compare, ["compare", "--model", "tiny-random", "--prompts", str(demos), "--split",
                                           "all", "--k", "3", "--labeler", "gold", "--noise", "0", "--max-new-tokens",
                                           "12", "--limit", "6", "--out", str(out), "--generation-url", f"{live.url}/v1"])
        metrics = httpx.get(f"{live.url}/metrics").text
    store.close()
    assert code == 0
    assert 'instructrl_requests_total{route="/v1/chat/completions",status="200"} 18.0' in metrics
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    # one seed for all K would give K identical answers, and compare would skip every prompt
    assert rows and all(len(set(row["completions"])) == 3 for row in rows)
    assert f"wrote {len(rows)} comparisons" in capsys.readouterr().out
