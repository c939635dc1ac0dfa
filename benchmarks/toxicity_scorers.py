"""The toxicity scorers against human and Perspective API labels, and their speed on one CPU core.

    python benchmarks/toxicity_scorers.py <data>/toxicity

For each scorer that loads (minilm-head, profanity-check; detoxify only when its checkpoint loads),
one JSON line: AUC and Spearman's rho against Perspective's toxicity on the held-out RealToxicityPrompts
texts (the same texts for every scorer; toxic = Perspective >= 0.5 for the AUC), AUC on the held-out
parts of Civil Comments, ConvAbuse and Surge AI and on the Wikipedia test set (toxic = a majority of
raters), HateCheck accuracy (toxic = score >= 0.5) overall and for its 5 weakest functionalities, and
texts/s (per wall-clock and per CPU second) of the scorer's own ``score()`` on one core (``torch.set_num_threads(1)``) over RTP prompts with
their continuations of 20-40 tokens. For minilm-head also the share of texts whose float32 pass was
redone in float64 and whether every held-out RTP score equals the float64 one rounded. Then ratio
lines, minilm-head over profanity-check. The held-out split is the one the head was trained without
(``evals.toxicity_data``).
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

SCORERS = ("minilm-head", "profanity-check", "detoxify")
SPEED_TEXTS = 400


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def speed_texts(tables) -> list[str]:
    """Held-out RTP prompts with their continuations, 20-40 encoder tokens each (a typical scored answer)."""
    from instructrl.models.encoder import sentence_encoder

    tokenizer = sentence_encoder("float32").tokenizer
    by_prompt: dict[str, list[str]] = {}
    for row in tables["rtp"].part("held_out"):
        by_prompt.setdefault(row.key, []).append(row.text)
    out = []
    for key, parts in sorted(by_prompt.items()):
        text = " ".join(parts) if len(parts) == 2 else key
        if 20 <= len(tokenizer(text)["input_ids"]) <= 40:
            out.append(text)
    return out[:SPEED_TEXTS]


def texts_per_second(scorer, texts: list[str], repeats: int = 3) -> tuple[float, float]:
    """Texts per wall-clock second and per CPU second of this process, each the best of ``repeats``
    timed ``score(texts)`` calls, after one untimed call that loads what the scorer loads lazily
    (minilm-head's float64 encoder, on its first text near a rounding boundary). On a machine shared
    with other work the CPU-second figure is the one core's own speed; alone, the two agree."""
    scorer.score(texts)
    wall = cpu = float("inf")
    for _ in range(repeats):
        start, start_cpu = time.perf_counter(), time.process_time()
        scorer.score(texts)
        wall, cpu = min(wall, time.perf_counter() - start), min(cpu, time.process_time() - start_cpu)
    return len(texts) / wall, len(texts) / cpu


def encoder_speed(texts: list[str], precision: str, repeats: int = 3) -> float:
    from instructrl.models.encoder import embed

    embed(texts[:16], batch_size=16, precision=precision, by_tokens=True)
    best = float("inf")
    for _ in range(repeats):
        start = time.process_time()
        embed(texts, batch_size=16, precision=precision, by_tokens=True)
        best = min(best, time.process_time() - start)
    return len(texts) / best


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", type=Path, help="the toxicity data folder (<data>/toxicity)")
    parser.add_argument("--scorers", default=",".join(SCORERS), help="comma-separated (default: %(default)s)")
    parser.add_argument("--speed-only", action="store_true", help="only the texts/s figures")
    args = parser.parse_args(argv)

    import numpy as np
    import torch

    from evals.toxicity import get_scorer
    from evals.toxicity_data import evaluation_rows, figures, read_all
    from instructrl.errors import InstructrlError

    torch.set_num_threads(1)
    try:
        tables = read_all(args.data)
    except InstructrlError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    evaluated = sorted({r.text for rows in evaluation_rows(tables).values() for r in rows})
    timing = speed_texts(tables)
    cpu = cpu_name()
    results = {}
    for name in args.scorers.split(","):
        try:
            scorer = get_scorer(name)
        except InstructrlError as err:
            print(json.dumps({"bench": "toxicity_scorers", "scorer": name, "skipped": str(err).splitlines()[0]}),
                  flush=True)
            continue
        line = {"bench": "toxicity_scorers", "scorer": scorer.name}
        if not args.speed_only:
            scores = dict(zip(evaluated, scorer.score(evaluated)))
            found = figures(tables, scores)
            line.update({"rtp": {k: found["rtp"][k] for k in ("n", "auc", "spearman")},
                         **{f"{s}_auc": found[s]["auc"] for s in ("civil", "convabuse", "surge", "wiki")},
                         "n": {s: found[s]["n"] for s in found},
                         "hatecheck_accuracy": found["hatecheck"]["accuracy"],
                         "hatecheck_weakest": found["hatecheck"]["weakest"]})
        wall, cpu_s = texts_per_second(scorer, timing)
        line["texts_per_s"], line["texts_per_cpu_s"] = round(wall, 1), round(cpu_s, 1)
        line["speed"] = {"threads": torch.get_num_threads(), "texts": len(timing), "cpu": cpu}
        if scorer.name == "minilm-head":
            line["speed"]["float64_share"] = round(scorer.float64_share, 4)
            for precision in ("float32", "float64"):  # the encoder alone, same batching, per CPU second
                line["speed"][f"encoder_{precision}_texts_per_cpu_s"] = round(encoder_speed(timing, precision), 1)
        if scorer.name == "minilm-head" and not args.speed_only:
            held = [r.text for r in evaluation_rows(tables)["rtp"]]
            exact = [round(float(p), scorer.decimals) for p in scorer.probabilities(held, "float64")]
            line["rtp_equals_float64_rounded"] = bool(np.array_equal([scores[t] for t in held], exact))
        results[scorer.name] = line
        print(json.dumps(line), flush=True)
    new, old = results.get("minilm-head"), results.get("profanity-check")
    if new and old and not args.speed_only:
        keys = ("civil_auc", "convabuse_auc", "surge_auc", "wiki_auc", "hatecheck_accuracy", "texts_per_s",
                "texts_per_cpu_s")
        ratio = {"rtp_auc": new["rtp"]["auc"] / old["rtp"]["auc"],
                 "rtp_spearman": new["rtp"]["spearman"] / old["rtp"]["spearman"],
                 **{k: new[k] / old[k] for k in keys}}
        print(json.dumps({"bench": "toxicity_scorers", "ratio": "minilm-head / profanity-check",
                          **{k: round(v, 3) for k, v in ratio.items()}}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
