"""``instructrl pipeline``: the whole recipe in one command (Ouyang et al. 2022, Fig. 2, steps 1-3, then sec. 4).

A thin driver over the stages' own run functions, in order:

  sft                 supervised fine-tuning (``train.sft.run``)
  compare             K answers per training prompt from the SFT policy, ranked by the labeler with noise
  compare-validation  clean-labelled comparisons on the validation prompts: the RM's held-out accuracy
  rm                  the reward model, K-wise loss (eq. 1) (``train.reward.run``)
  ppo, ppo-ptx        PPO and PPO-ptx against that reward model (``train.ppo.run``)
  eval                the paper suite over base, base-prompted, SFT, PPO and PPO-ptx against SFT

then ``report.html`` and ``results.json`` in the output folder (``instructrl/pipeline_report.py``). With
``--rounds N`` (the paper's "steps 2 and 3 can be iterated") each extra round adds

  compare-rN          fresh comparisons of the latest policy's answers, or with ``--labeler votes:DB`` the
                      arena votes collected since the last round, added to all comparisons so far
  rm-rN               a reward model on all of them
  ppo-ptx-rN          PPO-ptx from the latest policy against it (its KL is to the policy it starts from)

and the evals compare every round's policy too. Presets live in ``configs/pipeline/``
and name each stage's own preset plus overrides. Nothing here re-implements a stage: a stage whose run
identity matches a finished checkpoint returns it (``done (cached)``), an interrupted one resumes from
its state in ``runs/``, and a changed setting changes the identities of that stage and the ones after it
only, so only those run again.

    instructrl pipeline --preset tiny
    instructrl pipeline --preset cpu --dry-run
    instructrl pipeline --preset cpu --set compare.k=6 --set ppo.overrides.run.max_steps=60
    instructrl pipeline --preset tiny --rounds 1 --labeler votes:votes.db
"""

from __future__ import annotations

import argparse
import hashlib
import importlib
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from instructrl.config import check, from_dict, merge, parse_overrides, preset_names, read_preset, to_dict
from instructrl.errors import ConfigError
from instructrl.pipeline_report import RESULTS, write_outputs

STAGE = "pipeline"
REPO = Path(__file__).resolve().parent.parent
SHARED_TRUTHFULQA = REPO.parent / "shared" / "data" / "truthfulqa" / "TruthfulQA.csv"
EVAL_STAMP = "pipeline-stage.json"


# ---- settings -------------------------------------------------------------------------------------


@dataclass
class StageSettings:
    """One training stage: its own preset (``configs/<stage>/``) and overrides on top, as nested keys."""

    preset: str = "cpu"
    overrides: dict[str, Any] = field(default_factory=dict)


@dataclass
class PPOStageSettings(StageSettings):
    ptx_coef: float = 1.0  # γ of the PPO-ptx run (paper: 27.8); the PPO run always uses 0

    def __post_init__(self) -> None:
        check(self.ptx_coef > 0, "ppo.ptx_coef", self.ptx_coef, "more than 0 (0 would make PPO-ptx plain PPO)")


@dataclass
class CompareSettings:
    """``instructrl data compare`` for the RM's training data (noisy) and held-out data (clean)."""

    k: int = 4  # answers per training prompt (paper: 4-9)
    limit: int | None = None  # training prompts (None: all)
    validation_k: int = 4
    validation_limit: int | None = None  # validation prompts (None: all)
    max_new_tokens: int = 64
    batch_size: int = 16
    labeler: str = "gold"
    noise: float = 0.25  # AlpacaFarm-style label flips for the training comparisons
    seed: int = 0
    dtype: str = "auto"

    def __post_init__(self) -> None:
        check(2 <= self.k <= 16 and 2 <= self.validation_k <= 16, "compare.k", self.k, "2 to 16 answers per prompt")
        for key in ("limit", "validation_limit"):
            value = getattr(self, key)
            check(value is None or value > 0, f"compare.{key}", value, "a positive number of prompts or null")
        check(0 <= self.noise < 1, "compare.noise", self.noise, "a flip probability in [0, 1)")
        check(self.max_new_tokens >= 1 and self.batch_size >= 1, "compare.max_new_tokens", self.max_new_tokens,
              "1 or more (and compare.batch_size too)")


@dataclass
class EvalSettings:
    """``instructrl eval`` flags; None leaves the suite's own default."""

    suite: str = "paper"
    judge: str = "gold"
    baseline: str | None = None  # None: the SFT checkpoint (the paper's Fig. 1); any eval model spec otherwise
    limit: int | None = None
    max_new_tokens: int | None = None
    truthfulqa: str | None = None  # None: $INSTRUCTRL_TRUTHFULQA, the shared data beside the repo, or the hub
    truthfulqa_limit: int | None = None  # None: the suite's (capped by limit), for this and the two below
    truthfulqa_generation_limit: int | None = None
    toxicity_limit: int | None = None
    n_boot: int | None = None
    batch_size: int | None = None
    seed: int = 0

    def __post_init__(self) -> None:
        for key in ("limit", "max_new_tokens", "n_boot", "batch_size", "truthfulqa_limit", "toxicity_limit"):
            value = getattr(self, key)
            check(value is None or value > 0, f"eval.{key}", value, "a positive number or null")


@dataclass
class RoundSettings:
    """The paper's "steps 2 and 3 can be iterated": each round after the first ranks fresh comparisons
    of the latest policy's answers (or takes the arena votes collected since the last round), trains a
    reward model on all comparisons so far, and runs PPO-ptx from the latest policy against it."""

    count: int = 0  # rounds after the first pass (0: the recipe once)
    labeler: str | None = None  # None: compare.labeler; votes:DB for the arena's votes

    def __post_init__(self) -> None:
        check(0 <= self.count <= 20, "rounds.count", self.count, "0 to 20 extra rounds")
        if self.labeler is not None and self.labeler.startswith("votes:"):
            check(bool(self.labeler.removeprefix("votes:")), "rounds.labeler", self.labeler,
                  "votes:DB, DB the serving votes database (instructrl serve --votes-db)")

    @property
    def votes_db(self) -> Path | None:
        return Path(self.labeler.removeprefix("votes:")) if self.labeler and self.labeler.startswith("votes:") else None


@dataclass
class PipelineConfig:
    sft: StageSettings = field(default_factory=StageSettings)
    compare: CompareSettings = field(default_factory=CompareSettings)
    rm: StageSettings = field(default_factory=StageSettings)
    ppo: PPOStageSettings = field(default_factory=PPOStageSettings)
    eval: EvalSettings = field(default_factory=EvalSettings)
    rounds: RoundSettings = field(default_factory=RoundSettings)

    def __post_init__(self) -> None:
        for stage in ("sft", "rm", "ppo"):
            preset = getattr(self, stage).preset
            if not (preset in preset_names(stage) or Path(preset).is_file()):
                raise ConfigError(f"{stage}.preset {preset!r} is not a {stage} preset",
                                  f"use one of {', '.join(preset_names(stage))} or a YAML path")


def load_config(preset: str, overrides: list[str]) -> PipelineConfig:
    """Defaults < ``configs/pipeline/<preset>.yaml`` < ``--set`` overrides."""
    return from_dict(PipelineConfig, merge(read_preset(STAGE, preset), parse_overrides(overrides)))


# ---- the stages ---------------------------------------------------------------------------------


@dataclass
class Outcome:
    """What one stage left behind: its output (checkpoint name or file), whether it was already done,
    and its key metric for the table."""

    output: str
    cached: bool
    metric: str = ""
    numbers: dict[str, Any] = field(default_factory=dict)
    note: str = ""  # why it ran again, when the stage can tell


@dataclass
class Context:
    config: PipelineConfig
    out: Path
    outputs: dict[str, str] = field(default_factory=dict)  # stage -> checkpoint name or file


TRAINED = {"sft": "train.sft", "rm": "train.reward", "ppo": "train.ppo"}


def stage_config(stage: str, settings: StageSettings, wiring: dict[str, Any]):
    """A training stage's own config: its preset < the pipeline preset's overrides < the pipeline's wiring
    (which checkpoint and data each stage reads), built and validated by the stage's config dataclass."""
    module = importlib.import_module(TRAINED[stage])
    data = merge(merge(read_preset(stage, settings.preset), settings.overrides), wiring)
    return from_dict(module.CONFIG, data, f"{stage}.")


def round_of(stage: str) -> int:
    """0 for the first pass's stages, N for ``compare-rN``, ``rm-rN`` and ``ppo-ptx-rN``."""
    head, _, number = stage.rpartition("-r")
    return int(number) if head and number.isdigit() else 0


def in_round(stage: str, number: int) -> str:
    return stage if number == 0 else f"{stage}-r{number}"


def policy_of_round(number: int) -> str:
    """The stage whose checkpoint is the policy after round ``number``: PPO-ptx, the paper's released model."""
    return in_round("ppo-ptx", number)


def wiring(stage: str, ctx: Context) -> dict[str, Any]:
    """The keys the pipeline sets so each stage reads what the previous ones made, by exact name
    (never "the newest sft", which another run could have replaced)."""
    o = ctx.outputs.get
    number = round_of(stage)
    if trained_by(stage) == "rm":
        return {"model": {"name": o("sft", "<sft>")},
                "data": {"train": o(in_round("compare", number), f"<{in_round('compare', number)}>"),
                         "validation": o("compare-validation", "<compare-validation>")}}
    if trained_by(stage) == "ppo":
        coef = 0.0 if stage == "ppo" else ctx.config.ppo.ptx_coef
        start = "sft" if number == 0 else policy_of_round(number - 1)
        reward = in_round("rm", number)
        return {"model": {"name": o(start, f"<{start}>")}, "ppo": {"reward_model": o(reward, f"<{reward}>"), "ptx_coef": coef}}
    return {}


def trained_by(stage: str) -> str:
    """The training stage that a pipeline stage runs: ppo, ppo-ptx and ppo-ptx-rN are all ``train ppo``,
    rm-rN is ``train rm``."""
    base = stage.removesuffix(f"-r{round_of(stage)}") if round_of(stage) else stage
    return "ppo" if base.startswith("ppo") else base


def resolved_config(stage: str, ctx: Context):
    """A pipeline training stage's settings, resolved into its training stage's own config."""
    base = trained_by(stage)
    return stage_config(base, getattr(ctx.config, base), wiring(stage, ctx))


def train_stage(stage: str, ctx: Context) -> Outcome:
    """Run a training stage through its own ``run``; it returns the finished checkpoint when one with the
    same run identity exists, which is how a rerun skips it."""
    from instructrl.checkpoints import Registry

    config = resolved_config(stage, ctx)
    registry = Registry()
    before = {c.name for c in registry.list()}
    checkpoint = importlib.import_module(TRAINED[trained_by(stage)]).run(config, registry)
    metric, numbers = key_metric(stage, checkpoint.card.metrics)
    numbers["trained_in_s"] = checkpoint.card.wall_time_s
    return Outcome(checkpoint.name, checkpoint.name in before, metric, numbers)


def key_metric(stage: str, m: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The number each stage is judged by (the table's last column) and the values behind it."""
    if stage == "sft":
        return f"validation loss {_num(m.get('loss'))}", {"validation_loss": m.get("loss")}
    if stage == "rm":
        ci = f" [{_num(m.get('accuracy_ci_low'))}, {_num(m.get('accuracy_ci_high'))}]"
        return (f"held-out accuracy {_num(m.get('accuracy'))}{ci} n={int(m.get('pairs') or 0)} pairs",
                {k: m.get(k) for k in ("accuracy", "accuracy_ci_low", "accuracy_ci_high", "pairs")})
    numbers = {k: m.get(k) for k in ("kl", "reward_rm", "gold_start", "gold_end", "pretrain_loss_sft", "pretrain_loss")}
    return (f"final KL {_num(m.get('kl'))}, RM reward {_num(m.get('reward_rm'))}, "
            f"pretrain loss {_num(m.get('pretrain_loss'))}", numbers)


def comparisons_stage(split: str, ctx: Context, number: int = 0) -> Outcome:
    """``data compare`` from the SFT checkpoint (round N: the latest policy) into a file named by a hash
    of its settings: an existing file is finished work (compare writes it only at the end); a
    half-written one resumes."""
    c = ctx.config.compare
    train = split == "train"
    model = ctx.outputs["sft"] if number == 0 else ctx.outputs[policy_of_round(number - 1)]
    labeler = c.labeler if number == 0 else ctx.config.rounds.labeler or c.labeler
    flags = {"model": model, "split": split, "k": c.k if train else c.validation_k,
             "labeler": labeler, "noise": c.noise if train else 0.0, "max-new-tokens": c.max_new_tokens,
             "batch-size": c.batch_size, "seed": c.seed, "dtype": c.dtype,
             "limit": c.limit if train else c.validation_limit}
    flags = {k: v for k, v in flags.items() if v is not None}
    digest = hashlib.sha256(json.dumps({k: v for k, v in flags.items() if k != "batch-size"},
                                       sort_keys=True).encode()).hexdigest()[:8]
    path = ctx.out / "data" / f"comparisons-{split}-{digest}.jsonl"
    cached = path.exists()
    if not cached:
        _call_verb("train.compare", ["compare", *_argv(flags), "--out", str(path)], subcommands=True)
    rows = sum(1 for line in path.open(encoding="utf-8") if line.strip())
    labels = "clean labels" if not train or c.noise == 0 else f"{c.noise:.0%} of pairs flipped"
    return Outcome(str(path), cached, f"{rows} prompts ranked, K={flags['k']}, {labels}", {"comparisons": rows})


def votes_stage(number: int, ctx: Context) -> Outcome:
    """Round N's comparisons from the arena: the votes in the database that no earlier round of this
    output folder used. Written once per round, so a rerun trains on the same votes."""
    from instructrl.errors import InstructrlError
    from serve.votes import VoteStore, write_jsonl

    db = ctx.config.rounds.votes_db
    if not db.is_file():
        raise ConfigError(f"votes database {db} does not exist",
                          "pass the --votes-db file instructrl serve was started with: --labeler votes:PATH")
    tag = hashlib.sha256(str(db.resolve()).encode()).hexdigest()[:8]
    path = ctx.out / "data" / f"votes-r{number}-{tag}.jsonl"
    if path.exists():
        rows = sum(1 for line in path.open(encoding="utf-8") if line.strip())
        return Outcome(str(path), True, f"{rows} arena votes (taken by this round before)", {"comparisons": rows})
    used = {json.loads(line)["id"] for earlier in range(1, number)
            for line in (ctx.out / "data" / f"votes-r{earlier}-{tag}.jsonl").open(encoding="utf-8") if line.strip()}
    with VoteStore(db) as store:
        records, counts = store.export_comparisons()
    fresh = [r for r in records if r.id not in used]
    if not fresh:
        raise InstructrlError(f"{db} holds no votes with a preference that an earlier round has not used "
                              f"({counts['votes']} votes, {counts['exported']} with a preference)",
                              "collect votes in the arena (instructrl serve MODELS --ui --votes-db "
                              f"{db}) and run the pipeline again")
    write_jsonl(fresh, path)
    return Outcome(str(path), False, f"{len(fresh)} new arena votes of {counts['votes']} in {db.name}",
                   {"comparisons": len(fresh), **counts})


def round_comparisons_stage(number: int, ctx: Context) -> Outcome:
    """Round N's new comparisons (the latest policy's answers ranked by the labeler, or the arena votes
    new since the last round), then every comparison so far in one file: what ``rm-rN`` trains on."""
    fresh = votes_stage(number, ctx) if ctx.config.rounds.votes_db else comparisons_stage("train", ctx, number)
    ctx.outputs[f"new-comparisons-r{number}"] = fresh.output
    parts = [ctx.outputs["compare"]] + [ctx.outputs[f"new-comparisons-r{r}"] for r in range(1, number + 1)]
    digest = hashlib.sha256(json.dumps([Path(p).name for p in parts]).encode()).hexdigest()[:8]
    path = ctx.out / "data" / f"comparisons-upto-r{number}-{digest}.jsonl"
    if not path.exists():
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text("".join(Path(p).read_text(encoding="utf-8") for p in parts), encoding="utf-8")
        tmp.replace(path)
    total = sum(1 for line in path.open(encoding="utf-8") if line.strip())
    return Outcome(str(path), fresh.cached, f"{fresh.metric}; {total} comparisons in all",
                   {**fresh.numbers, "comparisons_in_all": total})


def eval_stage(ctx: Context) -> Outcome:
    """The eval suite over the five models of the paper's Fig. 1 against SFT. Its answers are cached in
    its folder, and a stamp of its flags marks a finished run: a rerun with the same models skips it."""
    e, o = ctx.config.eval, ctx.outputs
    folder = ctx.out / "eval"
    sft_config = stage_config("sft", ctx.config.sft, {})
    names = model_stages(ctx.config)
    models = ["base", "base-prompted", *(o[stage] for stage in names[2:])]
    flags = {"suite": e.suite, "models": ",".join(models), "baseline": e.baseline or o["sft"],
             "base-model": sft_config.model.name,
             "judge": e.judge, "limit": e.limit, "max-new-tokens": e.max_new_tokens, "truthfulqa": truthfulqa_source(e),
             "truthfulqa-limit": e.truthfulqa_limit, "truthfulqa-generation-limit": e.truthfulqa_generation_limit,
             "toxicity-limit": e.toxicity_limit, "n-boot": e.n_boot,
             "batch-size": e.batch_size, "seed": e.seed}
    argv = [*_argv({k: v for k, v in flags.items() if v is not None}), "--out", str(folder), "--no-progress"]
    stamp = folder / EVAL_STAMP
    before = json.loads(stamp.read_text()) if stamp.exists() else None
    cached = before == argv and (folder / RESULTS).exists()
    note = "its models or settings changed since the last run" if before is not None and not cached else ""
    if not cached:
        stamp.unlink(missing_ok=True)
        code = _call_verb("evals.cli", argv)
        if code == 0:  # a part that failed (e.g. no TruthfulQA data) leaves no stamp: the next run retries it
            stamp.write_text(json.dumps(argv))
    results = json.loads((folder / RESULTS).read_text())
    labels = dict(zip(models, names))
    rows = results["sections"].get("winrate", {}).get("models", [])
    wins = {labels.get(r["name"], r["name"]): {"win_rate": r["win_rate"], "ci": r["ci"], "n": r["n"],
                                               "lc_win_rate": r.get("length_controlled", {}).get("win_rate")}
            for r in rows}
    failed = [name for name, section in results["sections"].items() if "error" in section]
    baseline = labels.get(flags["baseline"], flags["baseline"])
    metric = f"win rate vs {baseline} (length-controlled): " + ", ".join(
        f"{k} {_num(v['win_rate'])} ({_num(v['lc_win_rate'])})" for k, v in wins.items() if k != baseline)
    if failed:
        metric += f" (not run: {', '.join(failed)})"
    return Outcome(str(folder / RESULTS), cached, metric, {"win_rates": wins, "failed_parts": failed}, note)


def truthfulqa_source(e: EvalSettings) -> str | None:
    """The TruthfulQA data: the setting, $INSTRUCTRL_TRUTHFULQA, the shared data folder beside the repo,
    or None (the eval's default, the hub dataset)."""
    if e.truthfulqa:
        return e.truthfulqa
    if os.environ.get("INSTRUCTRL_TRUTHFULQA"):
        return os.environ["INSTRUCTRL_TRUTHFULQA"]
    return str(SHARED_TRUTHFULQA) if SHARED_TRUTHFULQA.exists() else None


FIRST_PASS: list[tuple[str, Callable[[Context], Outcome]]] = [
    ("sft", lambda ctx: train_stage("sft", ctx)),
    ("compare", lambda ctx: comparisons_stage("train", ctx)),
    ("compare-validation", lambda ctx: comparisons_stage("validation", ctx)),
    ("rm", lambda ctx: train_stage("rm", ctx)),
    ("ppo", lambda ctx: train_stage("ppo", ctx)),
    ("ppo-ptx", lambda ctx: train_stage("ppo-ptx", ctx)),
]


def stages(config: PipelineConfig) -> list[tuple[str, Callable[[Context], Outcome]]]:
    """The first pass, then per extra round compare-rN, rm-rN and ppo-ptx-rN, then the evals."""
    def one_round(number: int) -> list[tuple[str, Callable[[Context], Outcome]]]:
        return [(f"compare-r{number}", lambda ctx: round_comparisons_stage(number, ctx)),
                (f"rm-r{number}", lambda ctx: train_stage(f"rm-r{number}", ctx)),
                (policy_of_round(number), lambda ctx: train_stage(policy_of_round(number), ctx))]

    rounds = [step for number in range(1, config.rounds.count + 1) for step in one_round(number)]
    return [*FIRST_PASS, *rounds, ("eval", eval_stage)]


def model_stages(config: PipelineConfig) -> list[str]:
    """The models the evals compare, by stage: the paper's five, then each round's policy."""
    return ["base", "base-prompted", "sft", "ppo", "ppo-ptx",
            *(policy_of_round(n) for n in range(1, config.rounds.count + 1))]


def _argv(flags: dict[str, Any]) -> list[str]:
    return [part for key, value in flags.items() for part in (f"--{key}", str(value))]


def _call_verb(module_name: str, argv: list[str], subcommands: bool = False) -> int:
    """Parse ``argv`` with a verb's own parser and call its own function, as the command line would."""
    module = importlib.import_module(module_name)
    parser = argparse.ArgumentParser(prog=f"instructrl ({module_name})")
    if subcommands:
        module.add_commands(parser.add_subparsers(dest="command"))
    else:
        module.add_verb(parser)
    args = parser.parse_args(argv)
    return int(args.func(args) or 0)


def _num(value: Any) -> str:
    return "n/a" if not isinstance(value, (int, float)) else f"{value:.3f}"


# ---- the driver ---------------------------------------------------------------------------------


@dataclass
class StageRow:
    stage: str
    status: str  # "ran" or "done (cached)"
    wall_s: float
    output: str
    metric: str
    note: str = ""
    numbers: dict[str, Any] = field(default_factory=dict)


def run_pipeline(config: PipelineConfig, out: Path) -> list[StageRow]:
    """Every stage in order; each prints one progress line before and after (the stages' own bars in
    between). A stage whose output differs from the last run's in this folder says what changed."""
    out.mkdir(parents=True, exist_ok=True)
    previous = previous_outputs(out)
    ctx, rows = Context(config, out), []
    plan = stages(config)
    for number, (stage, step) in enumerate(plan, 1):
        print(f"[{STAGE}] {number}/{len(plan)} {stage} ...", flush=True)
        started = time.perf_counter()
        outcome = step(ctx)
        ctx.outputs[stage] = outcome.output
        note = outcome.note
        if not outcome.cached and previous.get(stage) not in (None, outcome.output):
            note = f"settings or inputs changed since the last run (was {Path(previous[stage]).name})"
        status = "done (cached)" if outcome.cached else "ran (changed)" if note else "ran"
        rows.append(StageRow(stage, status, time.perf_counter() - started,
                             outcome.output, outcome.metric, note, outcome.numbers))
        print(f"[{STAGE}] {number}/{len(plan)} {stage}: {rows[-1].status} in {rows[-1].wall_s:.1f} s"
              f"{f' ({note})' if note else ''}: {outcome.metric}", flush=True)
    return rows


def previous_outputs(out: Path) -> dict[str, str]:
    """Each stage's output in this folder's last pipeline run (empty for a new folder)."""
    try:
        return {r["stage"]: r["output"] for r in json.loads((out / RESULTS).read_text())["stages"]}
    except (OSError, ValueError, KeyError, TypeError):
        return {}


def table(rows: list[StageRow]) -> list[str]:
    """The closing table: stage, status, this run's wall time, key metric."""
    width = max(len(r.stage) for r in rows)
    lines = [f"{'stage':<{width}}  {'status':<13}  {'wall':>8}  key metric"]
    lines += [f"{r.stage:<{width}}  {r.status:<13}  {r.wall_s:>7.1f}s  {r.metric}" for r in rows]
    lines += [f"{'total':<{width}}  {'':<13}  {sum(r.wall_s for r in rows):>7.1f}s"]
    return lines + [f"  {r.stage}: ran again because {r.note}" for r in rows if r.note]


def dry_run(config: PipelineConfig, out: Path) -> None:
    """The stages in order with their resolved settings; names a stage will read from an earlier one
    appear as <stage>. Nothing is loaded or trained."""
    ctx = Context(config, out)
    print(f"pipeline plan (output {out}):")
    for number, (stage, _) in enumerate(stages(config), 1):
        print(f"\n{number}. {stage}")
        if trained_by(stage) in TRAINED:
            print(f"   preset {getattr(config, trained_by(stage)).preset}; resolved config:")
            print("   " + json.dumps(to_dict(resolved_config(stage, ctx)), sort_keys=True))
        elif round_of(stage) and config.rounds.votes_db:
            print(f"   the arena votes in {config.rounds.votes_db} that no earlier round used, added to all comparisons "
                  "so far")
        elif round_of(stage):
            print(f"   {config.rounds.labeler or config.compare.labeler} ranks answers of <{policy_of_round(round_of(stage) - 1)}>"
                  f" (k = {config.compare.k}, limit = {config.compare.limit}), added to all comparisons so far")
        elif stage.startswith("compare"):
            print("   " + json.dumps(to_dict(config.compare), sort_keys=True) + f" split "
                  f"{'train' if stage == 'compare' else 'validation (k = validation_k, limit = validation_limit, noise 0)'}")
        else:
            models = ", ".join(m if m.startswith("base") else f"<{m}>" for m in model_stages(config))
            print("   " + json.dumps({**to_dict(config.eval), "truthfulqa": truthfulqa_source(config.eval)}, sort_keys=True)
                  + f"; models {models} against {config.eval.baseline or '<sft>'}")


# ---- the command --------------------------------------------------------------------------------


def add_verb(parser: argparse.ArgumentParser) -> None:
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = __doc__.split("\n\n", 1)[1].replace("``", "")
    parser.add_argument("--preset", default="cpu", help=f"pipeline preset: {', '.join(preset_names(STAGE))} "
                        "(default cpu), or a YAML path")
    parser.add_argument("--labeler", default=None,
                        help="who ranks the sampled answers: gold (default), llm:MODEL@URL; or votes:DB, the arena's "
                             "votes database (instructrl serve --votes-db): the extra rounds then train on the votes "
                             "collected since the last round")
    parser.add_argument("--rounds", type=int, default=None,
                        help="extra rounds after the first pass (default 0): fresh comparisons of the latest policy, "
                             "a reward model on all comparisons so far, PPO-ptx from the latest policy")
    parser.add_argument("--noise", type=float, default=None, help="share of pairwise labels flipped for training "
                        "(default 0.25; the held-out comparisons are always clean)")
    parser.add_argument("--truthfulqa", default=None, help="TruthfulQA CSV/JSON(L) or hub name for the eval")
    parser.add_argument("--baseline", default=None,
                        help="the model the win rates are against: any eval model spec, e.g. a far larger model "
                             "behind an OpenAI-compatible URL, openai:NAME@URL (default: the run's SFT checkpoint)")
    parser.add_argument("--out", default=None, help="output folder (default pipeline-runs/PRESET); reuse it to resume")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="any pipeline key, e.g. --set compare.k=6 --set ppo.ptx_coef=2 "
                             "--set sft.overrides.run.max_steps=40")
    parser.add_argument("--dry-run", action="store_true", help="print the stages and their resolved settings, run nothing")
    parser.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    labeler_key = "rounds.labeler" if (args.labeler or "").startswith("votes:") else "compare.labeler"
    flags = [f"{labeler_key}={args.labeler}"] if args.labeler else []
    flags += [f"rounds.count={args.rounds}"] if args.rounds is not None else []
    flags += [f"compare.noise={args.noise}"] if args.noise is not None else []
    flags += [f"eval.truthfulqa={args.truthfulqa}"] if args.truthfulqa else []
    flags += [f"eval.baseline={args.baseline}"] if args.baseline else []
    config = load_config(args.preset, flags + args.overrides)
    out = Path(args.out or Path("pipeline-runs") / Path(args.preset).stem)
    if args.dry_run:
        dry_run(config, out)
        return 0
    started = time.perf_counter()
    rows = run_pipeline(config, out)
    report = write_outputs(config, args.preset, out, rows)
    print(f"\npipeline finished in {time.perf_counter() - started:.0f} s")
    for line in table(rows):
        print(line)
    failed = rows[-1].numbers.get("failed_parts")
    if failed:
        print(f"warning: eval parts {', '.join(failed)} did not run (see {rows[-1].output}); "
              "rerun with the missing data (e.g. --truthfulqa PATH) to complete them")
    names = " ".join(f"--model {rows_by(rows, s).output}" for s in ("sft", "ppo", "ppo-ptx"))
    print(f"serve the models (chat, arena and votes at /ui): instructrl serve {names} --ui")
    print(report.resolve())
    # TruthfulQA is data the project cannot ship: without it the run is complete but for that section
    return 1 if set(failed or []) - {"truthfulqa"} else 0


def rows_by(rows: list[StageRow], stage: str) -> StageRow:
    return next(r for r in rows if r.stage == stage)



