"""The SFT stage end to end on the tiny random model."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import torch

from instructrl.checkpoints import Registry
from instructrl.config import resolve
from instructrl.models.loading import load_causal_lm, load_tokenizer
from tests.launch import cpu_processes, fsdp_env
from train import sft
from train.loop import fit, read_metrics


@pytest.fixture
def demos(tmp_path):
    path = tmp_path / "demos.jsonl"
    rows = [{"id": f"d{i}", "prompt": f"Repeat the word number {i % 7}.", "completion": f"word {i % 7} word {i % 7}",
             "category": "rewrite"} for i in range(120)]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def _config(demos, tmp_path, *overrides):
    return resolve(sft.SFTConfig, "sft", "tiny", [f"data.train={demos}", f"run.run_dir={tmp_path / 'run'}", *overrides])


def test_sft_writes_a_plain_hf_checkpoint_with_a_card_and_lowers_validation_loss(demos, tmp_path):
    from transformers import AutoModelForCausalLM

    config = _config(demos, tmp_path, "run.max_steps=12", "data.limit=null", "optim.lr=3e-3", "run.eval_every=12")
    checkpoint = sft.run(config)
    card = checkpoint.card
    assert card.stage == "sft" and card.parent == "tiny-random" and card.data_fingerprint
    assert card.config["optim"]["lr"] == 3e-3 and card.wall_time_s > 0 and len(card.content_hash) == 64
    AutoModelForCausalLM.from_pretrained(checkpoint.path)  # loads with plain transformers
    vals = [m["val/loss"] for m in read_metrics(tmp_path / "run") if "val/loss" in m]
    assert vals[-1] < vals[0] - 0.3
    assert (tmp_path / "run" / "tensorboard").is_dir()
    # the same command again returns the finished checkpoint instead of training twice
    assert sft.run(config).path == checkpoint.path and len(Registry().list()) == 1
    # ... unless its weights no longer match the card: refused, naming the checkpoint and the fix
    weights = next(checkpoint.path.glob("*.safetensors"))
    weights.write_bytes(weights.read_bytes()[:-16])  # cut short, as a full disk or a killed copy leaves it
    from instructrl.errors import ModelError

    with pytest.raises(ModelError, match=f"checkpoint {checkpoint.name} is corrupt") as refused:
        sft.run(config)
    assert f"delete {checkpoint.path}" in refused.value.fix


def test_loss_counts_answer_tokens_only():
    tok = load_tokenizer("tiny-random")
    from instructrl.data.schemas import Demonstration, Where

    demo = Demonstration.from_row({"prompt": "abc", "completion": "xy"}, Where("t"))
    example = sft.encode(tok, demo, 256)
    batch = sft.collate([example], tok.pad_token_id)
    answer = tok.decode(batch["labels"][0][batch["labels"][0] != sft.IGNORE])
    assert answer == "xy<|im_end|>" and batch["weight"] == 3


def test_overfits_one_batch_and_changes_parameters(demos, tmp_path):
    config = _config(demos, tmp_path, "run.max_steps=40", "data.limit=8", "optim.lr=1e-2", "run.eval_every=100",
                     "run.save_every=100", "optim.min_lr_ratio=1.0")
    tok = load_tokenizer("tiny-random")
    from instructrl.data.loaders import load_records
    from instructrl.data.schemas import Demonstration

    examples = [sft.encode(tok, d, 256) for d in load_records(demos, Demonstration, limit=8).records]
    module = sft.CompletionLoss(load_causal_lm("tiny-random"))
    before = {k: v.clone() for k, v in module.state_dict().items()}
    result = fit(module, examples, [len(e.input_ids) for e in examples], lambda c: sft.collate(c, tok.pad_token_id),
                 sft.loss_fn, config.run, config.optim, tmp_path / "run")
    first = read_metrics(tmp_path / "run")[0]["train/loss"]
    assert result.train_loss < 0.25 * first
    assert all(not torch.equal(before[k], v) for k, v in module.state_dict().items())


def test_resumed_run_continues_exactly_like_the_uninterrupted_one(demos, tmp_path):
    tok = load_tokenizer("tiny-random")
    from instructrl.data.loaders import load_records
    from instructrl.data.schemas import Demonstration

    config = _config(demos, tmp_path, "run.max_steps=4", "run.save_every=2", "model.dropout=0.1")
    examples = [sft.encode(tok, d, 256) for d in load_records(demos, Demonstration, limit=64).records]
    lengths = [len(e.input_ids) for e in examples]

    def train(run_dir, collate):
        torch.manual_seed(0)
        module = sft.CompletionLoss(load_causal_lm("tiny-random", dropout=0.1))
        return fit(module, examples, lengths, collate, sft.loss_fn, config.run, config.optim, run_dir)

    plain = lambda chunk: sft.collate(chunk, tok.pad_token_id)  # noqa: E731
    train(tmp_path / "whole", plain)
    calls = {"n": 0}

    def dies_in_step_three(chunk):
        calls["n"] += 1
        if calls["n"] > 4:  # 2 micro-batches per step
            raise KeyboardInterrupt
        return plain(chunk)

    with pytest.raises(KeyboardInterrupt):
        train(tmp_path / "cut", dies_in_step_three)
    torch.manual_seed(123)  # the resumed run must restore its own RNG state
    train(tmp_path / "cut", plain)
    whole = {m["step"]: m["train/loss"] for m in read_metrics(tmp_path / "whole") if "train/loss" in m}
    resumed = {m["step"]: m["train/loss"] for m in read_metrics(tmp_path / "cut") if "train/loss" in m}
    assert resumed[3] == pytest.approx(whole[3], abs=1e-6) and resumed[4] == pytest.approx(whole[4], abs=1e-6)


@pytest.mark.parametrize("parallel", ["ddp", "fsdp"])
def test_two_cpu_processes_under_accelerate_match_one_process(demos, tmp_path, parallel):
    """DDP, and FSDP 2 (gloo) with the shipped config's settings: the same losses and the same final
    checkpoint as one process; under FSDP a rerun resumes from the gathered state."""
    from safetensors.torch import load_file

    def launch(processes: int, out: str, checkpoints: str = "ckpt") -> subprocess.CompletedProcess:
        env = {**os.environ, "INSTRUCTRL_CHECKPOINTS": str(tmp_path / out / checkpoints), "OMP_NUM_THREADS": "1",
               **(fsdp_env() if parallel == "fsdp" and processes > 1 else {})}
        args = ["train", "sft", "--preset", "tiny", "--data", str(demos), "--set", f"run.run_dir={tmp_path / out}",
                "--set", "run.max_steps=3", "--set", "run.eval_every=100"]
        done = subprocess.run([*cpu_processes(processes), "-m", "instructrl.cli", *args], env=env,
                              capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr[-3000:]
        assert (f"{processes} processes" in done.stdout) == (processes > 1)  # really distributed
        assert ("FSDP 2 over 2 CPU processes" in done.stdout) == (parallel == "fsdp" and processes > 1)
        return done

    def losses(out: str) -> list[dict]:
        return [m for m in read_metrics(tmp_path / out) if "train/loss" in m]

    launch(2, "two")
    launch(1, "one")
    two, one = losses("two"), losses("one")
    assert [m["step"] for m in two] == [1, 2, 3]  # one logger: each step once, not once per process
    assert [m["train/loss"] for m in two] == pytest.approx([m["train/loss"] for m in one], abs=1e-4)
    weights = [Registry(tmp_path / out / "ckpt").get("sft").path / "model.safetensors" for out in ("two", "one")]
    trained, alone = (load_file(path) for path in weights)
    assert trained.keys() == alone.keys()
    assert all(torch.allclose(trained[k], alone[k], atol=1e-5) for k in trained)  # the trained weights came back
    if parallel == "fsdp":  # the state saved at step 2 (save_every 2) was gathered from the shards: resume it
        resumed = launch(2, "two", checkpoints="again")
        assert "resumed at step 2" in resumed.stdout
        assert losses("two")[-1]["train/loss"] == pytest.approx(two[-1]["train/loss"], abs=1e-4)


def test_cli_bad_input_exits_non_zero_with_one_line(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"prompt": "q"}\n')
    done = subprocess.run([sys.executable, "-m", "instructrl.cli", "train", "sft", "--preset", "tiny", "--data", str(bad)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1] == (
        f"error: {bad}:1: has columns ['prompt']; expected prompt + completion (or instruction + output, or messages)")
    assert not (tmp_path / "checkpoints").exists()
