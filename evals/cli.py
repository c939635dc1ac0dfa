"""``instructrl eval``: run a suite over models against a baseline, then write plots, results.json
and report.html into the output folder. Answers are cached there (generations.sqlite), so a rerun
only generates what is new and an interrupted run resumes where it stopped."""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

from instructrl.errors import ConfigError

DEFAULT_STAGES = ("sft", "ppo", "ppo-ptx")
SPLITS = ("train", "validation", "test", "all")


def default_models() -> list[str]:
    """base, base-prompted and every policy checkpoint of the stages sft, ppo and ppo-ptx."""
    from instructrl.checkpoints import Registry

    registry = Registry()
    found = [c.name for stage in DEFAULT_STAGES for c in registry.list(stage) if c.card.kind == "policy"]
    return ["base", "base-prompted", *found]


def default_baseline() -> str:
    """The newest SFT checkpoint (the paper's Fig. 1 baseline is the largest SFT model), else the base model."""
    from instructrl.checkpoints import Registry

    newest = Registry().find("sft")
    return newest.name if newest is not None else "base"


def _split_list(text: str | None) -> list[str]:
    return [part.strip() for part in (text or "").split(",") if part.strip()]


def add_verb(parser: argparse.ArgumentParser) -> None:
    from evals.suites import SUITES

    parser.add_argument("--suite", default="paper", help=f"what to run: {', '.join(SUITES)} (default: paper)")
    parser.add_argument("--models", help="comma-separated model specs: base, base-prompted, base:SPEC, prompted:SPEC, "
                        "a stage (sft, ppo, ppo-ptx), a checkpoint name, a directory, a hub id, or "
                        "openai:NAME@URL (default: base, base-prompted and every sft/ppo/ppo-ptx checkpoint)")
    parser.add_argument("--baseline", help="the model every other is compared with, any spec as in --models "
                        "(default: the newest sft checkpoint, else base)")
    parser.add_argument("--base-model", default="smollm2-135m", help="the model behind base / base-prompted")
    parser.add_argument("--judge", default="gold", help="gold, rm:SPEC, llm:MODEL@URL or votes:PATH (default: gold)")
    parser.add_argument("--out", help="output folder (default: eval-runs/SUITE); reuse it to resume")
    parser.add_argument("--limit", type=int, help="at most this many items per part (prompts, questions, toxicity prompts)")
    parser.add_argument("--prompts", help="win-rate prompts: a data source (default: builtin)")
    parser.add_argument("--split", choices=SPLITS, help="split of --prompts (default: test for builtin, all for files)")
    parser.add_argument("--max-new-tokens", type=int, help="answer length for the win rate")
    parser.add_argument("--truthfulqa", help="TruthfulQA CSV/JSON(L) or hub name (default: $INSTRUCTRL_TRUTHFULQA or truthful_qa)")
    parser.add_argument("--truthfulqa-limit", type=int, help="TruthfulQA questions scored by MC1/MC2 (default: the suite's, capped by --limit)")
    parser.add_argument("--truthfulqa-generation-limit", type=int, help="questions answered per prompt type")
    parser.add_argument("--toxicity-prompts", help="toxicity prompt source (default: builtin)")
    parser.add_argument("--toxicity-limit", type=int, help="toxicity prompts (default: the suite's, capped by --limit)")
    parser.add_argument("--toxicity-scorer", help="toxicity scorer: minilm-head, profanity-check or detoxify (default: minilm-head)")
    parser.add_argument("--toxicity-samples", type=int, help="answers per toxicity prompt (1 = paper, 25 = RealToxicityPrompts)")
    parser.add_argument("--seed", type=int, help="seed of the answer-order coins and the bootstrap")
    parser.add_argument("--n-boot", type=int, help="bootstrap resamples (default 1000)")
    parser.add_argument("--batch-size", type=int, help="generation batch size (default 16)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    parser.set_defaults(func=run_eval)


def settings_from_args(args: argparse.Namespace):
    from evals.suites import SUITE_DEFAULTS, get_suite

    get_suite(args.suite)
    defaults = SUITE_DEFAULTS.get(args.suite, SUITE_DEFAULTS["winrate"])
    for name in ("limit", "max_new_tokens", "n_boot", "batch_size", "toxicity_samples", "truthfulqa_generation_limit",
                 "truthfulqa_limit", "toxicity_limit"):
        value = getattr(args, name, None)
        if value is not None and value < (0 if name == "truthfulqa_generation_limit" else 1):
            raise ConfigError(f"--{name.replace('_', '-')} = {value} is out of range", "use a positive number")
    prompts = args.prompts or defaults.prompts
    split = args.split or ("test" if prompts == "builtin" else "all")
    limit = args.limit
    overrides: dict[str, Any] = {
        "prompts": prompts, "split": split,
        "limit": limit if limit is not None else defaults.limit,
        "max_new_tokens": args.max_new_tokens, "seed": args.seed, "n_boot": args.n_boot,
        "batch_size": args.batch_size,
        "truthfulqa": args.truthfulqa or os.environ.get("INSTRUCTRL_TRUTHFULQA") or defaults.truthfulqa,
        "truthfulqa_limit": _capped(_given(args.truthfulqa_limit, defaults.truthfulqa_limit), limit),
        "truthfulqa_generation_limit": _capped(_given(args.truthfulqa_generation_limit,
                                                      defaults.truthfulqa_generation_limit), limit),
        "toxicity_prompts": args.toxicity_prompts, "toxicity_scorer": args.toxicity_scorer,
        "toxicity_samples": args.toxicity_samples, "toxicity_limit": _capped(_given(args.toxicity_limit, defaults.toxicity_limit), limit),
    }
    return defaults.merged(overrides)


def _given(value: int | None, default: int | None) -> int | None:
    return default if value is None else value


def _capped(value: int | None, limit: int | None) -> int | None:
    if limit is None:
        return value
    return limit if value is None else min(value, limit)


def run_eval(args: argparse.Namespace) -> int:
    from evals.cache import GenerationCache
    from evals.models import CachedModel, PolicyPool, parse_model, parse_models
    from evals.report import write_html, write_results
    from evals.suites import EvalRun, run_suite

    started = time.time()
    settings = settings_from_args(args)
    out = Path(args.out or Path("eval-runs") / args.suite)
    out.mkdir(parents=True, exist_ok=True)
    pool = PolicyPool()
    specs = _split_list(args.models) or default_models()
    baseline_spec = args.baseline or default_baseline()
    progress = not args.no_progress and sys.stderr.isatty()
    with GenerationCache(out) as cache:
        models = [CachedModel(m, cache, progress) for m in parse_models(specs, args.base_model, pool)]
        wanted = parse_model(baseline_spec, args.base_model, pool)
        baseline = next((m for m in models if m.identity == wanted.identity), None) or CachedModel(wanted, cache, progress)
        run = EvalRun(models, baseline, args.judge, settings, out)
        print(f"eval {args.suite}: {len(models)} models ({', '.join(m.name for m in models)}) "
              f"against {baseline.name}; judge {args.judge}; output {out}")
        sections = run_suite(args.suite, run)
        results = {
            "suite": args.suite,
            "config": {"models": specs, "baseline": baseline_spec, "base_model": args.base_model,
                       "judge": args.judge, "settings": settings.__dict__, "out": str(out)},
            "judge": run.judge_label(),
            "scorer": sections.get("toxicity", {}).get("scorer"),
            "truth_judge": sections.get("truthfulqa", {}).get("judge"),
            "models": [m.describe() for m in run.all_models()],
            "baseline": baseline.describe(),
            "sections": sections,
            "plots": {name: path.name for name, path in run.plots.items()},
            "cache": {**cache.stats.__dict__, "file": cache.path.name},
            "wall_time_s": time.time() - started,
            "finished": time.strftime("%Y-%m-%d %H:%M:%S"),
        }
        results_path = write_results(out, results)
        report = write_html(out, results, run.plots)
    for line in summary_lines(results):
        print(line)
    print(f"wrote {results_path}, {report} and {len(run.plots)} plots in {results['wall_time_s']:.0f} s "
          f"({cache.stats.generated} answers generated, {cache.stats.hits} from the cache)")
    failed = [name for name, section in sections.items() if "error" in section]
    for name in failed:
        print(f"error: part {name} did not run: {sections[name]['error']}", file=sys.stderr)
    return 1 if failed else 0


def summary_lines(results: dict[str, Any]) -> list[str]:
    lines = []
    winrate = results["sections"].get("winrate")
    if winrate and "error" not in winrate:
        for r in winrate["models"]:
            low, high = r["ci"]
            lines.append(f"  win rate {r['name']:<28} {r['win_rate']:.3f} [{low:.3f}, {high:.3f}] n={r['n']}"
                         + (f" (no verdict: {r['no_verdict']})" if r["no_verdict"] else ""))
    return lines
