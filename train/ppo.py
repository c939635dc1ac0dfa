"""Stage 3 of the recipe: PPO against the reward model, and PPO-ptx (Ouyang et al. 2022, sec. 3.5 "RL").

Each step is five numbered parts (see ``train_step``):

  1. generate  sample answers to a batch of prompts from the policy (batched KV-cache ``decode``)
  2. score     reward-model score of each answer; log-probs of the policy and of the frozen SFT
               model, and the critic's values, all for the sampled tokens -> a frozen ``Rollout``
  3. rewards   RM score at the final token minus β · KL(π_RL ‖ π_SFT) per token (eq. 2)
  4. advantages GAE (γ = 1, λ) and whitening
  5. optimise  clipped policy loss + clipped value loss (+ γ_ptx · LM loss on pretraining text for
               PPO-ptx, in the same optimiser step), one pass over minibatches; policy EMA update

The released checkpoint is the policy's exponential moving average (decay 0.992, as in the paper).
Every ``gold_every`` steps the policy answers a fixed set of held-out prompts greedily and both the
reward model (proxy) and the gold labeler score them: the reward over-optimisation curve, saved as
``overoptimisation.json`` and ``.png`` in the run folder and the checkpoint.

Here: the configuration, the five steps, the optimisation and the stage's loop (``run``). The models
are in ``train.actor_critic``, the rollout data and sampling in ``train.rollout``, the pretraining mix
and the alignment tax in ``train.ptx``, the over-optimisation curve in ``train.overoptimisation``.

    instructrl train ppo --preset cpu                 # PPO
    instructrl train ppo --preset cpu --ptx-coef 27.8 # PPO-ptx
"""

from __future__ import annotations

import json
import math
import random
import resource
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from instructrl.chat import format_prompt
from instructrl.checkpoints import Card, Checkpoint, Registry
from instructrl.config import (
    DataConfig,
    GenerationConfig,
    ModelConfig,
    OptimConfig,
    RunConfig,
    check,
    to_dict,
)
from instructrl.data.loaders import fingerprint, load_records
from instructrl.data.schemas import Demonstration, EvalItem
from instructrl.errors import ConfigError
from instructrl.models.loading import DTYPES, load_causal_lm
from train import rl_math, sharding
from train.actor_critic import Models, build_models, reference_logprobs, sampling_model
from train.loop import (
    RunLogger,
    load_state,
    make_optimizer,
    make_scheduler,
    save_state,
    trainable_state,
)
from train.overoptimisation import curve_ends, curve_point, gold_labeler, write_curve
from train.ptx import TAX_FILE, Pretraining, pretrain_documents, ptx_enabled, ptx_shares
from train.remote_rollout import RemoteSampler
from train.rollout import (
    Advantages,
    Rollout,
    Samples,
    reward_scores,
    row_seed,
    sample,
)
from train.runs import announce, finished_run, run_identity, start_run, write_checkpoint
from train.tuning import count_parameters, merged

STAGE = "ppo"


@dataclass
class PPOParams:
    reward_model: str = "rm"  # the newest reward checkpoint, or any spec RewardModel.load accepts
    kl_coef: float = 0.02  # β, per-token KL penalty to the SFT policy (paper: 0.02)
    adaptive_kl_target: float | None = None  # nats per answer; set to adapt β (Ziegler et al. 2019)
    adaptive_kl_horizon: int = 10000
    kl_budget: float | None = None  # nats per answer this preset is expected to stay within (reported)
    clip: float = 0.2  # ε of the clipped surrogate
    value_clip: float = 0.2
    value_coef: float = 0.5
    gamma: float = 1.0
    lam: float = 0.95
    ppo_epochs: int = 1  # passes over each rollout batch (paper: 1)
    minibatches: int = 1  # optimiser steps per pass (paper: 8)
    temperature: float = 1.0
    max_new_tokens: int = 64
    max_prompt_tokens: int = 192
    no_eos_penalty: float = 1.0  # subtracted from the RM score of answers cut off at max_new_tokens
    # sample from a merged copy of the policy in this dtype ("auto": bfloat16 where the hardware has it), or
    # "off" for the policy itself; auto uses the copy only with LoRA or when it is 16-bit (see SamplingCopy)
    sampling_copy: str = "auto"
    reuse_forward: bool = True  # one pass, one minibatch: the first training forward gives π_old and V_old
    ema: float = 0.992  # policy EMA decay; the EMA is the released checkpoint
    value_init: str = "rm"  # "rm": critic = a copy of the reward model (paper); "shared": head on the policy
    ptx_coef: float = 0.0  # γ of PPO-ptx (paper: 27.8); 0 = plain PPO
    # pretraining sequences per RL episode (paper: 8); a fraction takes fewer (0.5: one per two episodes)
    ptx_per_episode: float = 8
    ptx_data: str = "builtin-pretrain"
    ptx_max_length: int = 128  # tokens per pretraining sequence
    gold_every: int = 10  # steps between over-optimisation measurements (0 = only at start and end)
    gold_prompts: int = 32  # held-out (validation) prompts for that curve
    gold_labeler: str | None = "gold"  # None: proxy reward only
    ptx_eval_docs: int = 32  # held-out pretraining documents for the alignment-tax loss

    def __post_init__(self) -> None:
        check(self.kl_coef >= 0, "ppo.kl_coef", self.kl_coef, "0 or more")
        check(0 < self.clip < 1 and self.value_clip > 0, "ppo.clip", self.clip, "a value in (0, 1)")
        check(0 <= self.gamma <= 1 and 0 <= self.lam <= 1, "ppo.lam", self.lam, "gamma and lam in [0, 1]")
        check(self.ppo_epochs >= 1 and self.minibatches >= 1, "ppo.minibatches", self.minibatches, "1 or more")
        check(self.temperature > 0, "ppo.temperature", self.temperature, "a positive sampling temperature")
        check(self.max_new_tokens >= 1, "ppo.max_new_tokens", self.max_new_tokens, "1 or more")
        check(0 <= self.ema < 1, "ppo.ema", self.ema, "a decay in [0, 1)")
        check(self.value_init in ("rm", "shared"), "ppo.value_init", self.value_init, "rm or shared")
        check(self.sampling_copy in ("off", *DTYPES), "ppo.sampling_copy", self.sampling_copy,
              f"off or one of {', '.join(DTYPES)}")
        check(self.ptx_coef >= 0, "ppo.ptx_coef", self.ptx_coef, "0 (PPO) or more (PPO-ptx; paper 27.8)")
        check(self.ptx_per_episode >= 0, "ppo.ptx_per_episode", self.ptx_per_episode, "0 or more")
        check(not ptx_enabled(self) or self.ptx_per_episode > 0, "ppo.ptx_per_episode", self.ptx_per_episode,
              "more than 0 when ppo.ptx_coef is set (PPO-ptx needs pretraining sequences)")
        check(self.gold_every >= 0 and self.gold_prompts >= 0, "ppo.gold_every", self.gold_every, "0 or more")
        check(self.adaptive_kl_target is None or self.adaptive_kl_target > 0, "ppo.adaptive_kl_target",
               self.adaptive_kl_target, "a positive KL in nats, or null")


@dataclass
class PPOConfig:
    model: ModelConfig = field(default_factory=lambda: ModelConfig(name="sft"))
    data: DataConfig = field(default_factory=DataConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    run: RunConfig = field(default_factory=RunConfig)
    ppo: PPOParams = field(default_factory=PPOParams)
    generation: GenerationConfig = field(default_factory=GenerationConfig)

    def __post_init__(self) -> None:
        if self.generation.backend == "remote" and self.model.lora.r == 0:
            raise ConfigError("generation.backend remote samples from the policy's LoRA adapter loaded on the engine, "
                              "and a full fine-tune (model.lora.r = 0) has no adapter to send",
                              "train with LoRA (--lora-r 16), or set generation.backend=local")
        if self.run.mixed_precision != "no":
            raise ConfigError(f"run.mixed_precision {self.run.mixed_precision} applies to the sft and rm stages only",
                              "leave it at no: PPO computes in model.dtype (auto: bfloat16 frozen weights and float32 "
                              "adapters on hardware with native bfloat16)")
        if self.run.batch_size % self.ppo.minibatches:
            raise ConfigError(f"run.batch_size {self.run.batch_size} does not split into ppo.minibatches "
                              f"{self.ppo.minibatches}", "make run.batch_size a multiple of ppo.minibatches")


CONFIG = PPOConfig
SHORTCUTS = {"model": "model.name", "reward_model": "ppo.reward_model", "data": "data.train",
             "output": "run.output", "max_steps": "run.max_steps", "lr": "optim.lr", "lora_r": "model.lora.r",
             "ptx_coef": "ppo.ptx_coef", "kl_coef": "ppo.kl_coef", "ptx_data": "ppo.ptx_data",
             "generation_backend": "generation.backend", "generation_url": "generation.url"}


def stage_of(config: PPOConfig) -> str:
    return "ppo-ptx" if ptx_enabled(config.ppo) else "ppo"


# ---- data --------------------------------------------------------------------------------------


def prompt_order(count: int, seed: int, epoch: int) -> list[int]:
    """The prompts of one pass in an order fixed by (seed, epoch): a resumed run sees the same ones."""
    order = list(range(count))
    random.Random(seed * 1_000_003 + epoch).shuffle(order)
    return order


def step_prompts(prompts: list, step: int, batch: int, seed: int) -> list:
    """The ``batch`` prompts of optimiser step ``step`` (the data position is the step number)."""
    per_epoch = len(prompts) // batch
    epoch, index = divmod(step, per_epoch)
    order = prompt_order(len(prompts), seed, epoch)
    return [prompts[i] for i in order[index * batch:(index + 1) * batch]]


# ---- the five steps ----------------------------------------------------------------------------


def generate(models: Models, prompts: list, params: PPOParams, policy: nn.Module, step: int = 0,
             seeds: list[int] | None = None, finished=None) -> Samples:
    """Step 1: sample one answer per prompt at the training temperature, in-process or on the engine.
    ``seeds``: one per prompt (``row_seed``); ``finished``: how the processes of a sharded policy agree
    to stop (``decode``)."""
    texts = [format_prompt(models.tokenizer, p) for p in prompts]
    if models.remote is not None:
        return models.remote.sample(policy, models.tokenizer, texts, params.max_prompt_tokens, params.max_new_tokens,
                                    params.temperature, step)
    return sample(sampling_model(models, policy), models.tokenizer, texts, params.max_prompt_tokens,
                  params.max_new_tokens, params.temperature, seeds, finished)


def reuses_first_forward(params: PPOParams) -> bool:
    """With one pass over one minibatch, the first optimisation forward runs on the rollout policy's own
    weights, so its detached outputs are π_old and V_old: step 2 then skips a second policy and critic pass."""
    return params.reuse_forward and params.ppo_epochs == 1 and params.minibatches == 1


def score(models: Models, prompts: list, samples: Samples, params: PPOParams, module: nn.Module,
          ptx: tuple[torch.Tensor, torch.Tensor] | None = None) -> tuple[Rollout, dict[str, torch.Tensor] | None]:
    """Step 2: RM scores, the policy's and the SFT model's log-probs and the critic's values.

    Returns the rollout and, when the first forward is reused, that forward's live outputs (with graph);
    ``ptx`` is then this process's share of the first minibatch's pretraining sequences.

    The reward model and the reference are plain copies on every process. With LoRA the reference is
    ``models.actor_critic``'s policy with its adapters switched off: its frozen base, the same however
    far a sharded training copy has moved the adapters."""
    scores, raw = reward_scores(models.reward, prompts, samples.texts, samples.ended, params.no_eos_penalty)
    ref = reference_logprobs(models.ref, models.actor_critic.policy, samples, params.temperature)
    live = reuses_first_forward(params)
    with torch.enable_grad() if live else torch.no_grad():
        out = module(samples.sequences, samples.attention_mask, samples.position_ids, samples.prompt_length,
                     *(ptx if live and ptx is not None else (None, None)))
    mask = samples.response_mask
    rollout = Rollout(samples, out["logprobs"].detach() * mask, ref * mask, out["values"].detach() * mask,
                      scores.to(mask.device), raw.to(mask.device))
    return rollout, (out if live else None)


def compute_advantages(rollout: Rollout, params: PPOParams, kl_coef: float,
                       reduce: rl_math.Reduce | None = None) -> Advantages:
    """Steps 3 and 4: KL-penalised per-token rewards, then GAE and whitening (over the answer tokens of
    every process's rows, with ``reduce``: the statistics of the global batch)."""
    rewards, kl = rl_math.kl_penalised_rewards(rollout.scores, rollout.logprobs, rollout.ref_logprobs,
                                               rollout.mask, kl_coef)
    advantages, returns = rl_math.gae(rewards, rollout.values, rollout.mask, params.gamma, params.lam)
    return Advantages(rewards, kl, rl_math.whiten(advantages, rollout.mask, reduce=reduce), returns)


def optimise(module: nn.Module, optimizer, scheduler, accelerator, rollout: Rollout, adv: Advantages,
             params: PPOParams, optim: OptimConfig, ptx: list[tuple[torch.Tensor, torch.Tensor] | None] | None,
             on_step=None, live: dict[str, torch.Tensor] | None = None) -> dict[str, float]:
    """Step 5: ``ppo_epochs`` passes over ``minibatches`` minibatches; each optimiser step also takes
    its share of the ptx sequences (``ptx_shares``; PPO-ptx: gradients of both terms in the same step).
    ``live``: step 2's forward outputs, used as the first minibatch's forward (see ``reuses_first_forward``).

    Over several processes each holds some rows of every minibatch: a token mean is the processes' sums
    divided by the global minibatch's token count, so the losses, the statistics and (DDP and FSDP
    average gradients; the loss is scaled by the process count) the update are one process's."""
    samples, rows = rollout.samples, rollout.mask.shape[0]
    world, reduce = accelerator.num_processes, _summing(accelerator)
    trainable = [p for p in module.parameters() if p.requires_grad]
    parts: dict[str, torch.Tensor] = {}  # this process's share of each global mean, summed over minibatches
    totals: dict[str, float] = {}  # values that are already global (the same on every process)
    count = 0
    for _ in range(params.ppo_epochs):
        for part in torch.arange(rows).chunk(params.minibatches):
            ptx_part = ptx[count % params.minibatches] if ptx is not None else None
            if live is not None and count == 0:
                out = live
            else:
                out = module(samples.sequences[part], samples.attention_mask[part], samples.position_ids[part],
                             samples.prompt_length, *(ptx_part or (None, None)))
            mask = rollout.mask[part]
            ptx_targets = ptx_part[1][:, 1:] if ptx_part is not None else None
            tokens, ptx_tokens = rl_math.summed(reduce, mask.sum(), 0 if ptx_targets is None else ptx_targets.sum())
            pg, stats = rl_math.policy_loss(out["logprobs"], rollout.logprobs[part], adv.advantages[part], mask,
                                            params.clip, total=tokens)
            vf, vf_clip = rl_math.value_loss(out["values"], rollout.values[part], adv.returns[part], mask,
                                             params.value_clip, total=tokens)
            lm = rl_math.ptx_loss(out["ptx_logprobs"], ptx_targets, total=ptx_tokens) if ptx_part is not None else None
            loss = rl_math.ppo_objective(pg, vf, lm, params.value_coef, params.ptx_coef)
            accelerator.backward(loss * world)  # the processes' gradients are averaged: their sum is the batch's
            grad_norm = accelerator.clip_grad_norm_(trainable, optim.max_grad_norm)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            if on_step is not None:
                on_step()
            shares = {"policy_loss": pg, "value_loss": vf, "clip_fraction": stats["clip_fraction"],
                      "approx_kl": stats["approx_kl"], "value_clip_fraction": vf_clip,
                      "entropy": rl_math.masked_mean(out["entropy"], mask, total=tokens)}
            if lm is not None:
                shares["ptx_loss"] = lm
            for key, value in shares.items():
                parts[key] = parts.get(key, 0.0) + torch.as_tensor(value).detach().float()
            whole = {"grad_norm": grad_norm, "explained_variance": rl_math.explained_variance(
                out["values"].detach(), adv.returns[part], mask, reduce=reduce)}
            for key, value in whole.items():
                totals[key] = totals.get(key, 0.0) + float(torch.as_tensor(value).detach())
            count += 1
    keys = sorted(parts)  # one all-reduce for every share
    totals.update(zip(keys, (float(v) for v in rl_math.summed(reduce, *(parts[k] for k in keys)))))
    return {k: v / count for k, v in totals.items()}


def train_step(step: int, prompts: list, models: Models, module: nn.Module, optimizer, scheduler, accelerator,
               config: PPOConfig, kl_coef: float, ptx, on_step,
               rows: list[int] | None = None) -> tuple[dict[str, float], Rollout]:
    """One PPO step, numbered as in the paper's loop; returns its metrics and the rollout.

    ``prompts``: this process's rows of the step's batch, ``rows`` their positions in it (default: the
    whole batch), which seed their answers; ``ptx``: the step's whole pretraining batch (or None)."""
    params = config.ppo
    trained = accelerator.unwrap_model(module)
    sharded = sharding.is_sharded(trained)
    seeds = [row_seed(config.run.seed, step, row) for row in (rows if rows is not None else range(len(prompts)))]
    # a sharded policy samples through the root's forward, and its processes step until all are done
    policy = sharding.Through(trained, "policy") if sharded else trained.policy
    timer = time.perf_counter()
    samples = generate(models, prompts, params, policy, step, seeds,
                       sharding.all_finished if sharded else None)  # 1. generate
    t_generate = time.perf_counter() - timer
    timer = time.perf_counter()
    module.train()  # dropout is off in the model config; train mode only matters for DDP bookkeeping
    shares = ptx_shares(ptx, params.minibatches, accelerator.process_index, accelerator.num_processes)
    rollout, live = score(models, prompts, samples, params, module, shares[0] if shares else None)  # 2. score
    t_score = time.perf_counter() - timer
    timer = time.perf_counter()
    adv = compute_advantages(rollout, params, kl_coef, _summing(accelerator))  # 3. rewards, 4. advantages
    stats = optimise(module, optimizer, scheduler, accelerator, rollout, adv, params, config.optim, shares, on_step,
                     live)  # 5. optimise
    t_optimise = time.perf_counter() - timer
    mask = rollout.mask
    sequence_kl = (adv.kl * mask).sum(dim=1)
    metrics = {"reward/rm": float(rollout.rm_scores.mean()), "reward/score": float(rollout.scores.mean()),
               "reward/total": float((adv.rewards * mask).sum(dim=1).mean()),
               "kl/mean": float(sequence_kl.mean()), "kl/negative_fraction": float((sequence_kl < 0).float().mean()),
               "kl/coef": kl_coef, "response/length": float(mask.sum(dim=1).mean()),
               "response/ended": float(samples.ended.float().mean()),
               "time/generate": t_generate, "time/score": t_score, "time/optimise": t_optimise,
               **{f"ppo/{k}": v for k, v in stats.items()}}
    return metrics, rollout


# ---- the stage ---------------------------------------------------------------------------------


class PolicyEMA:
    """Exponential moving average of the policy's trainable weights (the whole policy with a full
    fine-tune, the adapters with LoRA): frozen weights equal their average. Of a sharded policy, each
    process averages its own shards."""

    def __init__(self, policy: nn.Module, decay: float):
        self.decay, self.updates = decay, 0
        self.params = {n: p for n, p in policy.named_parameters() if p.requires_grad}
        self.average = {n: p.detach().clone() for n, p in self.params.items()}

    def update(self) -> None:
        decay = rl_math.ema_decay(self.updates, self.decay)
        for name, param in self.params.items():
            rl_math.ema_update(self.average[name], param, decay)
        self.updates += 1

    def state_dict(self) -> dict[str, Any]:
        """Whole tensors (gathered from the shards of a sharded policy: collective)."""
        return {"average": {n: sharding.full_tensor(v) for n, v in self.average.items()}, "updates": self.updates}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.updates = state["updates"]
        for name, value in state["average"].items():
            sharding.copy_whole_into(self.average[name], value)

    def copy_to(self, policy: nn.Module) -> None:
        named = dict(policy.named_parameters())
        with torch.no_grad():
            for name, value in self.average.items():
                named[name].copy_(value)


def run(config: PPOConfig, registry: Registry | None = None) -> Checkpoint:
    """Train with PPO (PPO-ptx when ptx_coef > 0) and write the EMA policy; resumes an interrupted run."""
    from accelerate import Accelerator

    registry = registry or Registry()
    started = start_run(config.run)
    params, stage = config.ppo, stage_of(config)

    train_set = load_records(config.data.train, Demonstration, split="train", limit=config.data.limit)
    prompts = [d.prompt for d in train_set.records]
    held_out = load_records(config.data.validation or config.data.train, Demonstration,
                            split=None if config.data.validation else "validation")
    gold_items = [EvalItem.from_demonstration(d) for d in held_out.records[:params.gold_prompts]]
    documents = pretrain_documents(params)
    data_fp = fingerprint([*train_set.records, *documents[0]])
    # "sft" and "rm" name the newest checkpoints: a new SFT or reward model gives a new run
    inputs = [registry.resolve(spec) for spec in (config.model.name, params.reward_model)]
    identity = run_identity(stage, config, ":".join([data_fp, *inputs]))
    if (done := finished_run(registry, identity)) is not None:
        return done

    accelerator = Accelerator(cpu=not torch.cuda.is_available())
    world, rank = accelerator.num_processes, accelerator.process_index
    _check_split(config, world, len(prompts))
    models = build_models(config, registry)
    if config.generation.backend == "remote":
        models.remote = RemoteSampler.from_config(config.generation, identity.run_dir, config.run.seed)
    tokenizer = models.tokenizer
    device = accelerator.device
    for part in (models.actor_critic, models.ref, models.reward):
        if part is not None:
            part.to(device)
    # the whole step's pretraining sequences are drawn for every process alike, then dealt out by ptx_shares
    pretraining = Pretraining.build(params, tokenizer, documents, config.run.batch_size, config.run.seed)
    labeler = gold_labeler(params) if accelerator.is_main_process else None

    total = config.run.max_steps or max(1, math.ceil(config.run.epochs * len(prompts) / config.run.batch_size))
    optimise_steps = total * params.ppo_epochs * params.minibatches
    module = models.actor_critic  # unsharded: the gold curve, the sampling copy and the release read it
    step, kl_coef, curve, start_stats = 0, params.kl_coef, [], {}
    metrics: dict[str, float] = {}  # the last step's, for the card
    earlier_s, earlier_peak_mb = 0.0, 0.0  # wall time and peak memory of the processes before a resume
    saved = load_state(identity.run_dir, module) if config.run.resume else None  # weights before any copy
    if saved is not None:
        step, kl_coef, curve, start_stats = saved["step"], saved["kl_coef"], saved["curve"], saved["start"]
        metrics = saved.get("metrics", {})
        earlier_s, earlier_peak_mb = saved.get("elapsed_s", 0.0), saved.get("peak_memory_mb", 0.0)
        if accelerator.is_main_process:
            print(f"[{stage}] resumed at step {step}")
    _announce(stage, identity, config, module, len(prompts), len(gold_items), total, world, pretraining)
    # what trains: the module itself (one process, DDP), or under FSDP a sharded copy (train.sharding)
    trained = sharding.training_copy(module, accelerator)
    optimizer = make_optimizer(list(trained.parameters()), config.optim)
    scheduler = make_scheduler(optimizer, config.optim, optimise_steps)
    if sharding.shards_itself(accelerator):
        wrapped, optimizer = trained, accelerator.prepare(optimizer)  # sharded already: no DDP around it
    else:
        wrapped, optimizer = accelerator.prepare(trained, optimizer)
    trained = accelerator.unwrap_model(wrapped)
    if sharding.is_sharded(trained) and accelerator.is_main_process:
        print(f"[{stage}] FSDP 2 over {world} CPU processes: the policy and critic's parameters, gradients and "
              "optimiser state sharded; reference and reward model whole on each", flush=True)
    ema = PolicyEMA(trained.policy, params.ema)
    if saved is not None:
        sharding.load_optimizer_state(trained, optimizer, saved["optimizer"])
        scheduler.load_state_dict(saved["scheduler"])
        ema.load_state_dict(saved["ema"])
    logger = RunLogger(identity.run_dir, enabled=accelerator.is_main_process)

    def checkpoint_curve(at: int, kl: float) -> None:
        sharding.copy_back(trained, module)  # under FSDP the trained weights, gathered (collective)
        if accelerator.is_main_process:
            point = curve_point(at, kl, module.policy, models, gold_items, params, labeler)
            curve.append(point)
            logger.log(at, {f"gold_curve/{k}": v for k, v in point.items() if k != "step"})
            write_curve(curve, identity.run_dir)
        accelerator.wait_for_everyone()

    if step == 0:
        start_chunks, start_loss = pretraining.held_out_loss(module.policy)
        start_stats = {"pretrain_loss": start_loss, "pretrain_chunks": start_chunks}
        checkpoint_curve(0, 0.0)
    # the curve's points carry the KL of their step: a run resumed after its last step still reports it
    last_kl = metrics.get("kl/mean", curve[-1]["kl"] if curve else 0.0)
    while step < total:
        # this process's rows of the step's batch: every world-th, each answer seeded by its row
        batch = step_prompts(prompts, step, config.run.batch_size, config.run.seed)
        rows = list(range(rank, len(batch), world))
        ptx = pretraining.step_batch(step, device)
        if models.sampler is not None:
            sharding.copy_back(trained, module)  # the sampling copy refreshes from the unsharded policy
        metrics, _ = train_step(step, [batch[i] for i in rows], models, wrapped, optimizer, scheduler, accelerator,
                                config, kl_coef, ptx, ema.update, rows)
        metrics = _mean_over_processes(accelerator, metrics)
        last_kl = metrics["kl/mean"]
        if params.adaptive_kl_target:
            kl_coef = rl_math.adaptive_kl_coef(kl_coef, last_kl, params.adaptive_kl_target,
                                               params.adaptive_kl_horizon, config.run.batch_size)
        step += 1
        metrics["lr"] = scheduler.get_last_lr()[0]
        if step % config.run.log_every == 0 or step == total:
            logger.log(step, metrics)
            if accelerator.is_main_process:
                print(_progress_line(stage, step, total, metrics), flush=True)
        if (params.gold_every and step % params.gold_every == 0) or step == total:
            checkpoint_curve(step, last_kl)
        if step % config.run.save_every == 0 or step == total:
            # gathered from the shards under FSDP: every process takes part, the main one writes
            weights, ema_state = trainable_state(trained), ema.state_dict()
            optimizer_state = sharding.optimizer_state(trained, optimizer)
            accelerator.wait_for_everyone()
            if accelerator.is_main_process:
                save_state(identity.run_dir, weights, {
                    "optimizer": optimizer_state, "scheduler": scheduler.state_dict(), "ema": ema_state,
                    "kl_coef": kl_coef, "curve": curve, "start": start_stats, "metrics": metrics,
                    "elapsed_s": earlier_s + time.perf_counter() - started,
                    "peak_memory_mb": max(earlier_peak_mb, _peak_memory_mb())}, step)
            accelerator.wait_for_everyone()
    logger.close()

    # the released model: the EMA of the policy, adapters merged into a plain transformers model
    ema.copy_to(trained.policy)
    sharding.copy_back(trained, module)
    final = merged(module.policy, lambda: load_causal_lm(config.model.name, "float32")).eval()
    end_chunks, end_pretrain = pretraining.held_out_loss(final)
    peak_mb = max(earlier_peak_mb, _peak_memory_mb())
    summary = {"steps": step, "reward_rm": metrics.get("reward/rm"), "kl": last_kl, "kl_coef": kl_coef,
               "kl_budget": params.kl_budget, "pretrain_loss_sft": start_stats.get("pretrain_loss"),
               "pretrain_loss": end_pretrain, "peak_memory_mb": peak_mb, **curve_ends(curve)}
    card = Card(name=identity.name, stage=stage, parent=config.model.name, base_model=_base_model(registry, config),
                config=to_dict(config), data_fingerprint=data_fp, metrics=summary,
                wall_time_s=round(earlier_s + time.perf_counter() - started, 1))

    def save(folder: Path) -> None:
        final.save_pretrained(folder)
        tokenizer.save_pretrained(folder)
        write_curve(curve, folder)
        if end_chunks:  # per chunk, so that a report can put CIs on the alignment tax
            (folder / f"{TAX_FILE}.json").write_text(json.dumps(
                {"sft": start_stats.get("pretrain_chunks", []), "policy": end_chunks}))

    checkpoint = write_checkpoint(registry, card, save)
    if accelerator.is_main_process:
        over = f" (over the preset's budget of {params.kl_budget})" if params.kl_budget and last_kl > params.kl_budget else ""
        print(f"[{stage}] wrote {checkpoint.path}: KL {last_kl:.2f} nats{over}; peak memory {peak_mb:.0f} MB; "
              f"held-out pretraining loss {_fmt(start_stats.get('pretrain_loss'))} -> {_fmt(end_pretrain)}")
    return checkpoint


# ---- helpers -----------------------------------------------------------------------------------


def _check_split(config: PPOConfig, world: int, prompts: int) -> None:
    """The step's batch splits over the processes and minibatches, and the data fills one batch."""
    params = config.ppo
    if config.run.batch_size % world or (config.run.batch_size // world) % params.minibatches:
        raise ConfigError(f"run.batch_size {config.run.batch_size} does not split over {world} processes and "
                          f"{params.minibatches} minibatches", "make it a multiple of processes x minibatches")
    if prompts < config.run.batch_size:
        raise ConfigError(f"{prompts} prompts are fewer than one batch of {config.run.batch_size}",
                          "use more data or a smaller run.batch_size")
    if config.generation.backend == "remote" and world > 1:
        raise ConfigError(f"generation.backend remote runs on one process, not {world}",
                          "launch one process (the engine does the sampling), or set generation.backend=local")


def _announce(stage: str, identity, config: PPOConfig, module: nn.Module, train_prompts: int, gold_prompts: int,
              total: int, world: int, pretraining: Pretraining) -> None:
    """The run's opening lines: data, models, steps (and the pretraining mix)."""
    params = config.ppo
    trainable, n_total = count_parameters(module)
    announce(stage, identity, [
        f"{train_prompts} training prompts from {config.data.train}; {gold_prompts} held-out prompts for the gold curve",
        f"policy {config.model.name}, reward model {params.reward_model}, critic from {params.value_init}; "
        f"{trainable / 1e6:.1f}M of {n_total / 1e6:.1f}M parameters trained",
        f"{total} steps x {config.run.batch_size} episodes over {world} process(es); β = {params.kl_coef}"
        + (f"; ptx γ = {params.ptx_coef}, {len(pretraining.chunks)} pretraining sequences" if pretraining.enabled else ""),
    ])


def _summing(accelerator) -> rl_math.Reduce | None:
    """Sums a tensor over the processes (None in one process)."""
    if accelerator.num_processes == 1:
        return None
    return lambda tensor: accelerator.reduce(tensor, "sum")


def _mean_over_processes(accelerator, metrics: dict[str, float]) -> dict[str, float]:
    if accelerator.num_processes == 1:
        return metrics
    keys = sorted(metrics)
    values = accelerator.reduce(torch.tensor([metrics[k] for k in keys], device=accelerator.device), "mean")
    return dict(zip(keys, values.tolist()))


def _base_model(registry: Registry, config: PPOConfig) -> str:
    parent = registry.find(config.model.name)
    return (parent.card.base_model or parent.name) if parent is not None else config.model.name


def _peak_memory_mb() -> float:
    if torch.cuda.is_available():
        return torch.cuda.max_memory_allocated() / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4f}"


def _progress_line(stage: str, step: int, total: int, m: dict[str, float]) -> str:
    line = (f"[{stage}] step {step}/{total} rm {m['reward/rm']:+.3f} kl {m['kl/mean']:+.3f} "
            f"entropy {m['ppo/entropy']:.2f} clip {m['ppo/clip_fraction']:.3f} vloss {m['ppo/value_loss']:.3f} "
            f"ev {m['ppo/explained_variance']:+.2f} len {m['response/length']:.0f} "
            f"time gen/score/opt {m['time/generate']:.1f}/{m['time/score']:.1f}/{m['time/optimise']:.1f}s")
    return line + (f" ptx {m['ppo/ptx_loss']:.3f}" if "ppo/ptx_loss" in m else "")
