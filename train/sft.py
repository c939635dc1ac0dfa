"""Stage 1 of the recipe: supervised fine-tuning on demonstrations (Ouyang et al. 2022, sec. 3.5).

The loss is the mean negative log-likelihood of the answer tokens only (the prompt is context,
not a target). Examples are length-bucketed, the schedule is cosine to 10 % of the peak, and the
result is a plain Hugging Face checkpoint in the registry.

    instructrl train sft --preset cpu
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from instructrl.chat import format_answer, format_prompt
from instructrl.checkpoints import Card, Checkpoint, Registry
from instructrl.config import DataConfig, ModelConfig, OptimConfig, RunConfig, to_dict
from instructrl.data.loaders import fingerprint, load_records
from instructrl.data.schemas import Demonstration
from instructrl.models.loading import load_causal_lm, load_tokenizer
from train.loop import fit
from train.runs import announce, finished_run, run_identity, start_run, write_checkpoint
from train.tuning import count_parameters, merged, prepare_for_training

IGNORE = -100
STAGE = "sft"


@dataclass
class SFTConfig:
    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    run: RunConfig = field(default_factory=RunConfig)


CONFIG = SFTConfig
SHORTCUTS = {"model": "model.name", "data": "data.train", "output": "run.output", "max_steps": "run.max_steps",
             "epochs": "run.epochs", "lr": "optim.lr", "lora_r": "model.lora.r"}


# ---- data ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Example:
    input_ids: list[int]
    prompt_length: int  # tokens before the answer: they are context, not targets


def encode(tokenizer, demo: Demonstration, max_length: int) -> Example:
    """Prompt in chat format + answer + end-of-answer; over-long examples lose the prompt's start
    first (the answer and the question at the prompt's end matter most), then the answer's end."""
    prompt = tokenizer(format_prompt(tokenizer, demo.prompt), add_special_tokens=False)["input_ids"]
    answer = tokenizer(format_answer(tokenizer, demo.completion), add_special_tokens=False)["input_ids"]
    keep_prompt = max(1, min(len(prompt), max_length // 2, max_length - len(answer)))
    prompt = prompt[-keep_prompt:] if len(prompt) + len(answer) > max_length else prompt
    ids = (prompt + answer)[:max_length]
    return Example(ids, len(prompt))


def collate(examples: list[Example], pad_id: int) -> dict[str, torch.Tensor | float]:
    """Right-padded batch; labels are -100 on prompt and padding. ``weight`` = answer tokens."""
    width = max(len(e.input_ids) for e in examples)
    ids = torch.full((len(examples), width), pad_id, dtype=torch.long)
    labels = torch.full((len(examples), width), IGNORE, dtype=torch.long)
    mask = torch.zeros((len(examples), width), dtype=torch.long)
    for row, e in enumerate(examples):
        n = len(e.input_ids)
        ids[row, :n] = torch.tensor(e.input_ids)
        mask[row, :n] = 1
        labels[row, e.prompt_length:n] = ids[row, e.prompt_length:n]
    return {"input_ids": ids, "attention_mask": mask, "labels": labels, "weight": float((labels != IGNORE).sum())}


# ---- loss ---------------------------------------------------------------------------------------


class CompletionLoss(nn.Module):
    """Summed NLL of the answer tokens. The vocabulary projection is applied only where a target
    exists: on CPU the 49k-word head is a fifth of the model's work, and prompt positions need none."""

    def __init__(self, lm: nn.Module):
        super().__init__()
        self.lm = lm

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        targets = labels[:, 1:]
        where = targets != IGNORE
        core = self.lm.get_base_model() if hasattr(self.lm, "get_base_model") else self.lm
        if getattr(core.config, "final_logit_softcapping", None):  # heads with extra logit maths: plain path
            logits = self.lm(input_ids=input_ids, attention_mask=attention_mask).logits[:, :-1][where]
        else:
            hidden = core.base_model(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
            logits = core.get_output_embeddings()(hidden[:, :-1][where])
        return F.cross_entropy(logits.float(), targets[where], reduction="sum")


def loss_fn(module: nn.Module, batch: dict) -> tuple[torch.Tensor, dict[str, float]]:
    loss = module(batch["input_ids"], batch["attention_mask"], batch["labels"])
    return loss, {"answer_tokens": batch["weight"]}


def validation_loss(module: nn.Module, batches: list[dict]) -> dict[str, float]:
    """Token-weighted mean NLL of the answers, and its perplexity."""
    total = sum(float(module(b["input_ids"], b["attention_mask"], b["labels"])) for b in batches)
    tokens = sum(b["weight"] for b in batches)
    loss = total / max(tokens, 1)
    return {"loss": loss, "ppl": float(torch.tensor(loss).exp())}


# ---- the stage ----------------------------------------------------------------------------------


def run(config: SFTConfig, registry: Registry | None = None) -> Checkpoint:
    """Train, validate and write the SFT checkpoint; an interrupted run resumes from its state."""
    registry = registry or Registry()
    started = start_run(config.run)

    train_set = load_records(config.data.train, Demonstration, split="train", limit=config.data.limit)
    val_set = load_records(config.data.validation or config.data.train, Demonstration,
                           split=None if config.data.validation else "validation")
    identity = run_identity(STAGE, config, fingerprint(train_set.records))
    if (done := finished_run(registry, identity)) is not None:
        return done

    tokenizer = load_tokenizer(config.model.name)
    lm = prepare_for_training(load_causal_lm(config.model.name, config.model.dtype, config.model.dropout), config.model)
    trainable, total = count_parameters(lm)
    announce(STAGE, identity, [train_set.summary(), val_set.summary(),
                               f"model {config.model.name}: {trainable / 1e6:.1f}M of {total / 1e6:.1f}M parameters trained"])

    examples = [encode(tokenizer, d, config.data.max_length) for d in train_set.records]
    val_batches = _batches([encode(tokenizer, d, config.data.max_length) for d in val_set.records],
                           config.run.micro_batch_size, tokenizer.pad_token_id)
    module = CompletionLoss(lm)
    result = fit(
        module, examples, [len(e.input_ids) for e in examples],
        lambda chunk: collate(chunk, tokenizer.pad_token_id), loss_fn, config.run, config.optim, identity.run_dir,
        validate=(lambda m: validation_loss(m, val_batches)) if val_batches else None, desc="sft",
    )

    final = merged(lm, lambda: load_causal_lm(config.model.name, "float32")).eval()
    metrics = {"train_loss": result.train_loss, "steps": result.steps, "tokens_per_s": result.tokens_per_s,
               **{k.removeprefix("val/"): v for k, v in result.metrics.items()}}
    card = Card(name=identity.name, stage=STAGE, parent=config.model.name, base_model=config.model.name,
                config=to_dict(config), data_fingerprint=fingerprint(train_set.records), metrics=metrics,
                wall_time_s=round(time.perf_counter() - started + result.earlier_s, 1))

    def save(folder: Path) -> None:
        final.save_pretrained(folder)
        tokenizer.save_pretrained(folder)

    checkpoint = write_checkpoint(registry, card, save)
    print(f"wrote {checkpoint.path} (validation loss {metrics.get('loss', float('nan')):.4f})")
    return checkpoint


def _batches(examples: list[Example], size: int, pad_id: int) -> list[dict]:
    ordered = sorted(examples, key=lambda e: len(e.input_ids))
    return [collate(ordered[i:i + size], pad_id) for i in range(0, len(ordered), size)]
