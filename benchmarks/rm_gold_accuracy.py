"""Reward model trained on noisy simulated-labeler comparisons, judged against clean gold labels.

Prompts: the embedded instruction set (training split for training, validation split held out).
Answers per prompt (K = 4): the demonstration and three degraded variants picked at random from
truncated mid-sentence, a repetition loop, another prompt's answer (off topic), a refusal, list or
JSON structure flattened into prose, and padded with filler (optionally also --samples answers
sampled from a policy). The gold labeler ranks them (its real scores, ties kept as ties). Training
labels get AlpacaFarm-style noise (each pairwise decision flipped with probability 0.25); the
held-out labels stay clean. The reward model is trained with the rm stage itself
(``train.reward.run``) and its held-out pairwise accuracy against the clean labels is the result
(goal ≥ 0.70). The peer figure is the agreement of noisy labels with the clean ones on the same
held-out pairs: an RM can beat the labels it learned from, since the noise averages out.

    python benchmarks/rm_gold_accuracy.py --quick
    python benchmarks/rm_gold_accuracy.py
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
REFUSAL = "I'm sorry, but I can't help with that request."
FILLER = ("I hope this helps, and there is a lot more that could be said about all of this. Let me know if you "
          "would like more details on any part of it, or if there is anything else I can do for you today.")


# ---- degraded answers -----------------------------------------------------------------------------


def truncated(text: str, rng: random.Random) -> str:
    words = text.split(" ")
    keep = max(3, int(len(words) * rng.uniform(0.35, 0.7)))
    return " ".join(words[:keep]).rstrip(".!?,;:\"')]}\n ")


def looped(text: str, rng: random.Random) -> str:
    first = re.split(r"(?<=[.!?])\s|\n", text.strip())[0].strip() or text.strip()
    return " ".join([first] * rng.randint(3, 5))


def flattened(text: str, rng: random.Random) -> str:
    lines = [re.sub(r"^\s*(?:[-*•]|\d{1,3}[.)])\s+", "", line).strip(" {}[]\",") for line in text.splitlines()]
    return "; ".join(line for line in lines if line) + "."


def padded(text: str, rng: random.Random) -> str:
    return f"{text.strip()} {FILLER}"


def candidates(reference: str, other: str, rng: random.Random, k: int) -> list[str]:
    """The reference and k - 1 distinct degraded variants."""
    variants = [truncated(reference, rng), looped(reference, rng), other, REFUSAL, flattened(reference, rng),
                padded(reference, rng)]
    rng.shuffle(variants)
    answers = [reference]
    for variant in variants:
        if variant.strip() and variant.strip() not in {a.strip() for a in answers}:
            answers.append(variant)
        if len(answers) == k:
            break
    rng.shuffle(answers)
    return answers


def build(items, k: int, seed: int, extra: list[list[str]] | None = None) -> list[list[str]]:
    rng = random.Random(seed)
    answers = []
    for index, item in enumerate(items):
        other = items[(index + 1 + rng.randrange(len(items) - 1)) % len(items)].reference
        pool = candidates(item.reference, other, random.Random(f"{seed}:{item.id}"), k)
        answers.append(pool + (extra[index] if extra else []))
    return answers


class Memo:
    """A labeler that remembers its rankings (the gold labeler is deterministic)."""

    def __init__(self, inner):
        self.inner, self.name, self.cache = inner, inner.name, {}

    def rank(self, item, completions):
        key = (item.id, tuple(completions))
        if key not in self.cache:
            self.cache[key] = self.inner.rank(item, completions)
        return self.cache[key]


def pair_agreement(noisy, clean) -> tuple[int, int]:
    """(pairs the noisy ranking orders as the clean one does, ordered clean pairs)."""
    agree = total = 0
    for n, c in zip(noisy, clean):
        for i, j in c.pairs():
            total += 1
            agree += n.ranking[i] < n.ranking[j]
    return agree, total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--model", default="smollm2-135m", help="reward-model backbone (default smollm2-135m)")
    parser.add_argument("--train-prompts", type=int, default=None)
    parser.add_argument("--heldout-prompts", type=int, default=None)
    parser.add_argument("--k", type=int, default=4)
    parser.add_argument("--noise", type=float, default=0.25)
    parser.add_argument("--samples", type=int, default=0, help="answers per prompt sampled from --policy as well")
    parser.add_argument("--policy", default="smollm2-135m")
    parser.add_argument("--max-length", type=int, default=192)
    parser.add_argument("--lr", type=float, default=1e-4)
    parser.add_argument("--epochs", type=float, default=1.0)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--micro-batch-size", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    args.train_prompts = args.train_prompts or (48 if args.quick else 200)
    args.heldout_prompts = args.heldout_prompts or (32 if args.quick else 82)
    sys.path.insert(0, str(REPO))

    import torch

    from instructrl.checkpoints import Registry
    from instructrl.config import resolve
    from instructrl.data.loaders import load_records
    from instructrl.data.schemas import Demonstration, EvalItem
    from instructrl.labelers import get_labeler
    from instructrl.labelers.noise import NoisyLabeler
    from train import reward as rm_stage
    from train.compare import label
    from train.loop import read_metrics

    torch.set_num_threads(args.threads)
    started = time.perf_counter()
    split = {name: [EvalItem.from_demonstration(d) for d in load_records("builtin", Demonstration, split=name).records]
             for name in ("train", "validation")}
    train_items, held_items = split["train"][:args.train_prompts], split["validation"][:args.heldout_prompts]
    extra = {"train": None, "validation": None}
    if args.samples:
        from instructrl.models.policy import Policy
        from train.compare import sample

        policy = Policy.load(args.policy)
        for name, items in (("train", train_items), ("validation", held_items)):
            extra[name] = sample(policy, items, args.samples, 64, args.seed, 16)
    gold = Memo(get_labeler("gold"))  # clean and noisy labels share one gold scoring per prompt
    noisy = NoisyLabeler(gold, flip=args.noise, seed=args.seed)
    train_answers = build(train_items, args.k, args.seed, extra["train"])
    held_answers = build(held_items, args.k, args.seed + 1, extra["validation"])
    train_rows, train_counts = label(train_items, train_answers, noisy, "gold-bench")
    clean_train, _ = label(train_items, train_answers, gold, "gold-bench")
    held_rows, held_counts = label(held_items, held_answers, gold, "gold-bench")
    noisy_held, _ = label(held_items, held_answers, noisy, "gold-bench")
    agree_train = pair_agreement(train_rows, [c for c in clean_train if c.id in {r.id for r in train_rows}])
    clean_by_id = {c.id: c for c in held_rows}
    agree_held = pair_agreement([n for n in noisy_held if n.id in clean_by_id], [clean_by_id[n.id] for n in noisy_held
                                                                                  if n.id in clean_by_id])
    print(f"labelled {len(train_rows)} training prompts with {noisy.name} ({dict(train_counts)}) in "
          f"{time.perf_counter() - started:.0f} s; noisy labels agree with gold on {agree_train[0]}/{agree_train[1]} pairs")
    print(f"held out: {len(held_rows)} validation prompts labelled by gold ({dict(held_counts)})")

    with tempfile.TemporaryDirectory(prefix="rm-gold-") as tmp:
        train_file, held_file = Path(tmp) / "train.jsonl", Path(tmp) / "heldout.jsonl"
        train_file.write_text("".join(json.dumps(r.to_row()) + "\n" for r in train_rows))
        held_file.write_text("".join(json.dumps(r.to_row()) + "\n" for r in held_rows))
        config = resolve(rm_stage.CONFIG, "rm", None, [
            f"model.name={args.model}", "model.freeze_embeddings=true", f"data.train={train_file}",
            f"data.validation={held_file}", f"data.max_length={args.max_length}", f"optim.lr={args.lr}",
            "optim.warmup_steps=2", f"run.epochs={args.epochs}", f"run.batch_size={args.batch_size}",
            f"run.micro_batch_size={args.micro_batch_size}", "run.eval_every=100000", "run.save_every=100000",
            f"run.seed={args.seed}", f"run.run_dir={Path(tmp) / 'run'}", "run.output=rm-gold-bench",
            "rm.demonstrations=builtin", "rm.bias_limit=32", "rm.val_limit=null",
        ])
        checkpoint = rm_stage.run(config, Registry(Path(tmp) / "checkpoints"))
        logged = [row for row in read_metrics(Path(tmp) / "run") if "val/accuracy" in row]
    before = logged[0]["val/accuracy"] if logged and logged[0]["step"] == 0 else float("nan")
    metrics = checkpoint.card.metrics
    accuracy, peer = metrics["accuracy"], agree_held[0] / max(agree_held[1], 1)
    print(f"reward model ({args.model}, {metrics['steps']} steps): held-out accuracy vs clean gold labels "
          f"{accuracy:.3f} (95 % CI {metrics['accuracy_ci_low']:.3f}-{metrics['accuracy_ci_high']:.3f}, "
          f"{int(metrics['pairs'])} pairs, p = {metrics['p_value']:.3g}); goal 0.70: {'met' if accuracy >= 0.7 else 'NOT met'}")
    print(f"before training (fresh head): {before:.3f}")
    print(f"noisy labeler's own agreement with gold on the same pairs: {peer:.3f}")
    print(json.dumps({
        "bench": "rm_gold_accuracy", "ours": round(accuracy, 4), "peer": round(peer, 4),
        "ratio": round(accuracy / peer, 4) if peer else None, "unit": "held-out pairwise accuracy vs clean gold labels",
        "higher_is_better": True, "goal": 0.70, "met": accuracy >= 0.70,
        "accuracy_ci95": [round(metrics["accuracy_ci_low"], 4), round(metrics["accuracy_ci_high"], 4)],
        "p_value": metrics["p_value"], "heldout_pairs": int(metrics["pairs"]), "accuracy_before_training": round(before, 4), "train_prompts": len(train_rows),
        "noise": args.noise, "k": args.k, "model": args.model, "steps": metrics["steps"],
        "train_tokens_per_s": round(metrics["tokens_per_s"], 1), "seconds": round(time.perf_counter() - started, 1),
        "quick": args.quick,
    }))


if __name__ == "__main__":
    main()
