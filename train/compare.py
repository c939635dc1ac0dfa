"""``instructrl data compare``: sample K answers per prompt from a checkpoint and have a labeler rank
them — the comparison data of the paper's reward model (Ouyang et al. 2022, sec. 3.4-3.5: K = 4-9).

Answers are sampled at temperature 1 in batches; identical answers (after trimming whitespace) are
kept once, so a row may end with fewer than K. A prompt left with fewer than 2 distinct answers, or
whose answers the labeler ranks all equal (or cannot parse), is skipped and counted; the counts are
printed, never dropped silently. ``--noise`` (default 0.25) flips the labeler's pairwise decisions
AlpacaFarm-style for training data; use ``--noise 0`` for clean evaluation labels.

The prompts are worked through in chunks of ``CHUNK``, each sampled with its own seed (``--seed`` +
chunk number), with a progress bar. Finished chunks go to ``OUT.partial`` and the position to
``OUT.progress.json``, so a killed run started again with the same flags carries on where it stopped
and writes the same file; ``OUT`` appears only when every prompt is done.

    instructrl data compare --model sft --prompts builtin --k 4 --labeler gold --noise 0.25 --out comparisons.jsonl

``--generation-url URL`` samples from ``--model`` as served behind an OpenAI-compatible API (chat
completions, one request per answer, each with its own seed) instead of loading it in this process.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from instructrl.data.schemas import Comparison, EvalItem, Where
from instructrl.errors import ConfigError, DataError, InstructrlError
from instructrl.models.loading import DTYPES

CHUNK = 32  # prompts sampled, labelled and saved together: what a killed run loses at most


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
    parser.add_argument("--generation-url", default=None, metavar="URL",
                        help="sample from the model --model served behind this OpenAI-compatible API root (vLLM, "
                             "`instructrl serve`), e.g. http://gpu:8000/v1, instead of loading it here")
    parser.add_argument("--out", default="comparisons.jsonl", help="comparisons JSONL to write (default comparisons.jsonl)")
    parser.set_defaults(func=_compare)


def _compare(args) -> int:
    from evals.models import RemoteModel
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
    out = Path(args.out)
    job = Progress.open(out, settings(args, len(items)))
    policy = RemoteModel(args.model, args.generation_url) if args.generation_url else Policy.load(args.model, dtype=args.dtype)
    print(f"sampling {args.k} answers for each of {len(items)} prompts from {args.model} at temperature 1"
          + (f" (resuming: {job.done} done)" if job.done else ""))
    counts = run_chunks(job, items, policy, labeler, args)
    job.finish()
    for key, value in sorted(counts.items()):
        print(f"  {key}: {value}")
    judge = getattr(labeler, "inner", labeler)
    if getattr(judge, "stats", None):
        print(f"  judge calls {judge.stats['calls']}, parse failures {judge.stats['parse_failures']}")
    print(f"wrote {counts['kept']} comparisons labelled by {labeler.name} to {out}")
    return 0


def settings(args, prompts: int) -> dict:
    """What fixes the output file: a resumed run must be started with the same (and ``sft`` must still
    name the same checkpoint)."""
    from instructrl.checkpoints import Registry

    keys = ("model", "prompts", "split", "k", "labeler", "noise", "limit", "max_new_tokens", "seed", "dtype",
            "generation_url")
    return {**{key: getattr(args, key) for key in keys}, "prompt_count": prompts, "chunk": CHUNK,
            "checkpoint": Registry().resolve(args.model)}


def run_chunks(job: Progress, items: Sequence[EvalItem], policy, labeler, args) -> Counter:
    """Sample and label the prompts from ``job.done`` on, chunk by chunk, saving each; returns all counts."""
    from tqdm.auto import tqdm

    counts = Counter(job.counts)
    with tqdm(total=len(items), initial=job.done, desc="compare", unit="prompt", dynamic_ncols=True) as bar:
        for start in range(job.done, len(items), CHUNK):
            chunk = items[start:start + CHUNK]
            answers = sample(policy, chunk, args.k, args.max_new_tokens, args.seed + start // CHUNK, args.batch_size)
            rows, chunk_counts = label(chunk, answers, labeler, source=f"sampled:{args.model}")
            counts.update(chunk_counts)
            job.save(rows, start + len(chunk), counts)
            bar.update(len(chunk))
    return counts


@dataclass
class Progress:
    """A comparison file being written: finished rows in ``OUT.partial``, and in ``OUT.progress.json``
    the settings, the prompts done, the counts so far and the partial file's size at that point (rows
    past it, from a chunk cut short, are dropped on resume)."""

    out: Path
    settings: dict
    done: int = 0
    counts: dict | None = None

    @property
    def partial(self) -> Path:
        return self.out.with_name(self.out.name + ".partial")

    @property
    def marker(self) -> Path:
        return self.out.with_name(self.out.name + ".progress.json")

    @classmethod
    def open(cls, out: Path, settings: dict) -> Progress:
        """A fresh job, or the unfinished one at ``out`` if it was started with the same settings."""
        job = cls(out, settings)
        if not job.marker.exists():
            out.parent.mkdir(parents=True, exist_ok=True)
            job.save([], 0, Counter(), truncate=True)
            return job
        try:
            saved = json.loads(job.marker.read_text())
            size = saved["bytes"]
        except (OSError, ValueError, KeyError) as error:
            raise DataError(f"{job.marker} is unreadable ({error})",
                            f"delete {job.marker} and {job.partial} to start over") from error
        if saved["settings"] != settings:
            changed = sorted(k for k in settings if saved["settings"].get(k) != settings[k])
            raise ConfigError(f"{out} is half written by a run with other settings ({', '.join(changed)} differ)",
                              f"rerun with the same flags to finish it, or delete {job.marker} and {job.partial} "
                              "to start over")
        if not job.partial.exists() or job.partial.stat().st_size < size:
            raise DataError(f"{job.partial} is missing or shorter than {job.marker} records",
                            f"delete {job.marker} to start over")
        with job.partial.open("r+b") as handle:
            handle.truncate(size)
        job.done, job.counts = saved["done"], saved["counts"]
        return job

    def save(self, rows: Sequence[Comparison], done: int, counts: Counter, truncate: bool = False) -> None:
        """Append ``rows``, then record the new position (the rows are on disk before the marker says so)."""
        with self.partial.open("w" if truncate else "a", encoding="utf-8") as handle:
            handle.write("".join(json.dumps(r.to_row(), ensure_ascii=False) + "\n" for r in rows))
            handle.flush()
            os.fsync(handle.fileno())
        self.done, self.counts = done, dict(counts)
        state = {"settings": self.settings, "done": done, "counts": self.counts, "bytes": self.partial.stat().st_size}
        tmp = self.marker.with_suffix(".tmp")
        tmp.write_text(json.dumps(state))
        tmp.replace(self.marker)

    def finish(self) -> None:
        self.partial.replace(self.out)
        self.marker.unlink()
