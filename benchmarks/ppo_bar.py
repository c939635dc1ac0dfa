"""Does PPO beat SFT, and does PPO-ptx pay a smaller alignment tax? Measured on the embedded default.

Runs what is missing in the registry with the ``cpu`` presets — SFT, comparisons from SFT ranked by
the gold labeler (25 % of pairwise labels flipped) with the reward model trained on them, PPO, PPO-ptx
(γ = 27.8, or ``--ptx-coef``) — then answers the held-out prompts (the validation and test splits)
greedily with SFT, PPO and PPO-ptx and reports:

  * the reward model's pairwise accuracy on clean-labelled comparisons of SFT answers to the
    validation prompts (the paper's RM reached about 72 %);
  * mean reward-model score on the held-out prompts (PPO should raise it over SFT);
  * the gold labeler's win rate of PPO (and PPO-ptx) over SFT, ties counted ½, with a bootstrap 95 % CI
    (the bar: the CI's lower end above 50 %);
  * KL(π_RL ‖ π_SFT) per answer at the end of training, against the preset's budget;
  * held-out pretraining loss of SFT, PPO and PPO-ptx (the alignment tax: PPO-ptx should rise less).

The last line is one JSON object (``ours`` = PPO's gold win rate over SFT, ``peer`` = 0.5, parity).

    python benchmarks/ppo_bar.py                # the full bar: the cpu presets, the 157 held-out prompts
    python benchmarks/ppo_bar.py --quick        # tiny presets, for a smoke run
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

PTX_COEF = 27.8  # the paper's γ


def instructrl(*args: str) -> None:
    print("$ instructrl " + " ".join(args), flush=True)
    subprocess.run([sys.executable, "-m", "instructrl.cli", *args], check=True)


def ensure_stages(args) -> None:
    """Train the stages the registry lacks, in order; each stage command resumes or returns its result."""
    from instructrl.checkpoints import Registry

    registry = Registry()
    preset = "tiny" if args.quick else "cpu"
    if registry.find("sft") is None:
        instructrl("train", "sft", "--preset", preset)
    if registry.find("rm") is None:
        comparisons, held_out = Path(args.comparisons), Path(args.held_out_comparisons)
        if not comparisons.exists():  # noisy training labels (AlpacaFarm's 25 % flips)
            limit = ["--limit", str(args.compare_limit)] if args.compare_limit else []
            instructrl("data", "compare", "--model", "sft", "--k", str(args.k), *limit, "--max-new-tokens", "64",
                       "--out", str(comparisons))
        if not held_out.exists():  # clean labels on the validation prompts: the RM's held-out accuracy
            instructrl("data", "compare", "--model", "sft", "--split", "validation", "--k", "4", "--noise", "0",
                       "--max-new-tokens", "64", "--out", str(held_out))
        instructrl("train", "rm", "--preset", preset, "--data", str(comparisons), "--validation", str(held_out))
    for coef in (0.0, args.ptx_coef):
        instructrl("train", "ppo", "--preset", preset, "--model", "sft", "--reward-model", "rm",
                   "--ptx-coef", str(coef), *args.ppo_set)


def ptx_checkpoint(registry, coef: float) -> str:
    """The newest PPO-ptx checkpoint trained with γ = ``coef``."""
    matching = [c for c in registry.list("ppo-ptx") if c.card.config["ppo"]["ptx_coef"] == coef]
    if not matching:
        raise SystemExit(f"no ppo-ptx checkpoint with ptx_coef {coef}: run without --skip-training")
    return matching[-1].name


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="tiny presets: checks the plumbing, not the bar")
    parser.add_argument("--splits", default="validation,test",
                        help="held-out splits of the embedded set to answer (default: validation,test, 157 prompts; "
                             "training never reads them, and the validation prompts only feed the logged gold curve)")
    parser.add_argument("--n", type=int, default=None, help="answer only the first N of those prompts")
    parser.add_argument("--max-new-tokens", type=int, default=48)
    parser.add_argument("--compare-limit", type=int, default=None,
                        help="prompts for the RM's comparison data (default: all 543 training prompts)")
    parser.add_argument("--k", type=int, default=8,
                        help="answers per training prompt for the RM's comparisons (default 8: 28 pairs a prompt)")
    parser.add_argument("--comparisons", default="comparisons.jsonl", help="the RM's training comparisons (made if missing)")
    parser.add_argument("--held-out-comparisons", default="comparisons-validation.jsonl",
                        help="clean-labelled comparisons on the validation prompts for the RM's held-out accuracy "
                             "(made if missing)")
    parser.add_argument("--ptx-coef", type=float, default=PTX_COEF, help="γ of the PPO-ptx run (default 27.8, the paper's)")
    parser.add_argument("--ppo-set", nargs="*", default=[], help="extra flags for both PPO runs, e.g. --set run.max_steps=30")
    parser.add_argument("--skip-training", action="store_true", help="evaluate the newest checkpoints only")
    args = parser.parse_args()
    if not args.skip_training:
        ensure_stages(args)
    evaluate(args)


def evaluate(args) -> None:
    from instructrl.checkpoints import Registry
    from instructrl.data.loaders import load_records
    from instructrl.data.schemas import Demonstration, EvalItem
    from instructrl.labelers import get_labeler
    from instructrl.models.policy import Policy, SamplingParams
    from instructrl.models.reward import RewardModel

    registry = Registry()
    names = {stage: registry.get(stage).name for stage in ("sft", "rm", "ppo")}
    names["ppo-ptx"] = ptx_checkpoint(registry, args.ptx_coef)
    tagged = [(split, EvalItem.from_demonstration(d)) for split in args.splits.split(",")
              for d in load_records("builtin", Demonstration, split=split).records][:args.n]
    splits, items = [split for split, _ in tagged], [item for _, item in tagged]
    params = SamplingParams(max_new_tokens=args.max_new_tokens, temperature=0.0)
    answers = {}
    for stage in ("sft", "ppo", "ppo-ptx"):
        began = time.perf_counter()
        answers[stage] = [g.text for g in Policy.load(names[stage]).generate([i.prompt for i in items], params)]
        print(f"{stage:8s} answered {len(items)} held-out prompts in {time.perf_counter() - began:.0f} s", flush=True)
    rm = RewardModel.load(names["rm"])
    labeler = get_labeler("gold")
    rm_mean, gold_mean = {}, {}
    gold = {}
    for stage, texts in answers.items():
        scores = rm.score([i.prompt for i in items], [t or " " for t in texts])
        rm_mean[stage] = sum(scores) / len(scores)
        gold[stage] = [labeler.score(item, text) for item, text in zip(items, texts)]
        gold_mean[stage] = sum(gold[stage]) / len(gold[stage])
    wins = {}
    for stage in ("ppo", "ppo-ptx"):
        outcomes = [1.0 if a > b else 0.5 if a == b else 0.0 for a, b in zip(gold[stage], gold["sft"])]
        wins[stage] = win_rate(outcomes)
        wins[stage]["by_split"] = {split: win_rate([o for o, s in zip(outcomes, splits) if s == split])
                                   for split in dict.fromkeys(splits)}
    cards = {stage: registry.get(names[stage]).card.metrics for stage in ("ppo", "ppo-ptx")}
    rm_card = registry.get(names["rm"]).card.metrics

    if "accuracy" in rm_card:
        print(f"reward model {names['rm']}: held-out pairwise accuracy {rm_card['accuracy']:.3f} "
              f"(95 % CI {rm_card['accuracy_ci_low']:.3f}-{rm_card['accuracy_ci_high']:.3f}, {rm_card['pairs']:.0f} pairs)")
    print(f"held-out prompts: {len(items)} ({args.splits} splits of the embedded set); greedy, {args.max_new_tokens} tokens")
    for stage in ("sft", "ppo", "ppo-ptx"):
        print(f"{stage:8s} mean RM reward {rm_mean[stage]:+.4f}   mean gold score {gold_mean[stage]:.4f}")
    for stage, w in wins.items():
        print(f"gold win rate {stage} vs sft: {w['win_rate']:.3f} (95 % CI {w['ci95'][0]:.3f}-{w['ci95'][1]:.3f}, "
              f"ties 1/2, n = {len(items)}); " + ", ".join(f"{split} {v['win_rate']:.3f} ({v['ci95'][0]:.3f}-"
                                                          f"{v['ci95'][1]:.3f}, n = {v['n']})"
                                                          for split, v in w["by_split"].items()))
    tax = {}
    for stage, m in cards.items():
        budget = m.get("kl_budget")
        print(f"{stage:8s} KL to SFT at the end {m['kl']:.3f} nats per answer (budget {budget}); "
              f"held-out pretraining loss {m.get('pretrain_loss_sft')} -> {m.get('pretrain_loss')}")
        if m.get("pretrain_loss") is not None and m.get("pretrain_loss_sft") is not None:
            tax[stage] = m["pretrain_loss"] - m["pretrain_loss_sft"]
    if tax:
        print("alignment tax (rise of held-out pretraining loss over SFT): "
              + ", ".join(f"{k} {v:+.4f}" for k, v in tax.items()))
    result = {"bench": "ppo_bar", "ours": round(wins["ppo"]["win_rate"], 4), "peer": 0.5,
              "ratio": round(wins["ppo"]["win_rate"] / 0.5, 3), "unit": "gold win rate vs SFT",
              "higher_is_better": True, "n": len(items), "win_ci95": wins["ppo"]["ci95"],
              "ptx_coef": args.ptx_coef, "ptx_win_rate": round(wins["ppo-ptx"]["win_rate"], 4),
              "ptx_win_ci95": wins["ppo-ptx"]["ci95"],
              "win_rate_by_split": {stage: {split: v["win_rate"] for split, v in w["by_split"].items()}
                                    for stage, w in wins.items()},
              "rm_reward": {k: round(v, 4) for k, v in rm_mean.items()},
              "gold_score": {k: round(v, 4) for k, v in gold_mean.items()},
              "kl": {k: round(m["kl"], 4) for k, m in cards.items()},
              "kl_budget": cards["ppo"].get("kl_budget"),
              "alignment_tax": {k: round(v, 4) for k, v in tax.items()}, "checkpoints": names,
              "rm_accuracy": round(rm_card["accuracy"], 4) if "accuracy" in rm_card else None}
    print(json.dumps(result))


def win_rate(outcomes: list[float]) -> dict:
    """Mean outcome (1 win, ½ tie, 0 loss) with its bootstrap 95 % CI."""
    from evals.stats import bootstrap_ci

    low, high = bootstrap_ci(outcomes, n_boot=2000)
    return {"win_rate": round(sum(outcomes) / len(outcomes), 4), "ci95": [round(low, 4), round(high, 4)],
            "n": len(outcomes)}


if __name__ == "__main__":
    main()
