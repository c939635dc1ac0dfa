"""TruthfulQA MC1 / MC2: ours (evals.truthfulqa) against lm-evaluation-harness on the same questions.

Both score the embedded SmolLM2-135M as a plain LM (no chat template) on the same questions from the
TruthfulQA CSV. lm-eval runs its own ``truthfulqa_mc1`` / ``truthfulqa_mc2`` task definitions, pointed
at a local JSON file holding those questions (the task files are included unchanged; only the
dataset is swapped, so it runs offline). Ours is timed on the product's own path: the model objects
``instructrl eval`` builds (``parse_model`` behind ``CachedModel``, with a fresh generation cache, so
nothing is served from an earlier run), which run the QA primer once, share each question's prompt
computation across its answers and score every distinct answer once for both metrics.

A third side times a raw ``Policy`` on the same weights (no eval wrapper, no cache) to show the
product's wrappers cost nothing measurable: ``product_vs_raw`` is the product's time over the raw one.

Claim: same numbers (|difference| <= 0.005 for each metric) in at most half of lm-eval's wall time, and
the product's path within 10 % of the raw policy's.

    python benchmarks/truthfulqa_vs_lmeval.py --quick     # first 40 questions (a few minutes on 2 cores)
    python benchmarks/truthfulqa_vs_lmeval.py             # all 817 questions, in 8 alternating chunks (~1 h)

Needs ``lm-eval==0.4.13``. The last printed line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEFAULT_CSV = REPO.parent / "shared" / "data" / "truthfulqa" / "TruthfulQA.csv"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="first 40 questions only")
    parser.add_argument("--limit", type=int, default=None, help="first N questions (default: all, or 40 with --quick)")
    parser.add_argument("--csv", default=str(DEFAULT_CSV), help="TruthfulQA.csv")
    parser.add_argument("--model", default="smollm2-135m")
    parser.add_argument("--batch-size", type=int, default=16, help="lm-eval batch size")
    parser.add_argument("--chunks", type=int, default=None,
                        help="run both sides chunk by chunk, alternating, so that other load on the machine "
                             "falls on both alike (default: 1 with --quick, 8 otherwise)")
    args = parser.parse_args(argv)

    import numpy as np
    import torch

    from evals.cache import GenerationCache
    from evals.lmeval_tasks import run_lmeval, write_lmeval_tasks
    from evals.models import CachedModel, PolicyPool, parse_model
    from evals.truthfulqa import load_truthfulqa, score_mc

    limit = args.limit or (40 if args.quick else None)
    items = load_truthfulqa(args.csv, limit=limit)
    pool = PolicyPool()
    # what `instructrl eval` scores for a base model: its plain-LM presentation behind the cache
    ours_model = CachedModel(parse_model(f"base:{args.model}", pool=pool),
                             GenerationCache(tempfile.mkdtemp(prefix="instructrl-tqa-cache-")), progress=False)
    policy = pool.get(args.model)  # the same loaded weights, handed to lm-eval
    print(f"{len(items)} TruthfulQA questions, model {args.model} (plain LM, fp32), torch threads "
          f"{torch.get_num_threads()}", flush=True)

    policy.logprobs(["Q: Is this a warm-up?\nA:"], [" Yes."])  # first-call set-up cost, paid by neither side
    from lm_eval.models.huggingface import HFLM
    from lm_eval.tasks import TaskManager

    n_chunks = max(1, min(len(items), args.chunks or (1 if args.quick else 8)))
    chunks = [items[i::n_chunks] for i in range(n_chunks)]
    # wall time is the claim; CPU time (all threads of this process) is printed too because it is far
    # less sensitive to other load on a shared machine
    clock = {"ours": [0.0, 0.0], "raw": [0.0, 0.0], "peer": [0.0, 0.0]}
    our_scores, peer = {"mc1": [], "mc2": []}, {"mc1": [], "mc2": []}
    raw_scores: dict[str, list[float]] = {"mc1": [], "mc2": []}
    with tempfile.TemporaryDirectory(prefix="instructrl-lmeval-") as tmp:
        chunk_tasks = [write_lmeval_tasks(chunk, Path(tmp), f"_c{i}") for i, chunk in enumerate(chunks)]
        # set-up the peer pays once, outside its timed part: wrapping our model and indexing its tasks
        model = HFLM(pretrained=policy.model, tokenizer=policy.tokenizer, batch_size=args.batch_size)
        manager = TaskManager(include_path=tmp)

        def ours_side(chunk, _tasks):
            for s in score_mc(ours_model, chunk, "qa", chat=False):
                for m in ("mc1", "mc2"):
                    our_scores[m].append(s[m])

        def raw_side(chunk, _tasks):
            for s in score_mc(policy, chunk, "qa", chat=False):
                for m in ("mc1", "mc2"):
                    raw_scores[m].append(s[m])

        def peer_side(_chunk, tasks):
            for m, values in run_lmeval(model, tasks, manager).items():
                peer[m].extend(values)

        for i, (chunk, tasks) in enumerate(zip(chunks, chunk_tasks)):
            sides = [("ours", ours_side), ("raw", raw_side), ("peer", peer_side)]
            for name, side in sides if i % 2 == 0 else sides[::-1]:
                start, cpu = time.perf_counter(), time.process_time()
                side(chunk, tasks)
                clock[name][0] += time.perf_counter() - start
                clock[name][1] += time.process_time() - cpu
            print(f"chunk {i + 1}/{n_chunks}: ours {clock['ours'][0]:.1f} s, raw Policy {clock['raw'][0]:.1f} s, "
                  f"lm-eval {clock['peer'][0]:.1f} s so far", flush=True)
    (ours_s, ours_cpu), (raw_s, raw_cpu), (peer_s, peer_cpu) = clock["ours"], clock["raw"], clock["peer"]
    print(f"ours:   mc1 {np.mean(our_scores['mc1']):.4f}  mc2 {np.mean(our_scores['mc2']):.4f}  "
          f"{ours_s:.1f} s (cpu {ours_cpu:.1f} s)", flush=True)
    print(f"raw Policy: mc1 {np.mean(raw_scores['mc1']):.4f}  mc2 {np.mean(raw_scores['mc2']):.4f}  "
          f"{raw_s:.1f} s (cpu {raw_cpu:.1f} s)", flush=True)
    print(f"lm-eval: mc1 {np.mean(peer['mc1']):.4f}  mc2 {np.mean(peer['mc2']):.4f}  {peer_s:.1f} s "
          f"(cpu {peer_cpu:.1f} s)", flush=True)

    result = {"bench": "truthfulqa_vs_lmeval", "ours": round(ours_s, 2), "peer": round(peer_s, 2),
              "ratio": round(ours_s / peer_s, 4), "unit": "s", "higher_is_better": False,
              "n_questions": len(items), "chunks": n_chunks, "quick": bool(args.quick), "model": args.model,
              "peer_name": "lm-evaluation-harness truthfulqa_mc1/mc2",
              "ours_cpu_s": round(ours_cpu, 2), "peer_cpu_s": round(peer_cpu, 2),
              "cpu_ratio": round(ours_cpu / peer_cpu, 4), "raw_policy_s": round(raw_s, 2),
              "raw_policy_cpu_s": round(raw_cpu, 2), "product_vs_raw": round(ours_s / raw_s, 4),
              "raw_same_scores": raw_scores == our_scores}
    for metric in ("mc1", "mc2"):
        a, b = np.array(our_scores[metric]), np.array(peer[metric])
        result[f"ours_{metric}"], result[f"peer_{metric}"] = round(float(a.mean()), 5), round(float(b.mean()), 5)
        result[f"{metric}_abs_diff"] = round(float(abs(a.mean() - b.mean())), 6)
        result[f"{metric}_max_question_diff"] = round(float(np.abs(a - b).max()), 6)
    result["goal_met"] = bool(result["mc1_abs_diff"] <= 0.005 and result["mc2_abs_diff"] <= 0.005
                              and result["ratio"] <= 0.5 and abs(result["product_vs_raw"] - 1) <= 0.1)
    print(f"mc1 |diff| {result['mc1_abs_diff']}  mc2 |diff| {result['mc2_abs_diff']}  time ratio {result['ratio']}")
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
