"""The PPO / PPO-ptx stage end to end on the tiny random policy and a tiny reward model."""

from __future__ import annotations

import json
import os
import subprocess

import pytest
import torch

from instructrl.checkpoints import Card, Registry
from instructrl.config import preset_names, resolve
from instructrl.errors import ConfigError
from instructrl.models.loading import load_causal_lm, load_tokenizer
from instructrl.models.reward import RewardModel
from tests.launch import cpu_processes, fsdp_env
from train import ppo
from train.actor_critic import build_models
from train.loop import pad_right, read_metrics
from train.ptx import ptx_sequences, ptx_shares


def _write_data(folder):
    demos, pretrain = folder / "demos.jsonl", folder / "pretrain.jsonl"
    demos.write_text("".join(json.dumps({"id": f"d{i}", "prompt": f"Say the number {i % 9} twice.",
                                         "completion": f"{i % 9} {i % 9}"}) + "\n" for i in range(80)))
    pretrain.write_text("".join(json.dumps({"id": f"p{i}", "text": f"Document {i}. " + "The river runs to the sea. " * 4})
                                + "\n" for i in range(40)))
    return demos, pretrain


@pytest.fixture
def data(tmp_path):
    return _write_data(tmp_path)


@pytest.fixture
def reward_model(tmp_path):
    """A tiny reward model (fresh random head) saved as an rm checkpoint in the test's registry."""
    torch.manual_seed(0)
    model = RewardModel.load("tiny-random")
    Registry().write(Card(name="rm-tiny", stage="rm", kind="reward", parent="tiny-random"), model.save)
    return "rm"


def _config(data, tmp_path, reward_model, *overrides, run_dir="run"):
    demos, pretrain = data
    return resolve(ppo.PPOConfig, "ppo", "tiny", [
        f"data.train={demos}", f"ppo.ptx_data={pretrain}", f"ppo.reward_model={reward_model}",
        f"run.run_dir={tmp_path / run_dir}", "ppo.gold_labeler=null", "run.max_steps=2", *overrides])


def _weights(path) -> dict[str, torch.Tensor]:
    return load_causal_lm(str(path)).state_dict()


def test_ppo_trains_writes_ema_checkpoint_and_overoptimisation_curve(data, tmp_path, reward_model):
    config = _config(data, tmp_path, reward_model, "ppo.gold_labeler=gold", "ppo.gold_every=1", "optim.lr=1e-2")
    checkpoint = ppo.run(config)
    card = checkpoint.card
    assert card.stage == "ppo" and card.parent == "tiny-random" and card.metrics["steps"] == 2
    start, end = _weights("tiny-random"), _weights(checkpoint.path)
    assert any(not torch.equal(start[k], end[k]) for k in start)  # parameters changed
    curve = json.loads((checkpoint.path / "overoptimisation.json").read_text())
    assert [p["step"] for p in curve] == [0, 1, 2]
    assert all({"proxy", "gold", "kl", "sqrt_kl"} <= set(p) for p in curve)
    assert (checkpoint.path / "overoptimisation.png").stat().st_size > 1000
    logged = [m for m in read_metrics(tmp_path / "run") if "reward/rm" in m]
    assert len(logged) == 2
    for key in ("kl/mean", "ppo/entropy", "ppo/clip_fraction", "ppo/approx_kl", "ppo/value_loss",
                "ppo/explained_variance", "response/length", "time/generate", "time/score", "time/optimise"):
        assert all(key in m for m in logged), key
    assert card.metrics["pretrain_loss_sft"] > 0 and card.metrics["peak_memory_mb"] > 0
    assert ppo.run(config).path == checkpoint.path  # the same command returns the finished run


def test_a_new_reward_model_behind_the_same_spec_gives_a_new_run(data, tmp_path, reward_model):
    """`--reward-model rm` names the newest reward checkpoint: once a newer one exists, the same
    command trains again rather than returning the run made against the old one."""
    first = ppo.run(_config(data, tmp_path, reward_model, "run.max_steps=1"))
    torch.manual_seed(5)
    Registry().write(Card(name="rm-tiny-newer", stage="rm", kind="reward", parent="tiny-random"),
                     RewardModel.load("tiny-random").save)
    second = ppo.run(_config(data, tmp_path, reward_model, "run.max_steps=1", run_dir="run2"))
    assert second.name != first.name and second.path.exists() and first.path.exists()


def test_ptx_stage_name_and_loss_logged(data, tmp_path, reward_model):
    checkpoint = ppo.run(_config(data, tmp_path, reward_model, "ppo.ptx_coef=27.8", "run.max_steps=1"))
    assert checkpoint.card.stage == "ppo-ptx" and checkpoint.name.startswith("ppo-ptx-")
    assert all("ppo/ptx_loss" in m for m in read_metrics(tmp_path / "run") if "reward/rm" in m)


def _one_step(config, ptx, ptx_coef: float) -> dict[str, torch.Tensor]:
    """Build the models from a fixed seed, take one rollout and one optimise step; return the weights."""
    from accelerate import Accelerator

    from train.loop import make_optimizer, make_scheduler

    torch.manual_seed(0)
    models = build_models(config)
    module = models.actor_critic
    optimizer = make_optimizer(list(module.parameters()), config.optim)
    scheduler = make_scheduler(optimizer, config.optim, 4)
    config.ppo.ptx_coef = ptx_coef
    prompts = ["Say one.", "Say two twice.", "Count to three.", "Name a colour."]
    torch.manual_seed(1)
    ppo.train_step(0, prompts, models, module, optimizer, scheduler, Accelerator(cpu=True), config, 0.02, ptx, None)
    return {k: v.clone() for k, v in module.state_dict().items()}


def test_ptx_coef_zero_is_exactly_plain_ppo(data, tmp_path, reward_model):
    config = _config(data, tmp_path, reward_model, "run.batch_size=4", "run.micro_batch_size=4", "ppo.minibatches=2")
    tokenizer = load_tokenizer("tiny-random")
    ptx = pad_right([tokenizer("Some pretraining text to model.")["input_ids"],
                     tokenizer("More text.")["input_ids"]], tokenizer.pad_token_id, "cpu")
    plain = _one_step(config, None, 0.0)
    zero = _one_step(config, ptx, 0.0)
    tax = _one_step(config, ptx, 27.8)
    assert all(torch.equal(plain[k], zero[k]) for k in plain)
    assert any(not torch.equal(plain[k], tax[k]) for k in plain)  # the term does act when γ > 0


def test_reusing_the_first_forward_is_the_same_step(data, tmp_path, reward_model):
    config = _config(data, tmp_path, reward_model, "run.batch_size=4", "run.micro_batch_size=4", "ppo.minibatches=1")
    tokenizer = load_tokenizer("tiny-random")
    ptx = pad_right([tokenizer("Some pretraining text.")["input_ids"]], tokenizer.pad_token_id, "cpu")
    reused = _one_step(config, ptx, 27.8)
    config.ppo.reuse_forward = False
    recomputed = _one_step(config, ptx, 27.8)
    assert all(torch.allclose(reused[k], recomputed[k], atol=1e-6) for k in reused)


def test_resume_after_a_kill_gives_the_same_next_step(data, tmp_path, reward_model, monkeypatch):
    reward_model = str(Registry().get("rm-tiny").path)  # the runs write to registries of their own
    overrides = ("run.max_steps=2", "run.save_every=1", "ppo.gold_every=0")
    reference = ppo.run(_config(data, tmp_path, reward_model, *overrides, run_dir="whole"), Registry(tmp_path / "r1"))

    real_save = ppo.save_state

    def save_then_die(run_dir, model, extra, step):
        real_save(run_dir, model, extra, step)
        if step == 1:
            raise KeyboardInterrupt  # killed right after the state of step 1 was written

    monkeypatch.setattr(ppo, "save_state", save_then_die)
    config = _config(data, tmp_path, reward_model, *overrides, run_dir="killed")
    with pytest.raises(KeyboardInterrupt):
        ppo.run(config, Registry(tmp_path / "r2"))
    monkeypatch.setattr(ppo, "save_state", real_save)
    resumed = ppo.run(config, Registry(tmp_path / "r2"))

    whole, killed = read_metrics(tmp_path / "whole"), read_metrics(tmp_path / "killed")
    step2 = [m for m in whole if m["step"] == 2 and "reward/rm" in m]
    again = [m for m in killed if m["step"] == 2 and "reward/rm" in m]
    for key in ("reward/rm", "kl/mean", "ppo/policy_loss", "ppo/value_loss"):
        assert again[-1][key] == pytest.approx(step2[-1][key], abs=1e-6), key
    a, b = _weights(reference.path), _weights(resumed.path)
    assert all(torch.allclose(a[k], b[k], atol=1e-6) for k in a)


def test_a_run_killed_after_its_last_step_still_reports_that_step(data, tmp_path, reward_model, monkeypatch):
    reward_model = str(Registry().get("rm-tiny").path)  # the runs write to registries of their own
    overrides = ("run.max_steps=2", "run.save_every=2", "ppo.gold_every=0")  # step 1's KL is 0: policy = SFT
    reference = ppo.run(_config(data, tmp_path, reward_model, *overrides, run_dir="whole"), Registry(tmp_path / "r1"))
    real_save = ppo.save_state

    def save_then_die(run_dir, model, extra, step):
        real_save(run_dir, model, extra, step)
        raise KeyboardInterrupt  # killed between the last state (step 2) and the checkpoint

    monkeypatch.setattr(ppo, "save_state", save_then_die)
    config = _config(data, tmp_path, reward_model, *overrides, run_dir="killed")
    with pytest.raises(KeyboardInterrupt):
        ppo.run(config, Registry(tmp_path / "r2"))
    monkeypatch.setattr(ppo, "save_state", real_save)
    resumed = ppo.run(config, Registry(tmp_path / "r2")).card
    for key in ("kl", "reward_rm", "pretrain_loss"):
        assert resumed.metrics[key] == pytest.approx(reference.card.metrics[key], abs=1e-6), key
    assert resumed.metrics["kl"] != 0.0 and resumed.metrics["peak_memory_mb"] > 0


def test_lora_and_shared_value_head(data, tmp_path, reward_model):
    checkpoint = ppo.run(_config(data, tmp_path, reward_model, "model.lora.r=4", "ppo.value_init=shared",
                                 "run.max_steps=1", "optim.lr=1e-2"))
    start, end = _weights("tiny-random"), _weights(checkpoint.path)
    assert set(start) == set(end)  # adapters merged: a plain transformers model
    assert any(not torch.equal(start[k], end[k]) for k in start)


def test_bfloat16_base_trains_float32_adapters_and_releases_full_precision_weights(data, tmp_path, reward_model):
    config = _config(data, tmp_path, reward_model, "model.lora.r=4", "model.dtype=bfloat16", "run.max_steps=1",
                     "optim.lr=1e-2")
    models = build_models(config)
    params = dict(models.actor_critic.named_parameters())
    assert all(p.dtype == torch.float32 for p in params.values() if p.requires_grad)  # adapters and value head
    assert any(p.dtype == torch.bfloat16 for p in params.values() if not p.requires_grad)  # the frozen base
    # before any update the policy is the reference: their log-probs agree exactly (same weights, same kernels)
    prompts = ["Say the number 3 twice.", "Say the number 5 twice."]
    samples = ppo.generate(models, prompts, config.ppo, models.actor_critic.policy)
    rollout, _ = ppo.score(models, prompts, samples, config.ppo, models.actor_critic)
    assert torch.equal(rollout.logprobs, rollout.ref_logprobs)
    checkpoint = ppo.run(config)
    start, end = _weights("tiny-random"), _weights(checkpoint.path)
    assert set(start) == set(end) and all(v.dtype == torch.float32 for v in end.values())
    # untouched weights come back exactly (from the float32 base, not its bfloat16 copy) ...
    untouched = [k for k in start if "embed" in k or "norm" in k]
    assert untouched and all(torch.equal(start[k], end[k]) for k in untouched)
    # ... and tuned ones differ from the original by the learned change, not by bfloat16 rounding alone
    tuned = [k for k in start if "q_proj" in k]
    assert any(not torch.equal(start[k], end[k]) for k in tuned)
    rounded = {k: start[k].to(torch.bfloat16).float() for k in tuned}
    assert all(not torch.equal(rounded[k], end[k]) for k in tuned)


def test_sampling_copy_follows_the_lora_policy(data, tmp_path, reward_model):
    from train.actor_critic import SamplingCopy

    models = build_models(_config(data, tmp_path, reward_model, "model.lora.r=4"))
    policy = models.actor_critic.policy
    with torch.no_grad():  # move the adapters away from their zero start, as training does
        for name, param in policy.named_parameters():
            if "lora_B" in name:
                param.normal_(0, 0.05)
    ids = torch.tensor([[5, 9, 2, 7, 3]])
    copy32 = SamplingCopy(policy, torch.float32)
    expected = policy(input_ids=ids).logits
    assert torch.allclose(copy32.model(input_ids=ids).logits, expected, atol=1e-4)
    assert not any(hasattr(m, "lora_A") for m in copy32.model.modules())  # a plain model
    with torch.no_grad():
        next(p for n, p in policy.named_parameters() if "lora_B" in n).add_(0.5)
    assert not torch.allclose(copy32.model(input_ids=ids).logits, policy(input_ids=ids).logits, atol=1e-4)
    assert torch.allclose(copy32.refresh()(input_ids=ids).logits, policy(input_ids=ids).logits, atol=1e-4)
    copy16 = SamplingCopy(policy, torch.bfloat16)
    assert copy16.model.dtype == torch.bfloat16
    assert torch.allclose(copy16.model(input_ids=ids).logits.float(), policy(input_ids=ids).logits, atol=0.1)


def test_float32_head_of_a_bfloat16_model_follows_its_weight():
    from train.actor_critic import head_logits

    lm = load_causal_lm("tiny-random", "bfloat16").requires_grad_(False)  # frozen, as under LoRA
    states = torch.randn(2, 3, lm.config.hidden_size, dtype=torch.bfloat16)
    weight = lm.get_output_embeddings().weight

    def expected():
        return torch.nn.functional.linear(states.float(), weight.float())

    with torch.autocast("cpu", dtype=torch.bfloat16):  # the head stays float32 inside training autocast
        logits = head_logits(lm, states)
    assert logits.dtype == torch.float32 and torch.equal(logits, expected())
    with torch.no_grad():
        weight.mul_(2)  # the kept float32 copy must notice
    assert torch.equal(head_logits(lm, states), expected())


def test_every_preset_loads_and_bad_values_fail_clearly():
    assert {"tiny", "cpu", "gpu"} <= set(preset_names("ppo"))
    for name in preset_names("ppo"):
        config = resolve(ppo.PPOConfig, "ppo", name)
        assert config.ppo.ptx_coef == 0.0 and config.ppo.kl_coef > 0
    with pytest.raises(ConfigError, match="ppo.value_init"):
        resolve(ppo.PPOConfig, "ppo", "tiny", ["ppo.value_init=policy"])
    with pytest.raises(ConfigError, match="minibatches"):
        resolve(ppo.PPOConfig, "ppo", "tiny", ["run.batch_size=6", "run.micro_batch_size=2", "ppo.minibatches=4"])
    with pytest.raises(ConfigError, match="sft and rm stages only"):
        resolve(ppo.PPOConfig, "ppo", "tiny", ["run.mixed_precision=bf16"])
    assert ppo.stage_of(resolve(ppo.PPOConfig, "ppo", "tiny", ["ppo.ptx_coef=27.8"])) == "ppo-ptx"


def _ending_policy(folder) -> str:
    """tiny-random with its end token's output row turned toward the mean final hidden state of the
    test's prompts: its answers end after 1 to 12 tokens, a different length in each row (the random
    model alone never ends one), so the processes' token counts differ and one may finish first."""
    from instructrl.chat import format_prompt

    lm, tokenizer = load_causal_lm("tiny-random"), load_tokenizer("tiny-random")
    enc = tokenizer([format_prompt(tokenizer, f"Say the number {i % 9} twice.") for i in range(16)],
                    return_tensors="pt", padding=True, add_special_tokens=False)
    with torch.no_grad():
        mean = lm.model(**enc).last_hidden_state[enc["attention_mask"].bool()].mean(dim=0)
        lm.get_output_embeddings().weight[tokenizer.eos_token_id] = 5 * mean / mean.norm() ** 2  # logit ≈ 5
    lm.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return str(folder)


@pytest.fixture(scope="module")
def parallel_runs(tmp_path_factory):
    """``launch(processes, out, parallel)``: PPO-ptx, 3 steps of the tiny preset (at a learning rate
    that keeps the policy ending its answers early) in that many CPU processes (torch's launcher, ``tests/launch.py``); the run's
    logged steps, card, checkpoint weights and output. The one-process run is shared by both tests."""
    from safetensors.torch import load_file

    root = tmp_path_factory.mktemp("ppo-parallel")
    demos, pretrain = _write_data(root)
    policy = _ending_policy(root / "policy")
    torch.manual_seed(0)
    RewardModel.load("tiny-random").save(root / "rm")  # a random head: a plain folder, no registry needed

    def launch(processes: int, out: str, parallel: str = "ddp", checkpoints: str = "ckpt") -> dict:
        env = {**os.environ, "INSTRUCTRL_CHECKPOINTS": str(root / out / checkpoints), "OMP_NUM_THREADS": "1",
               **(fsdp_env() if parallel == "fsdp" and processes > 1 else {})}
        args = ["train", "ppo", "--preset", "tiny", "--model", policy, "--data", str(demos), "--reward-model",
                str(root / "rm"), "--ptx-coef", "27.8", "--set", f"ppo.ptx_data={pretrain}",
                "--set", f"run.run_dir={root / out}", "--set", "run.max_steps=3", "--set", "optim.lr=1e-4",
                "--set", "ppo.gold_labeler=null"]
        done = subprocess.run([*cpu_processes(processes), "-m", "instructrl.cli", *args], env=env, capture_output=True,
                              text=True, timeout=600)
        assert done.returncode == 0, done.stderr[-3000:]
        checkpoint = Registry(root / out / checkpoints).get("ppo-ptx")
        return {"steps": [m for m in read_metrics(root / out) if "reward/rm" in m], "card": checkpoint.card,
                "weights": load_file(checkpoint.path / "model.safetensors"), "stdout": done.stdout,
                "curve": [m for m in read_metrics(root / out) if "gold_curve/proxy" in m]}

    return launch, launch(1, "one")


@pytest.mark.slow
@pytest.mark.parametrize("parallel", ["ddp", "fsdp"])
def test_two_cpu_processes_match_one_process(parallel_runs, parallel):
    """DDP, and FSDP 2 (gloo) with the shipped config's settings: PPO-ptx in two processes logs one
    process's losses and statistics at every step and releases its weights. They differ by float
    rounding only (the processes pad their smaller batches to other widths): abs 1e-4 as for SFT and the
    reward model, and relative 1e-5 for the one large number, the gradient norm before clipping (in the
    hundreds at the first step: the ptx term, γ = 27.8, on a random model).

    What makes that hold: each process takes every second row of the step's batch, and each answer is
    drawn with its own seed (its row of the global batch), so the two runs sample the same answers;
    the policy, value and ptx losses divide each process's sums by the global minibatch's token count
    (the answers end at different lengths, so the processes' counts differ); the advantages are whitened
    with the global batch's mean and variance; the step's pretraining sequences are dealt out over the
    processes. Under FSDP the policy samples through the sharded root's forward and a process whose
    answers have all ended keeps stepping until the other's have (see ``test_sharded_sampling_...``);
    the reference and the reward model are whole copies in each process. Under FSDP a rerun also
    resumes from the state gathered from the shards and releases the same weights."""
    launch, one = parallel_runs
    two = launch(2, f"two-{parallel}", parallel)
    assert "2 processes" in two["stdout"] and "1 processes" not in one["stdout"]
    assert ("FSDP 2 over 2 CPU processes" in two["stdout"]) == (parallel == "fsdp")
    assert [m["step"] for m in two["steps"]] == [1, 2, 3]  # one logger: each step once
    assert all("ppo/ptx_loss" in m for m in two["steps"])
    assert 0 < sum(m["response/ended"] for m in one["steps"]) / 3 < 1  # answers of differing lengths
    for alone, together in zip(one["steps"], two["steps"]):
        assert set(alone) == set(together)
        for key in alone:
            if not key.startswith("time"):
                assert together[key] == pytest.approx(alone[key], abs=1e-4, rel=1e-5), (alone["step"], key)
    for alone, together in zip(one["curve"], two["curve"]):  # the gold curve reads the gathered weights
        assert together["gold_curve/proxy"] == pytest.approx(alone["gold_curve/proxy"], abs=1e-4)
    for key in ("reward_rm", "kl", "pretrain_loss"):
        assert two["card"].metrics[key] == pytest.approx(one["card"].metrics[key], abs=1e-4), key
    assert two["card"].stage == "ppo-ptx" and two["weights"].keys() == one["weights"].keys()
    assert all(torch.allclose(two["weights"][k], one["weights"][k], atol=1e-5) for k in one["weights"])
    if parallel == "fsdp":  # the state saved after the last step was gathered from the shards: resume it
        again = launch(2, "two-fsdp", parallel, checkpoints="again")
        assert "resumed at step 3" in again["stdout"]  # the EMA and optimiser state put back into shards ...
        assert all(torch.equal(again["weights"][k], two["weights"][k]) for k in two["weights"])  # ... exactly


@pytest.mark.slow
def test_sharded_sampling_steps_until_every_process_is_done(tmp_path):
    """Under FSDP each forward pass gathers the weights from every process: a process whose answers have
    all ended keeps stepping (on padding) until the other's have, or the other would wait forever for
    it. Process 0's answers end at their first token, process 1's run the whole budget of 6; both run 6
    forward passes and get the answers of an unsharded copy (``tests/fsdp_sampling.py``)."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", **fsdp_env()}
    done = subprocess.run([*cpu_processes(2), "-m", "tests.fsdp_sampling", str(tmp_path)], env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    ranks = [json.loads((tmp_path / f"rank{rank}.json").read_text()) for rank in (0, 1)]
    assert [r["alone_tokens"] for r in ranks] == [1, 6]  # alone, process 0 would stop after one forward
    assert [r["forwards"] for r in ranks] == [6, 6] and [r["tokens"] for r in ranks] == [6, 6]
    assert all(r["same"] for r in ranks)


def test_answer_masks_end_at_the_first_end_token():
    from train.rollout import finish_samples

    tok = load_tokenizer("tiny-random")
    a, b, eos, pad = tok.convert_tokens_to_ids("a"), tok.convert_tokens_to_ids("b"), tok.eos_token_id, tok.pad_token_id
    sequences = torch.tensor([[pad, a, b, eos, a, a], [a, a, b, b, b, b]])
    samples = finish_samples(tok, sequences, torch.tensor([[0, 1], [1, 1]]), prompt_length=2)
    assert samples.response_mask.tolist() == [[1, 1, 0, 0], [1, 1, 1, 1]]  # the end token is an action too
    assert samples.ended.tolist() == [True, False] and samples.texts == ("b", "bbbb")
    assert samples.sequences[0, 4:].tolist() == [pad, pad]  # whatever followed the end is padding
    assert samples.position_ids.tolist() == [[0, 0, 1, 2, 2, 2], [0, 1, 2, 3, 4, 5]]


def test_data_position_is_the_step():
    prompts = list(range(20))
    first = [ppo.step_prompts(prompts, s, 8, seed=3) for s in range(4)]
    assert first == [ppo.step_prompts(prompts, s, 8, seed=3) for s in range(4)]  # a pure function of the step
    assert sorted(first[0] + first[1]) == sorted(set(first[0] + first[1]))  # no repeats within a pass
    assert first[2] != first[0]  # a new pass reshuffles


def test_pretraining_sequences_per_step_follow_ptx_per_episode():
    def params(**kw):
        return ppo.PPOParams(**kw)

    assert ptx_sequences(params(ptx_coef=27.8, ptx_per_episode=8), 8) == 64  # the paper's 8x
    assert ptx_sequences(params(ptx_coef=2.0, ptx_per_episode=0.5), 8) == 4
    assert ptx_sequences(params(ptx_coef=2.0, ptx_per_episode=0.5), 1) == 1  # never none for PPO-ptx
    assert ptx_sequences(params(ptx_coef=0.0, ptx_per_episode=8), 8) == 0  # plain PPO takes none
    with pytest.raises(ConfigError, match="ppo.ptx_per_episode"):
        params(ptx_coef=2.0, ptx_per_episode=0)


def test_pretraining_sequences_are_dealt_out_as_one_process_takes_them():
    ids = torch.arange(10, 15)[:, None].repeat(1, 3)  # sequence g holds token 10 + g
    mask = torch.ones(5, 3, dtype=torch.long)
    one = ptx_shares((ids, mask), 2)  # g mod 2: minibatch 0 takes sequences 0, 2, 4, minibatch 1 takes 1, 3
    assert [share[0][:, 0].tolist() for share in one] == [[10, 12, 14], [11, 13]]
    two = [ptx_shares((ids, mask), 2, rank, 2) for rank in (0, 1)]
    # minibatch 0 dealt out: process 0 takes 0 and 4, process 1 takes 2 and a filler row (nothing to predict)
    assert two[0][0][0][:, 0].tolist() == [10, 14] and two[1][0][0][:, 0].tolist() == [12, 0]
    assert two[1][0][1].tolist() == [[1, 1, 1], [1, 0, 0]]
    assert [two[rank][1][0][:, 0].tolist() for rank in (0, 1)] == [[11], [13]]
    assert ptx_shares((ids[:1], mask[:1]), 2)[1] is None and ptx_shares(None, 2) is None


def test_an_answer_depends_on_its_seed_not_on_the_rows_beside_it():
    """What lets processes that split a batch sample one process's answers: a row's draws come from its
    own seed (its row of the global batch), not from a generator the batch shares."""
    from train.rollout import sample

    lm, tokenizer = load_causal_lm("tiny-random"), load_tokenizer("tiny-random")
    texts, seeds = ["Say one.", "A much longer prompt about rivers and the sea.", "x"], [5, 6, 7]
    together = sample(lm, tokenizer, texts, 64, 8, 1.0, seeds=seeds)
    alone = [sample(lm, tokenizer, [text], 64, 8, 1.0, seeds=[seed]).texts[0] for text, seed in zip(texts, seeds)]
    assert together.texts == tuple(alone)
    assert sample(lm, tokenizer, texts[:1], 64, 8, 1.0, seeds=[8]).texts[0] != alone[0]


def test_policy_ema_tracks_trainable_weights_and_is_what_gets_released():
    layer = torch.nn.Linear(2, 1, bias=False)
    layer.weight.data.zero_()
    frozen = torch.nn.Linear(2, 1).requires_grad_(False)
    ema = ppo.PolicyEMA(torch.nn.Sequential(layer, frozen), decay=0.992)
    assert set(ema.average) == {"0.weight"}  # frozen weights are their own average
    layer.weight.data.fill_(1.0)
    ema.update()  # decay at update 0 is (1 + 0) / (10 + 0) = 0.1: 0.1 * 0 + 0.9 * 1
    layer.weight.data.fill_(2.0)
    ema.update()  # decay (1 + 1) / (10 + 1) = 2/11: 2/11 * 0.9 + 9/11 * 2
    expected = 2 / 11 * 0.9 + 9 / 11 * 2
    assert torch.allclose(ema.average["0.weight"], torch.full((1, 2), expected))
    ema.copy_to(torch.nn.Sequential(layer, frozen))
    assert torch.allclose(layer.weight, torch.full((1, 2), expected))
