"""The training machinery every stage shares: optimiser and cosine schedule, a logger (JSONL +
TensorBoard), resumable state, and ``fit`` — the supervised loop used by SFT and the reward model.

``fit`` works the same in one process and under ``accelerate launch`` (each process takes every
world-th micro-batch of a step; DDP averages gradients). Every micro-batch carries a ``weight``
(tokens for SFT, prompts for the RM) and the loss of a step is the weighted sum over the whole
global batch divided by its total weight, so the result does not depend on how the batch is split.
The data order is a pure function of (seed, epoch), so a resumed run sees exactly the batches the
uninterrupted run would have seen.
"""

from __future__ import annotations

import contextlib
import json
import math
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from instructrl.config import OptimConfig, RunConfig
from train import sharding

Batch = dict[str, Any]
LossFn = Callable[[torch.nn.Module, Batch], tuple[torch.Tensor, dict[str, float]]]
STATE_DIR = "state"


# ---- optimiser and schedule --------------------------------------------------------------------


def make_optimizer(params: Sequence[torch.nn.Parameter], optim: OptimConfig) -> torch.optim.Optimizer:
    params = [p for p in params if p.requires_grad]
    decay = [p for p in params if p.ndim >= 2]  # no weight decay on norms and biases
    no_decay = [p for p in params if p.ndim < 2]
    groups = [{"params": decay, "weight_decay": optim.weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    return torch.optim.AdamW(groups, lr=optim.lr, betas=tuple(optim.betas), foreach=True)


def cosine_lr_factor(step: int, total: int, warmup: int, min_ratio: float) -> float:
    """Linear warm-up, then cosine decay from 1 to ``min_ratio`` at ``total`` steps."""
    if warmup and step < warmup:
        return (step + 1) / warmup
    progress = min(1.0, (step - warmup) / max(1, total - warmup))
    return min_ratio + (1 - min_ratio) * 0.5 * (1 + math.cos(math.pi * progress))


def make_scheduler(optimizer: torch.optim.Optimizer, optim: OptimConfig, total_steps: int):
    return torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: cosine_lr_factor(step, total_steps, optim.warmup_steps, optim.min_lr_ratio)
    )


# ---- data order --------------------------------------------------------------------------------


def bucketed_order(lengths: Sequence[int], micro_batch: int, seed: int, epoch: int) -> list[list[int]]:
    """Micro-batches of similar length (less padding), in a random order fixed by (seed, epoch).

    Shuffle, sort within windows of 16 micro-batches by length, cut into micro-batches, shuffle those."""
    rng = random.Random(seed * 1_000_003 + epoch)
    order = list(range(len(lengths)))
    rng.shuffle(order)
    window = micro_batch * 16
    batches = []
    for start in range(0, len(order), window):
        chunk = sorted(order[start:start + window], key=lambda i: lengths[i])
        batches.extend(chunk[i:i + micro_batch] for i in range(0, len(chunk), micro_batch))
    rng.shuffle(batches)
    return [b for b in batches if len(b) == micro_batch]  # full micro-batches only: equal steps everywhere


def pad_right(rows: Sequence[Sequence[int]], pad_id: int, device=None) -> tuple[torch.Tensor, torch.Tensor]:
    """Token rows -> right-padded ids [N, T] and attention mask [N, T]."""
    width = max(len(r) for r in rows)
    ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, r in enumerate(rows):
        ids[i, :len(r)] = torch.tensor(r)
        mask[i, :len(r)] = 1
    return ids.to(device), mask.to(device)


# ---- logging -----------------------------------------------------------------------------------


class RunLogger:
    """Metrics to ``metrics.jsonl`` and TensorBoard in the run folder (main process only)."""

    def __init__(self, run_dir: Path, enabled: bool = True):
        self.enabled = enabled
        self.path = run_dir / "metrics.jsonl"
        self.writer = None
        if enabled:
            run_dir.mkdir(parents=True, exist_ok=True)
            try:
                from torch.utils.tensorboard import SummaryWriter

                self.writer = SummaryWriter(str(run_dir / "tensorboard"))
            except ImportError:  # tensorboard is optional: the JSONL log is always written
                self.writer = None

    def log(self, step: int, metrics: dict[str, float]) -> None:
        if not self.enabled:
            return
        with open(self.path, "a") as handle:
            handle.write(json.dumps({"step": step, "time": round(time.time(), 3), **metrics}) + "\n")
        if self.writer is not None:
            for key, value in metrics.items():
                if isinstance(value, (int, float)) and math.isfinite(value):
                    self.writer.add_scalar(key, value, step)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


def read_metrics(run_dir: Path) -> list[dict[str, Any]]:
    path = run_dir / "metrics.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


# ---- resumable state ---------------------------------------------------------------------------


def trainable_state(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """Only what training changes: the whole model in a full fine-tune, the adapters with LoRA."""
    names = {n for n, p in model.named_parameters() if p.requires_grad}
    return {k: v.detach().clone() for k, v in sharding.model_state(model).items() if k in names}


def save_state(run_dir: Path, weights: dict[str, torch.Tensor], extra: dict[str, Any], step: int) -> Path:
    """Write ``run_dir/state`` atomically: trainable weights (``trainable_state``), optimiser etc.
    (``extra``), RNG states."""
    import os
    import shutil

    target = run_dir / STATE_DIR
    tmp = run_dir / f".{STATE_DIR}-tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    torch.save({"model": weights, **extra, "step": step,
                "rng": {"torch": torch.get_rng_state(), "python": random.getstate()}}, tmp / "state.pt")
    (tmp / "step.json").write_text(json.dumps({"step": step}))
    old = run_dir / f".{STATE_DIR}-old"
    if target.exists():
        os.replace(target, old)
    os.replace(tmp, target)
    shutil.rmtree(old, ignore_errors=True)
    return target


def load_state(run_dir: Path, model: torch.nn.Module) -> dict[str, Any] | None:
    """Restore trainable weights and RNG states; returns the saved dict (optimiser etc.) or None."""
    path = run_dir / STATE_DIR / "state.pt"
    if not path.exists():
        return None
    state = torch.load(path, weights_only=False)
    missing = set(trainable_state(model)) - set(state["model"])
    if missing:
        from instructrl.errors import InstructrlError

        raise InstructrlError(f"saved state in {path.parent} does not match this model ({len(missing)} tensors missing)",
                              "use a new run.run_dir, or set run.resume=false to start over")
    model.load_state_dict(state["model"], strict=False)
    torch.set_rng_state(state["rng"]["torch"])
    random.setstate(state["rng"]["python"])
    return state


# ---- the supervised loop -----------------------------------------------------------------------


@dataclass
class FitResult:
    steps: int
    train_loss: float
    metrics: dict[str, float]
    wall_time_s: float
    tokens_per_s: float
    earlier_s: float = 0.0  # training time of the processes before a resume (0 for a run never interrupted)


def fit(
    model: torch.nn.Module,
    examples: Sequence[Any],
    lengths: Sequence[int],
    collate: Callable[[list[Any]], Batch],
    loss_fn: LossFn,
    run: RunConfig,
    optim: OptimConfig,
    run_dir: Path,
    validate: Callable[[torch.nn.Module], dict[str, float]] | None = None,
    desc: str = "train",
) -> FitResult:
    """Train ``model`` on ``examples`` (steps of ``run.batch_size``), validating every
    ``run.eval_every`` steps and saving resumable state every ``run.save_every`` steps."""
    from accelerate import Accelerator
    from tqdm.auto import tqdm

    from instructrl.models.loading import bf16_autocast

    accelerator = Accelerator(cpu=not torch.cuda.is_available())
    # our own autocast rather than accelerate's mixed_precision, which is fixed once per process
    bf16 = bf16_autocast(run.mixed_precision)

    def autocast():
        return torch.autocast(accelerator.device.type, dtype=torch.bfloat16, enabled=bf16)

    world, rank = accelerator.num_processes, accelerator.process_index
    micro_per_step = run.batch_size // run.micro_batch_size
    if micro_per_step % world:
        from instructrl.errors import ConfigError

        raise ConfigError(f"run.batch_size / run.micro_batch_size = {micro_per_step} micro-batches per step "
                          f"cannot be split over {world} processes", "make it a multiple of the process count")
    steps_per_epoch = len(bucketed_order(lengths, run.micro_batch_size, run.seed, 0)) // micro_per_step
    if steps_per_epoch == 0:
        from instructrl.errors import ConfigError

        raise ConfigError(f"{len(examples)} examples are fewer than one batch of {run.batch_size}",
                          "use more data or a smaller run.batch_size")
    total = run.max_steps or max(1, math.ceil(run.epochs * steps_per_epoch))

    saved = load_state(run_dir, model) if run.resume else None  # weights into the caller's model
    trained = sharding.training_copy(model, accelerator)
    if sharding.is_sharded(trained) and accelerator.is_main_process:
        print(f"[{desc}] FSDP 2 over {world} CPU processes: parameters, gradients and optimiser state sharded",
              flush=True)
    optimizer = make_optimizer(list(trained.parameters()), optim)
    scheduler = make_scheduler(optimizer, optim, total)
    if sharding.shards_itself(accelerator):
        optimizer = accelerator.prepare(optimizer)  # the module is sharded already: no DDP around it
    else:
        trained, optimizer = accelerator.prepare(trained, optimizer)
    step, earlier = 0, 0.0
    if saved is not None:
        sharding.load_optimizer_state(trained, optimizer, saved["optimizer"])
        scheduler.load_state_dict(saved["scheduler"])
        step, earlier = saved["step"], saved.get("elapsed_s", 0.0)  # states from before elapsed_s count 0
        if accelerator.is_main_process:  # say so: a rerun that silently started over would look the same
            print(f"[{desc}] resumed at step {step}", flush=True)
    caller, model = model, trained
    logger = RunLogger(run_dir, enabled=accelerator.is_main_process)
    trainable = [p for p in model.parameters() if p.requires_grad]

    def evaluate(at_step: int) -> dict[str, float]:
        if validate is None:
            return {}
        model.eval()
        with torch.no_grad(), autocast():
            metrics = {f"val/{k}": v for k, v in validate(accelerator.unwrap_model(model)).items()}
        model.train()
        logger.log(at_step, metrics)
        return metrics

    last_val = evaluate(step) if step == 0 else {}
    model.train()
    start, tokens_seen, loss_value = time.perf_counter(), 0, float("nan")
    bar = tqdm(total=total, initial=step, desc=desc, disable=not accelerator.is_main_process, dynamic_ncols=True)
    while step < total:
        epoch, index = divmod(step, steps_per_epoch)
        order = bucketed_order(lengths, run.micro_batch_size, run.seed, epoch)
        step_batches = [collate([examples[i] for i in ids])
                        for ids in order[index * micro_per_step:(index + 1) * micro_per_step]]
        total_weight = float(sum(b["weight"] for b in step_batches))
        mine = step_batches[rank::world]
        step_loss, step_metrics = 0.0, {}
        for number, batch in enumerate(mine):
            syncing = number == len(mine) - 1
            with contextlib.nullcontext() if syncing else accelerator.no_sync(model):
                with autocast():
                    loss_sum, metrics = loss_fn(model, batch)
                # DDP averages over processes, so scale by world to get sum / total_weight
                accelerator.backward(loss_sum * world / total_weight)
            step_loss += float(loss_sum.detach()) / total_weight
            tokens_seen += int(batch["input_ids"].numel())
            for key, value in metrics.items():
                step_metrics[key] = step_metrics.get(key, 0.0) + value
        grad_norm = accelerator.clip_grad_norm_(trainable, optim.max_grad_norm)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        step += 1
        loss_value = float(accelerator.reduce(torch.tensor(step_loss), reduction="sum"))
        elapsed = time.perf_counter() - start
        if step % run.log_every == 0 or step == total:
            logger.log(step, {"train/loss": loss_value, "train/lr": scheduler.get_last_lr()[0],
                              "train/grad_norm": float("nan") if grad_norm is None else float(grad_norm), "train/tokens_per_s": tokens_seen * world / elapsed,
                              **{f"train/{k}": v for k, v in step_metrics.items()}})
        bar.set_postfix(loss=f"{loss_value:.4f}", lr=f"{scheduler.get_last_lr()[0]:.2e}")
        bar.update(1)
        if step % run.eval_every == 0 or step == total:
            last_val = evaluate(step)
        if step % run.save_every == 0 and step < total:
            weights = trainable_state(accelerator.unwrap_model(model))  # gathered on every process
            optimizer_state = sharding.optimizer_state(accelerator.unwrap_model(model), optimizer)
            accelerator.wait_for_everyone()
            if accelerator.is_main_process:
                save_state(run_dir, weights, {"optimizer": optimizer_state, "scheduler": scheduler.state_dict(),
                                              "elapsed_s": earlier + time.perf_counter() - start}, step)
    bar.close()
    logger.close()
    sharding.copy_back(accelerator.unwrap_model(model), caller)
    accelerator.wait_for_everyone()
    elapsed = time.perf_counter() - start
    return FitResult(step, loss_value, last_val, elapsed, tokens_seen * world / max(elapsed, 1e-9), earlier)

