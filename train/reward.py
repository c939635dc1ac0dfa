"""Stage 2 of the recipe: the reward model (Ouyang et al. 2022, sec. 3.5, eq. 1).

One example is one prompt with its K ranked answers. A batch flattens its prompts' answers to
B·K sequences for one forward pass of the LM backbone + scalar head (``RewardModel``, read at the
answer's last token) and reshapes the rewards to [B, K]; prompts with fewer answers are padded
with a ``valid`` mask. The loss of a prompt is the K-wise loss over all C(K, 2) pairs divided by
C(K, 2) (``train.rl_math.kwise_ranking_loss``), so every prompt counts once however many answers
it has; ``weight`` = prompts, and the loop divides the summed loss by the prompts in a step.

After one epoch (the paper's default) a bias is set so the demonstrations (the training split of
the embedded instruction set, or the comparisons' best answers when those are not available) get a
mean reward of 0; it is stored in the checkpoint (``reward.json``) and its card, and
``RewardModel.score`` subtracts it. Held-out pairwise accuracy is logged with a binomial 95 % CI.

    instructrl data compare --model sft --k 4 --out comparisons.jsonl
    instructrl train rm --preset cpu --data comparisons.jsonl
    instructrl train rm --preset cpu --data votes.jsonl        # human votes from the arena
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import torch

from instructrl.chat import format_answer, format_prompt
from instructrl.checkpoints import STAGES, Card, Checkpoint, Registry
from instructrl.config import DataConfig, ModelConfig, OptimConfig, RunConfig, to_dict
from instructrl.data.loaders import Loaded, fingerprint, load_records
from instructrl.data.schemas import Comparison, Demonstration
from instructrl.errors import DataError, InstructrlError, ModelError
from instructrl.models.reward import RewardModel
from train.loop import fit, pad_right
from train.rl_math import kwise_ranking_loss, ranking_accuracy
from train.runs import announce, finished_run, run_identity, start_run, write_checkpoint
from train.tuning import count_parameters, merged, prepare_for_training

STAGE = "rm"
DEFAULT_COMPARISONS = "comparisons.jsonl"  # what `instructrl data compare` writes by default


@dataclass
class RMModelConfig(ModelConfig):
    name: str = "sft"  # the paper starts the RM from the SFT model


@dataclass
class RMDataConfig(DataConfig):
    train: str = DEFAULT_COMPARISONS  # any Comparison source: compare output, votes export, hh-rlhf file, hub name
    max_length: int = 512


@dataclass
class RMOptions:
    demonstrations: str | None = "builtin"  # whose mean reward becomes 0; null: the comparisons' best answers
    bias_limit: int = 256  # demonstrations scored for the bias
    val_limit: int | None = 256  # held-out comparisons evaluated (null: all)

    def __post_init__(self) -> None:
        if self.bias_limit < 1 or (self.val_limit is not None and self.val_limit < 1):
            from instructrl.errors import ConfigError

            raise ConfigError("rm.bias_limit and rm.val_limit must be positive", "set them to 1 or more (val_limit may be null)")


@dataclass
class RMConfig:
    model: RMModelConfig = field(default_factory=RMModelConfig)
    data: RMDataConfig = field(default_factory=RMDataConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    run: RunConfig = field(default_factory=RunConfig)
    rm: RMOptions = field(default_factory=RMOptions)


CONFIG = RMConfig
SHORTCUTS = {"model": "model.name", "data": "data.train", "validation": "data.validation", "output": "run.output",
             "max_steps": "run.max_steps", "epochs": "run.epochs", "lr": "optim.lr", "lora_r": "model.lora.r",
             "demonstrations": "rm.demonstrations"}


# ---- data ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Example:
    """One prompt's K answers as token ids (chat-formatted prompt + answer + end token) and their ranks."""

    answers: tuple[tuple[int, ...], ...]
    ranking: tuple[int, ...]


def encode(tokenizer, comparison: Comparison, max_length: int) -> Example:
    """Tokenised exactly as ``RewardModel.encode`` does: over-long sequences lose their start, since
    the head reads the final token and the answer's end matters most."""
    prefix = format_prompt(tokenizer, comparison.prompt)
    texts = [prefix + format_answer(tokenizer, c) for c in comparison.completions]
    ids = tokenizer(texts, add_special_tokens=False)["input_ids"]
    return Example(tuple(tuple(x[-max_length:]) for x in ids), comparison.ranking)


def collate(examples: list[Example], pad_id: int) -> dict[str, torch.Tensor | float]:
    """B prompts -> the valid answers flattened row-major to N ≤ B·K right-padded sequences, plus
    ``ranks`` / ``valid`` [B, K] (K = most answers in the batch) and ``weight`` = B prompts."""
    k = max(len(e.ranking) for e in examples)
    sequences = [s for e in examples for s in e.answers]
    ids, mask = pad_right(sequences, pad_id)
    ranks = torch.zeros((len(examples), k), dtype=torch.long)
    valid = torch.zeros((len(examples), k), dtype=torch.bool)
    for row, e in enumerate(examples):
        ranks[row, :len(e.ranking)] = torch.tensor(e.ranking)
        valid[row, :len(e.ranking)] = True
    return {"input_ids": ids, "attention_mask": mask, "ranks": ranks, "valid": valid, "weight": float(len(examples))}


def batch_rewards(model: torch.nn.Module, batch: dict) -> torch.Tensor:
    """Rewards [B, K] (0 where ``valid`` is False) from one forward pass over the flattened answers."""
    flat = model(batch["input_ids"], batch["attention_mask"])
    return flat.new_zeros(batch["valid"].shape).masked_scatter(batch["valid"], flat)


# ---- loss and evaluation ------------------------------------------------------------------------


def loss_fn(model: torch.nn.Module, batch: dict) -> tuple[torch.Tensor, dict[str, float]]:
    """Sum over the batch's prompts of the per-prompt K-wise loss (paper eq. 1, / C(K, 2) per prompt)."""
    rewards = batch_rewards(model, batch)
    losses = kwise_ranking_loss(rewards, batch["ranks"], batch["valid"])
    correct, pairs = ranking_accuracy(rewards.detach(), batch["ranks"], batch["valid"])
    return losses.sum(), {"pairs": float(pairs), "pairs_correct": float(correct)}


def accuracy_stats(correct: int, pairs: int) -> dict[str, float]:
    """Pairwise accuracy, its exact (Clopper-Pearson) binomial 95 % CI and the one-sided p-value of
    "no better than chance" (50 %). Pairs of one prompt are not independent, so the CI is a guide."""
    from scipy.stats import binomtest

    if pairs == 0:
        return {"accuracy": float("nan"), "accuracy_ci_low": float("nan"), "accuracy_ci_high": float("nan"),
                "p_value": float("nan"), "pairs": 0.0}
    test = binomtest(correct, pairs, 0.5, alternative="greater")
    ci = binomtest(correct, pairs).proportion_ci(confidence_level=0.95)
    return {"accuracy": correct / pairs, "accuracy_ci_low": float(ci.low), "accuracy_ci_high": float(ci.high),
            "p_value": float(test.pvalue), "pairs": float(pairs)}


@torch.no_grad()
def evaluate(model: torch.nn.Module, batches: list[dict]) -> dict[str, float]:
    """Held-out pairwise accuracy (with CI and p-value) and mean per-prompt K-wise loss."""
    correct = pairs = 0
    loss_sum, prompts = 0.0, 0.0
    for batch in batches:
        rewards = batch_rewards(model, batch)
        loss_sum += float(kwise_ranking_loss(rewards, batch["ranks"], batch["valid"]).sum())
        prompts += batch["weight"]
        c, p = ranking_accuracy(rewards, batch["ranks"], batch["valid"])
        correct, pairs = correct + c, pairs + p
    return {**accuracy_stats(correct, pairs), "loss": loss_sum / max(prompts, 1.0)}


def eval_batches(examples: list[Example], size: int, pad_id: int) -> list[dict]:
    ordered = sorted(examples, key=lambda e: max(len(a) for a in e.answers))
    return [collate(ordered[i:i + size], pad_id) for i in range(0, len(ordered), size)]


# ---- the bias (paper sec. 3.5: demonstrations score 0 on average) ---------------------------------


def bias_targets(config: RMConfig, comparisons: list[Comparison]) -> tuple[list, list[str], str]:
    """(prompts, answers, description) whose mean reward is set to 0: the demonstrations' training
    split, or the comparisons' best answers when no demonstrations are available."""
    limit = config.rm.bias_limit
    if config.rm.demonstrations:
        try:
            demos = load_records(config.rm.demonstrations, Demonstration, split="train", limit=limit).records
            if demos:
                return [d.prompt for d in demos], [d.completion for d in demos], \
                    f"{len(demos)} demonstrations from {config.rm.demonstrations}"
        except InstructrlError as err:
            print(f"[{STAGE}] demonstrations unavailable ({err.problem}); using the comparisons' best answers")
    best = [(c.prompt, c.completions[c.ranking.index(min(c.ranking))]) for c in comparisons[:limit]]
    return [p for p, _ in best], [a for _, a in best], f"the best answers of {len(best)} comparisons"


# ---- the stage ----------------------------------------------------------------------------------


def load_comparisons(source: str, split: str | None, limit: int | None = None) -> Loaded:
    """Comparisons with malformed rows dropped and counted (never silently): the counts are printed."""
    if source == DEFAULT_COMPARISONS and not Path(source).exists():
        raise DataError(source, None, None, "does not exist (the default comparisons file)",
                        "make it with `instructrl data compare --model sft --out comparisons.jsonl`, or pass "
                        "--data FILE (a votes export, an hh-rlhf file, any comparisons file or hub name)")
    loaded = load_records(source, Comparison, split=split, limit=limit, skip_bad_rows=True)
    if loaded.rejected:
        print(f"[{STAGE}] {source}: dropped {len(loaded.rejected)} malformed rows, kept {len(loaded.records)}")
        for err in loaded.rejected[:3]:
            print(f"[{STAGE}]   dropped: {err}")
    return loaded


def check_model(spec: str, registry: Registry) -> str:
    """The starting model; a stage alias with no checkpoint fails with what to do instead."""
    if spec in STAGES and spec != "base" and registry.find(spec) is None:
        raise ModelError(f"no {spec} checkpoint in the registry at {registry.root} to start the reward model from",
                         f"train one first (`instructrl train {spec} --preset cpu`) or start from a base model, "
                         "e.g. `instructrl train rm --model smollm2-135m`")
    return registry.resolve(spec)


def run(config: RMConfig, registry: Registry | None = None) -> Checkpoint:
    """Train, validate, normalise and write the reward checkpoint; an interrupted run resumes."""
    registry = registry or Registry()
    started = start_run(config.run)

    parent = check_model(config.model.name, registry)
    train_set = load_comparisons(config.data.train, "train", config.data.limit)
    val_set = load_comparisons(config.data.validation or config.data.train,
                               None if config.data.validation else "validation", config.rm.val_limit)
    if not train_set.records:
        raise DataError(config.data.train, None, None, "holds no usable training comparisons",
                        "check the file (see the dropped-row reasons above) or use more data")
    data_fp = fingerprint(train_set.records)
    identity = run_identity(STAGE, config, f"{data_fp}:{parent}")  # a new SFT checkpoint gives a new run
    if (done := finished_run(registry, identity)) is not None:
        return done

    reward = RewardModel.load(parent if config.model.name in STAGES else config.model.name, config.model.dtype, registry)
    reward.max_length = config.data.max_length
    tuned = prepare_for_training(reward.model, config.model)  # LoRA layers go into reward.model in place
    head = reward.model.score
    head.weight.requires_grad_(True)  # the scalar head is new: it always trains, even with LoRA
    if getattr(head, "bias", None) is not None:
        head.bias.requires_grad_(True)
    trainable, total = count_parameters(reward)
    tokenizer = reward.tokenizer
    announce(STAGE, identity, [train_set.summary(), f"held out: {val_set.summary()}",
                               f"model {config.model.name}: {trainable / 1e6:.1f}M of {total / 1e6:.1f}M parameters trained"])

    examples = [encode(tokenizer, c, config.data.max_length) for c in train_set.records]
    val_batches = eval_batches([encode(tokenizer, c, config.data.max_length) for c in val_set.records],
                               config.run.micro_batch_size, tokenizer.pad_token_id)
    result = fit(
        reward, examples, [max(len(a) for a in e.answers) for e in examples],
        lambda chunk: collate(chunk, tokenizer.pad_token_id), loss_fn, config.run, config.optim, identity.run_dir,
        validate=(lambda m: evaluate(m, val_batches)) if val_batches else None, desc="rm",
    )

    reward.model = merged(tuned).eval()
    reward.eval()
    prompts, answers, bias_source = bias_targets(config, train_set.records)
    reward.bias = 0.0
    reward.bias = sum(reward.score(prompts, answers, batch_size=config.run.micro_batch_size)) / len(answers)
    metrics = {"train_loss": result.train_loss, "steps": result.steps, "tokens_per_s": result.tokens_per_s,
               "bias": reward.bias, "bias_source": bias_source,
               **{k.removeprefix("val/"): v for k, v in result.metrics.items()}}
    card = Card(name=identity.name, stage=STAGE, kind="reward", parent=parent, base_model=config.model.name,
                config=to_dict(config), data_fingerprint=data_fp, metrics=metrics,
                wall_time_s=round(time.perf_counter() - started + result.earlier_s, 1))
    checkpoint = write_checkpoint(registry, card, reward.save)
    if "accuracy" in metrics:
        print(f"[{STAGE}] held-out pairwise accuracy {metrics['accuracy']:.3f} "
              f"(95 % CI {metrics['accuracy_ci_low']:.3f}-{metrics['accuracy_ci_high']:.3f}, "
              f"{int(metrics['pairs'])} pairs, p = {metrics['p_value']:.2g} vs chance)")
    print(f"wrote {checkpoint.path} (bias {reward.bias:+.4f} from {bias_source})")
    return checkpoint
