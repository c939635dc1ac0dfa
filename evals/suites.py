"""The suite registry: what ``instructrl eval --suite NAME`` runs.

  winrate     win rate of every model against the baseline on held-out prompts, per category, and
              the metadata checks (paper §4.1, Figs. 1 and 4)
  truthfulqa  TruthfulQA MC1/MC2 and judged generations under three prompt types (§4.2, Fig. 6)
  toxicity    toxicity of continuations under no / respectful / biased instructions (§4.2, Fig. 7)
  paper       all three, with small defaults that fit a CPU run of the embedded model

Each suite is a function of an ``EvalRun`` (models, baseline, judge, cache, settings) that returns
its results section and draws its plots into the run folder. Settings not given on the command
line come from the suite's defaults (``SUITE_DEFAULTS``).
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from evals import plots
from evals.models import CachedModel
from instructrl.errors import ConfigError, InstructrlError
from instructrl.models.policy import SamplingParams


@dataclass(frozen=True)
class SuiteSettings:
    """Every knob of a suite; ``None`` limits mean "all"."""

    prompts: str = "builtin"  # win-rate prompts: a data source of demonstrations or eval items
    split: str = "test"  # train / validation / test / all; held out: no training stage reads test
    limit: int | None = None  # win-rate prompts
    max_new_tokens: int = 128
    truthfulqa: str = "truthful_qa"  # a TruthfulQA CSV/JSON(L) path or hub name
    truthfulqa_limit: int | None = None  # questions scored by MC1/MC2
    truthfulqa_generation_limit: int | None = None  # of those, questions answered under each prompt type
    truthfulqa_max_new_tokens: int = 50
    toxicity_prompts: str = "builtin"
    toxicity_limit: int | None = None
    toxicity_scorer: str = "minilm-head"  # evals.toxicity.SCORERS; minilm-head stands in for Perspective API
    # sampled answers per prompt for RealToxicityPrompts' expected max (25 there); 0 = only the
    # paper's metric, one greedy answer per prompt (always computed)
    toxicity_samples: int = 25
    toxicity_max_new_tokens: int = 32
    seed: int = 0
    n_boot: int = 1000
    batch_size: int = 16

    def sampling(self) -> SamplingParams:
        return SamplingParams(max_new_tokens=self.max_new_tokens, temperature=0.0)  # greedy, as in the paper

    def merged(self, overrides: dict[str, Any]) -> SuiteSettings:
        known = {f.name for f in fields(self)}
        unknown = set(overrides) - known
        if unknown:
            raise ConfigError(f"unknown eval setting {sorted(unknown)[0]!r}", f"use one of {', '.join(sorted(known))}")
        return replace(self, **{k: v for k, v in overrides.items() if v is not None})


# "paper" is sized to finish in about 6 minutes on 2 idle CPU cores with the 135M model and three models
# (base, base-prompted, SFT). Measured single-thread cost here: generation ~42 tokens per CPU-second
# at batch 16, TruthfulQA MC ~1.1 CPU-seconds per question and presentation. Budget: win rate 48 x 64
# tokens x 3 ~ 2.3 min, MC 40 questions x 2 presentations ~ 1 min, generations 8 x 3 prompt types ~ 0.6
# min, toxicity 20 x 3 variants x 3 x 20 tokens ~ 0.9 min, loading and judges ~ 1 min. One greedy
# answer per toxicity prompt (the paper's metric); k sampled answers are the toxicity suite's.
SUITE_DEFAULTS: dict[str, SuiteSettings] = {
    "winrate": SuiteSettings(),
    "truthfulqa": SuiteSettings(truthfulqa_limit=200, truthfulqa_generation_limit=50),
    "toxicity": SuiteSettings(toxicity_limit=100),
    "paper": SuiteSettings(limit=48, max_new_tokens=64, truthfulqa_limit=40, truthfulqa_generation_limit=8,
                      truthfulqa_max_new_tokens=32, toxicity_limit=20, toxicity_max_new_tokens=20,
                      toxicity_samples=0),
}


@dataclass
class EvalRun:
    """One eval run: the models, the baseline, the judge (built on first use), settings and outputs."""

    models: list[CachedModel]
    baseline: CachedModel
    judge_name: str
    settings: SuiteSettings
    out: Path
    judge_options: dict[str, Any] = field(default_factory=dict)
    plots: dict[str, Path] = field(default_factory=dict)
    _judge: Any = None

    @property
    def judge(self):
        if self._judge is None:
            from evals.judges import get_judge

            self._judge = get_judge(self.judge_name, **self.judge_options)
        return self._judge

    def judge_label(self) -> str:
        """The judge's full name once built (e.g. with its endpoint), else the name asked for."""
        return self._judge.name if self._judge is not None else self.judge_name

    def all_models(self) -> list[CachedModel]:
        """The models and the baseline, each once (the baseline is often one of the models)."""
        seen = {m.identity for m in self.models}
        return list(self.models) + ([self.baseline] if self.baseline.identity not in seen else [])


# ---- win rate ------------------------------------------------------------------------------------


def load_eval_items(source: str, split: str | None, limit: int | None) -> list:
    """Held-out prompts as EvalItems: demonstrations (their answer becomes the reference) or eval rows."""
    from instructrl.data.loaders import load_records
    from instructrl.data.schemas import Demonstration, EvalItem

    split = None if split == "all" else split
    try:
        loaded = load_records(source, Demonstration, split=split)
        items = [EvalItem.from_demonstration(d) for d in loaded.records]
    except InstructrlError as first:
        try:
            items = load_records(source, EvalItem, split=split).records
        except InstructrlError:
            raise first from None
    if not items:
        raise InstructrlError(f"no prompts in {source}" + (f" (split {split})" if split else ""),
                              "check the prompt source, or pass --split all to use every row")
    return spread_sample(items, limit)


def spread_sample(items: list, limit: int | None) -> list:
    """The first ``limit`` items in a fixed order given by a hash of each id: every category keeps
    about its share (files are often sorted by category), and a larger limit only adds prompts, so
    the cached answers of a smaller run are all reused."""
    if limit is None or limit >= len(items):
        return list(items)
    order = sorted(items, key=lambda item: hashlib.sha256(f"eval-sample|{item.id}".encode()).hexdigest())
    return order[:limit]


def winrate_suite(run: EvalRun) -> dict[str, Any]:
    from evals.winrate import run_winrate

    s = run.settings
    items = load_eval_items(s.prompts, s.split, s.limit)
    result = run_winrate(run.models, run.baseline, items, run.judge, s.sampling(), seed=s.seed, n_boot=s.n_boot,
                         batch_size=s.batch_size)
    result["source"] = {"prompts": s.prompts, "split": s.split, "max_new_tokens": s.max_new_tokens,
                        "decoding": "greedy"}
    draw_winrate(result, run.out, run.plots)
    return result


def draw_winrate(result: dict[str, Any], out: Path, drawn: dict[str, Path]) -> None:
    rows, baseline, judge = result["models"], result["baseline"]["name"], result["judge"]["name"]
    drawn["winrate_by_size"] = plots.winrate_by_size(rows, baseline, out / "winrate_by_size.png", judge)
    categories = list(result["categories"])
    series = {r["name"]: [_bar(r["per_category"].get(c, {}), "win_rate", "ci") for c in categories] for r in rows}
    colours = {r["name"]: plots.TYPE_COLOURS.get(r["type"], "") for r in rows}
    drawn["winrate_by_category"] = plots.grouped_bars(
        out / "winrate_by_category.png", categories, series, f"Win rate against {baseline} per prompt category",
        "win rate (ties ½), 95% CI", hline=0.5, colours=_distinct(colours),
        group_notes=[f"n={result['categories'][c]}" for c in categories])
    checks = ["follows constraints", "closed QA: unsupported"]
    everyone = [result["baseline"], *[r for r in rows if r["identity"] != result["baseline"]["identity"]]]
    series = {r["name"]: [_bar(r["metadata"]["follows_constraints"], "rate", "ci"),
                          _bar(r["metadata"]["closed_qa_unsupported"], "rate", "ci")] for r in everyone}
    notes = [f"n={everyone[0]['metadata']['follows_constraints']['n']}",
             f"n={everyone[0]['metadata']['closed_qa_unsupported']['n']}"]
    drawn["metadata"] = plots.grouped_bars(
        out / "metadata.png", checks, series, "Metadata checks (higher is better for constraints, lower for unsupported)",
        "share of answers, 95% CI", group_notes=notes,
        colours=_distinct({r["name"]: plots.TYPE_COLOURS.get(r["type"], "") for r in everyone}))


def _bar(entry: dict[str, Any], value: str, ci: str) -> plots.Bar:
    if not entry:
        return (math.nan, math.nan, math.nan)
    low, high = entry.get(ci) or (math.nan, math.nan)
    return tuple(math.nan if v is None else float(v) for v in (entry[value], low, high))  # None: NaN read back from JSON


def _distinct(colours: dict[str, str]) -> dict[str, str] | None:
    """Type colours when every series has its own type; otherwise the default palette."""
    values = list(colours.values())
    return colours if all(values) and len(set(values)) == len(values) else None


# ---- TruthfulQA ------------------------------------------------------------------------------------


def uses_chat(model: CachedModel, benchmark_prompts_the_model: bool = False) -> bool:
    """Whether a model gets prompts in its own presentation (``chat=True``: GPT-prompted behind its
    few-shot prefix, tuned models in their chat format) or as raw text to continue (the plain base
    model, "GPT"). Where the benchmark's own prompt types already are the prompting (TruthfulQA's
    QA primer and instruction), GPT-prompted reads the raw text too: it is then the same model as
    GPT, and the cache answers it for free."""
    if benchmark_prompts_the_model:
        return model.kind not in ("GPT", "GPT-prompted")
    return model.kind != "GPT"


def truthfulqa_suite(run: EvalRun) -> dict[str, Any]:
    from evals.truthfulqa import load_truthfulqa, run_truthfulqa

    s = run.settings
    items = load_truthfulqa(s.truthfulqa, limit=s.truthfulqa_limit)
    n_gen = len(items) if s.truthfulqa_generation_limit is None else min(s.truthfulqa_generation_limit, len(items))
    results: dict[str, Any] = {"source": s.truthfulqa, "n_mc": len(items), "n_generation": n_gen, "models": {}}
    judge = None
    for model in run.all_models():
        chat = uses_chat(model, benchmark_prompts_the_model=True)
        mc_ok = model.kind != "remote"  # log-probabilities need the weights
        entry: dict[str, Any] = {"type": model.kind, "chat": chat}
        if mc_ok:
            entry.update(run_truthfulqa(model, items, mc=True, generation=False, chat=chat, seed=s.seed,
                                        batch_size=s.batch_size))
        if n_gen:
            if judge is None:
                from evals.truth_judge import SimilarityJudge

                # every MC question's references train the judge; it never fits on the question it judges
                judge = SimilarityJudge(references=items)
            generated = run_truthfulqa(model, items[:n_gen], mc=False, generation=True, judge=judge, chat=chat,
                                       max_new_tokens=s.truthfulqa_max_new_tokens, seed=s.seed,
                                       batch_size=s.batch_size)
            entry["generation"] = generated["generation"]
        results["models"][model.name] = entry
    results["judge"] = getattr(judge, "name", None)
    draw_truthfulqa(results, run.out, run.plots)
    return results


def draw_truthfulqa(result: dict[str, Any], out: Path, drawn: dict[str, Path]) -> None:
    models = result["models"]
    colours = _distinct({name: plots.TYPE_COLOURS.get(m["type"], "") for name, m in models.items()})
    with_mc = {name: m for name, m in models.items() if "mc" in m}
    if with_mc:
        series = {name: [_bar(m["mc"][k], "mean", "ci95") for k in ("mc1", "mc2")] for name, m in with_mc.items()}
        drawn["truthfulqa_mc"] = plots.grouped_bars(
            out / "truthfulqa_mc.png", ["MC1", "MC2"], series,
            f"TruthfulQA multiple choice (QA prompt, n={result['n_mc']})", "score, 95% CI", colours=colours)
    with_gen = {name: m for name, m in models.items() if "generation" in m}
    if with_gen:
        types = list(next(iter(with_gen.values()))["generation"]["prompt_types"])
        groups = [f"{t}\n{label}" for t in types for label in ("truthful", "truthful+informative")]
        series = {name: [_bar(m["generation"]["prompt_types"][t][k], "mean", "ci95")
                         for t in types for k in ("truthful", "truthful_informative")]
                  for name, m in with_gen.items()}
        judge = next(iter(with_gen.values()))["generation"].get("judge", "")
        drawn["truthfulqa_generation"] = plots.grouped_bars(
            out / "truthfulqa_generation.png", groups, series,
            f"TruthfulQA generations per prompt type (n={result['n_generation']}, judge: {judge})",
            "share of answers, 95% CI", colours=colours)


# ---- toxicity --------------------------------------------------------------------------------------


def toxicity_suite(run: EvalRun) -> dict[str, Any]:
    from evals import toxicity

    s = run.settings
    prompts = toxicity.load_toxicity_prompts(s.toxicity_prompts, limit=s.toxicity_limit)
    scorer = toxicity.get_scorer(s.toxicity_scorer)
    results: dict[str, Any] = {"source": s.toxicity_prompts, "n_prompts": len(prompts),
                               "scorer": getattr(scorer, "name", s.toxicity_scorer),
                               "scorer_validation": scorer_validation(scorer), "models": {}}
    for model in run.all_models():
        entry = toxicity.run_toxicity(model, prompts, scorer, k=s.toxicity_samples,
                                      max_new_tokens=s.toxicity_max_new_tokens, chat=uses_chat(model),
                                      batch_size=s.batch_size, seed=s.seed)
        results["models"][model.name] = {"type": model.kind, **entry}
    draw_toxicity(results, run.out, run.plots)
    return results


def scorer_validation(scorer: Any) -> dict[str, Any] | None:
    """The scorer's own held-out figures against Perspective API (RTP AUC, Spearman, n, encoder), for
    a scorer that carries them (minilm-head); ``None`` for one that does not."""
    validation = getattr(scorer, "validation", None)
    if not isinstance(validation, dict) or not validation:
        return None
    return {k: validation[k] for k in ("auc", "spearman", "n", "encoder", "reference", "on") if k in validation}


def _toxicity_bar(variant_result: dict[str, Any]) -> plots.Bar:
    """The mean toxicity of a variant, whatever key the toxicity module used for it."""
    for key in ("toxicity", "mean_toxicity", "expected_toxicity"):
        entry = variant_result.get(key)
        if isinstance(entry, dict) and "mean" in entry:
            return _bar(entry, "mean", "ci95" if "ci95" in entry else "ci")
        if isinstance(entry, (int, float)):
            return (float(entry), math.nan, math.nan)
    return (math.nan, math.nan, math.nan)


def draw_toxicity(result: dict[str, Any], out: Path, drawn: dict[str, Path]) -> None:
    models = result["models"]
    variants = list(next(iter(models.values()))["variants"]) if models else []
    series = {name: [_toxicity_bar(m["variants"][v]) for v in variants] for name, m in models.items()}
    colours = _distinct({name: plots.TYPE_COLOURS.get(m["type"], "") for name, m in models.items()})
    drawn["toxicity"] = plots.grouped_bars(
        out / "toxicity.png", variants, series,
        f"Toxicity per instruction variant (n={result['n_prompts']} prompts, scorer: {result['scorer']})",
        "mean toxicity, 95% CI", colours=colours, ylim=None)


# ---- registry --------------------------------------------------------------------------------------

SuiteFn = Callable[[EvalRun], dict[str, Any]]
PARTS: dict[str, SuiteFn] = {"winrate": winrate_suite, "truthfulqa": truthfulqa_suite, "toxicity": toxicity_suite}
SUITES: dict[str, list[str]] = {"winrate": ["winrate"], "truthfulqa": ["truthfulqa"], "toxicity": ["toxicity"],
                                "paper": ["winrate", "truthfulqa", "toxicity"]}


def get_suite(name: str) -> list[str]:
    """The parts a suite runs; an unknown name lists the known suites."""
    if name not in SUITES:
        raise ConfigError(f"unknown suite {name!r}", f"use one of: {', '.join(SUITES)}")
    return SUITES[name]


def run_suite(name: str, run: EvalRun, progress: Callable[[str], None] = print) -> dict[str, Any]:
    """Run every part of a suite; a part's results section is keyed by its name. In a suite of
    several parts, a part that fails on the user's input (missing data, an unreachable endpoint)
    is recorded as ``{"error": ...}`` and the others still run; a single-part suite raises."""
    parts = get_suite(name)
    sections: dict[str, Any] = {}
    for part in parts:
        progress(f"[{part}] running")
        started = time.time()
        try:
            sections[part] = PARTS[part](run)
        except InstructrlError as err:
            if len(parts) == 1:
                raise
            progress(f"[{part}] failed: {err}")
            sections[part] = {"error": str(err)}
        sections[part]["wall_time_s"] = round(time.time() - started, 1)
        progress(f"[{part}] done in {sections[part]['wall_time_s']:.0f} s")
    return sections
