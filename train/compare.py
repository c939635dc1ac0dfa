"""``instructrl data compare``: sample K answers per prompt from a checkpoint and have a labeler rank
them — the comparison data of the paper's reward model (Ouyang et al. 2022, sec. 3.4-3.5: K = 4-9).

Answers are sampled at temperature 1 in batches; identical answers (after trimming whitespace) are
kept once, so a row may end with fewer than K. A prompt left with fewer than 2 distinct answers, or
whose answers the labeler ranks all equal (or cannot parse), is skipped and counted; the counts are
printed, never dropped silently. ``--noise`` (default 0.25) flips the labeler's pairwise decisions
AlpacaFarm-style for training data; use ``--noise 0`` for clean evaluation labels.

    instructrl data compare --model sft --prompts builtin --k 4 --labeler gold --noise 0.25 --out comparisons.jsonl
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from instructrl.data.schemas import Comparison, EvalItem, Where
from instructrl.errors import ConfigError, DataError, InstructrlError
from instructrl.models.loading import DTYPES


def load_items(source: str, split: str | None, limit: int | None) -> list[EvalItem]:
    """Prompts with what the labeler needs (reference answer, constraints): demonstrations or eval items."""
    from instructrl.data.loaders import load_records
    from instructrl.data.schemas import Demonstration

    try:
        demos = load_records(source, Demonstration, split=split, limit=limit).records
        return [EvalItem.from_demonstration(d) for d in demos]
    except DataError:
        return load_records(source, EvalItem, split=split, limit=limit).records


def distinct(answers: Sequence[str]) -> list[str]:
    """Answers in order with repeats (equal after trimming whitespace) removed."""
    seen: set[str] = set()
    kept = []
    for answer in answers:
        key = answer.strip()
        if key not in seen:
            seen.add(key)
            kept.append(answer)
    return kept


def label(items: Sequence[EvalItem], answers: Sequence[Sequence[str]], labeler, source: str) -> tuple[list[Comparison], Counter]:
    """Rank each item's distinct answers; returns the comparisons and counts of kept / skipped prompts."""
    counts: Counter = Counter()
    rows = []
    for item, raw in zip(items, answers):
        unique = distinct(raw)
        if len(unique) < 2:
            counts["skipped: fewer than 2 distinct answers"] += 1
            continue
        ranking = labeler.rank(item, unique)
        if len(set(ranking)) < 2:
            counts["skipped: labeler ranked every answer equal"] += 1
            continue
        rows.append(Comparison.from_row({"prompt": item.prompt, "completions": unique, "ranking": ranking,
                                         "source": source, "labeler": labeler.name, "id": item.id},
                                        Where(source)))
        counts["kept"] += 1
        counts[f"kept with {len(unique)} answers"] += 1
    return rows, counts


def sample(policy, items: Sequence[EvalItem], k: int, max_new_tokens: int, seed: int, batch_size: int) -> list[list[str]]:
    """K answers per item at temperature 1 (the paper's sampling), all in one batched call."""
    from instructrl.models.policy import SamplingParams

    prompts = [item.prompt for item in items for _ in range(k)]
    params = SamplingParams(max_new_tokens=max_new_tokens, temperature=1.0, seed=seed)
    texts = [g.text for g in policy.generate(prompts, params, batch_size=batch_size)]
    return [texts[i * k:(i + 1) * k] for i in range(len(items))]


def add_commands(sub) -> None:
    parser = sub.add_parser(
        "compare", help="sample K answers per prompt from a checkpoint and rank them with a labeler",
        description=__doc__.split("\n\n")[0].replace("``", ""),
    )
    parser.add_argument("--model", default="sft", help="policy to sample from: sft (default), a checkpoint, smollm2-135m, ...")
    parser.add_argument("--prompts", default="builtin", help="prompt source (default: the embedded instruction set)")
    parser.add_argument("--split", default="train", choices=["train", "validation", "test", "all"],
                        help="which split of the prompts (default: train)")
    parser.add_argument("--k", type=int, default=4, help="answers sampled per prompt, 4-9 in the paper (default 4)")
    parser.add_argument("--labeler", default="gold", help="gold (default), noisy, or llm:MODEL@URL")
    parser.add_argument("--noise", type=float, default=0.25,
                        help="probability of flipping each pairwise decision (training labels; default 0.25, 0 = clean)")
    parser.add_argument("--limit", type=int, default=None, help="use only the first N prompts")
    parser.add_argument("--max-new-tokens", type=int, default=128)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--dtype", default="auto", choices=DTYPES,
                        help="weights to sample with: auto (default; bfloat16 where the hardware multiplies it natively), "
                             "float32, bfloat16 or float16")
    parser.add_argument("--out", default="comparisons.jsonl", help="comparisons JSONL to write (default comparisons.jsonl)")
    parser.set_defaults(func=_compare)


def _compare(args) -> int:
    from instructrl.labelers import get_labeler
    from instructrl.models.policy import Policy

    if not 2 <= args.k <= 16:
        raise ConfigError(f"--k {args.k} is out of range", "sample 2 to 16 answers per prompt (the paper used 4-9)")
    labeler = get_labeler(args.labeler)
    if args.noise > 0:
        labeler = get_labeler(f"noisy:{args.labeler}", flip=args.noise, seed=args.seed)
    items = load_items(args.prompts, None if args.split == "all" else args.split, args.limit)
    if not items:
        raise InstructrlError(f"no prompts in {args.prompts} (split {args.split})", "check --prompts and --split")
    policy = Policy.load(args.model, dtype=args.dtype)
    print(f"sampling {args.k} answers for each of {len(items)} prompts from {args.model} at temperature 1")
    answers = sample(policy, items, args.k, args.max_new_tokens, args.seed, args.batch_size)
    rows, counts = label(items, answers, labeler, source=f"sampled:{args.model}")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("".join(json.dumps(r.to_row(), ensure_ascii=False) + "\n" for r in rows))
    for key, value in sorted(counts.items()):
        print(f"  {key}: {value}")
    judge = getattr(labeler, "inner", labeler)
    if getattr(judge, "stats", None):
        print(f"  judge calls {judge.stats['calls']}, parse failures {judge.stats['parse_failures']}")
    print(f"wrote {len(rows)} comparisons labelled by {labeler.name} to {out}")
    return 0
