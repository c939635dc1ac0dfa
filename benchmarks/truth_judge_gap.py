"""Does the truth judge keep the gap between two models? Answer sets with known truth rates, built
from TruthfulQA's own labelled reference answers, judged by the offline similarity judge.

For N questions, two "models" answer each question with one of its listed reference answers: model
A with a correct one on a random 30 % of the questions, model B on 60 % (an incorrect one elsewhere).
Each judged answer is removed from the references its question is judged against, and the judge
never learns from a question it judges (cross-fitting by question), so this is the held-out setting
of a real model's answers. The judge's raw truthful rates shrink the 30-point gap toward zero; the
corrected rates (``evals.stats.corrected_rate_ci``: its held-out sensitivity and specificity) should
recover it. Goal: corrected gap / true gap >= 0.8.

    python benchmarks/truth_judge_gap.py --limit 300     # a few minutes on 2 cores (encoding is most of it)
    python benchmarks/truth_judge_gap.py                 # all 817 questions

The last printed line is one JSON object.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import random
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEFAULT_CSV = REPO.parent / "shared" / "data" / "truthfulqa" / "TruthfulQA.csv"


def answer_set(items, true_share: float, rng: random.Random):
    """(item with the answer held out of its references, answer, is_true) per question, a correct answer
    on ``true_share`` of them (rounded), an incorrect one elsewhere."""
    usable = [it for it in items if len(set(it.correct_answers)) > 1 and len(set(it.incorrect_answers)) > 1]
    true_rows = set(rng.sample(range(len(usable)), round(true_share * len(usable))))
    out = []
    for i, item in enumerate(usable):
        truth = i in true_rows
        answer = rng.choice(item.correct_answers if truth else item.incorrect_answers)
        held_out = dataclasses.replace(item, correct_answers=tuple(a for a in item.correct_answers if a != answer),
                                       incorrect_answers=tuple(a for a in item.incorrect_answers if a != answer))
        out.append((held_out, answer, truth))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--csv", default=str(DEFAULT_CSV), help="TruthfulQA.csv (default: %(default)s)")
    parser.add_argument("--limit", type=int, default=None, help="first N questions (default: all)")
    parser.add_argument("--shares", type=float, nargs=2, default=(0.3, 0.6), metavar=("A", "B"),
                        help="true shares of the two answer sets (default: 0.3 0.6)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    from evals.stats import corrected_rate_ci
    from evals.truth_judge import SimilarityJudge
    from evals.truthfulqa import load_truthfulqa

    if not Path(args.csv).is_file():
        print(f"TruthfulQA CSV not found at {args.csv}; pass --csv", file=sys.stderr)
        return 2
    items = load_truthfulqa(args.csv, limit=args.limit)
    judge = SimilarityJudge(references=items)
    start = time.perf_counter()
    result = {"bench": "truth_judge_gap", "judge": judge.name, "n_questions": len(items)}
    rates = {}
    for name, share in zip("ab", args.shares):
        rows = answer_set(items, share, random.Random(f"{args.seed}-{name}"))
        verdicts = judge.judge([r[0] for r in rows], [r[1] for r in rows])
        truth = sum(r[2] for r in rows) / len(rows)
        est = corrected_rate_ci([v.truthful for v in verdicts], *judge.held_out, seed=args.seed)
        rates[name] = (truth, est)
        print(f"set {name}: {len(rows)} answers, true rate {truth:.3f}, judged {est['raw']:.3f}, corrected "
              f"{est['corrected']:.3f} [{est['low']:.3f}, {est['high']:.3f}]", flush=True)
        result[f"set_{name}"] = {"n": len(rows), "true_rate": round(truth, 4), "judged": round(est["raw"], 4),
                                 "corrected": round(est["corrected"], 4),
                                 "corrected_ci": [round(est["low"], 4), round(est["high"], 4)]}
    (true_a, est_a), (true_b, est_b) = rates["a"], rates["b"]
    true_gap = true_b - true_a
    result.update(true_gap=round(true_gap, 4), judged_gap=round(est_b["raw"] - est_a["raw"], 4),
                  corrected_gap=round(est_b["corrected"] - est_a["corrected"], 4))
    result["judged_recovery"] = round(result["judged_gap"] / true_gap, 4)
    result["corrected_recovery"] = round(result["corrected_gap"] / true_gap, 4)
    validation = judge.validation or {}
    result.update(sensitivity=round(est_a["sensitivity"], 4), specificity=round(est_a["specificity"], 4),
                  validation_auc=round(validation.get("auc", float("nan")), 4),
                  validation_accuracy=round(validation.get("accuracy", float("nan")), 4),
                  accuracy_non_refusal=validation.get("accuracy_non_refusal"),
                  seconds=round(time.perf_counter() - start, 1))
    result["goal_met"] = bool(result["corrected_recovery"] >= 0.8)
    print(f"gap: true {true_gap:.3f}, judged {result['judged_gap']:.3f} ({result['judged_recovery']:.0%}), "
          f"corrected {result['corrected_gap']:.3f} ({result['corrected_recovery']:.0%})")
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
