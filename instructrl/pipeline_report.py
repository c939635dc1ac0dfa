"""The pipeline's report: the paper's figures for one run, from the stages' own outputs.

``write_outputs`` writes ``report.html`` and ``results.json`` beside each other:

* the stage table, then "what this run shows": sentences that ``findings`` builds from the numbers
  below (which orderings hold, which CIs overlap), never fixed text;
* the reward model's held-out accuracy with its exact binomial CI;
* the over-optimisation curves of PPO and PPO-ptx: proxy (RM) and gold score of held-out answers
  against √KL (each PPO checkpoint's ``overoptimisation.json``);
* the alignment tax: held-out pretraining loss of SFT, PPO and PPO-ptx with 95 % CIs over documents,
  and the paired difference PPO-ptx − PPO (each PPO checkpoint's ``alignment_tax.json``);
* the eval suite's sections: win rates against the baseline with their length-controlled twins,
  TruthfulQA and toxicity, with their plots.
"""

from __future__ import annotations

import html
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MODELS = ("base", "base-prompted", "sft", "ppo", "ppo-ptx")  # the five of the paper's Fig. 1
PPO_STAGES = ("ppo", "ppo-ptx")
RESULTS, REPORT = "results.json", "report.html"
CHANCE = 0.5


@dataclass(frozen=True)
class Estimate:
    value: float
    low: float
    high: float
    n: int = 0

    def above(self, level: float) -> bool:
        return self.low > level

    def below(self, level: float) -> bool:
        return self.high < level

    def overlaps(self, other: Estimate) -> bool:
        return self.low <= other.high and other.low <= self.high

    def text(self, digits: int = 3) -> str:
        return f"{self.value:.{digits}f} [{self.low:.{digits}f}, {self.high:.{digits}f}]"


# ---- the numbers -----------------------------------------------------------------------------------


def win_rates(eval_results: dict[str, Any], labels: dict[str, str]) -> dict[str, dict[str, Any]]:
    """Label -> raw and length-controlled win rate against the baseline, from the eval's results."""
    out = {}
    for row in eval_results["sections"].get("winrate", {}).get("models", []):
        lc = row.get("length_controlled") or {}
        entry = {"raw": Estimate(row["win_rate"], *row["ci"], n=row["n"])}
        if lc.get("win_rate") is not None:
            entry["lc"] = Estimate(lc["win_rate"], *lc["ci"], n=lc.get("n", row["n"]))
            entry["mean_length"], entry["baseline_mean_length"] = lc.get("mean_length"), lc.get("baseline_mean_length")
        out[labels.get(row["name"], row["name"])] = entry
    return out


def alignment_tax(chunks: dict[str, dict[str, list]]) -> dict[str, Any]:
    """Held-out pretraining loss per token with 95 % CIs over documents for SFT and each PPO run, and
    the paired difference PPO-ptx − PPO, from the per-chunk ``[nll, tokens]`` the PPO stage saves
    (``chunks``: stage -> {"sft": [...], "policy": [...]})."""
    from evals.stats import paired_ratio_difference_ci, ratio_ci

    def arm(rows: list) -> tuple[list[float], list[float]]:
        return [float(r[0]) for r in rows], [float(r[1]) for r in rows]

    def estimate(rows: list) -> Estimate:
        nll, tokens = arm(rows)
        return Estimate(sum(nll) / sum(tokens), *ratio_ci(nll, tokens), n=len(rows))

    losses: dict[str, Estimate] = {}
    for stage, saved in chunks.items():
        if saved.get("sft") and "sft" not in losses:
            losses["sft"] = estimate(saved["sft"])
        if saved.get("policy"):
            losses[stage] = estimate(saved["policy"])
    out: dict[str, Any] = {"loss": losses}
    ppo, ptx = (chunks.get(s, {}).get("policy") for s in PPO_STAGES)
    if ppo and ptx and len(ppo) == len(ptx):
        low, high = paired_ratio_difference_ci(arm(ptx), arm(ppo))
        out["ptx_minus_ppo"] = Estimate(losses["ppo-ptx"].value - losses["ppo"].value, low, high, n=len(ppo))
    return out


def curve_summary(points: list[dict[str, float]]) -> dict[str, float]:
    """A curve's first and last proxy and gold scores and its last KL."""
    if not points:
        return {}
    first, last = points[0], points[-1]
    return {k: v for k, v in {"proxy_start": first.get("proxy"), "proxy_end": last.get("proxy"),
                              "gold_start": first.get("gold"), "gold_end": last.get("gold"),
                              "kl_end": last.get("kl")}.items() if v is not None}


# ---- what the numbers show -------------------------------------------------------------------------


def _versus(label: str, estimate: Estimate, baseline: str) -> str:
    if estimate.above(CHANCE):
        verdict = f"beats {baseline}: its whole 95 % CI lies above 0.5"
    elif estimate.below(CHANCE):
        verdict = f"loses to {baseline}: its whole 95 % CI lies below 0.5"
    else:
        verdict = f"is not distinguishable from {baseline}: its 95 % CI contains 0.5"
    return f"{label} {verdict} (win rate {estimate.text()}, n = {estimate.n})."


def _ordering(chain: list[str], rates: dict[str, Estimate]) -> str | None:
    """Whether ``chain[0] > chain[1] > ...`` holds by their win rates against one baseline."""
    present = [m for m in chain if m in rates]
    if len(present) < 2:
        return None
    pairs = list(zip(present, present[1:]))
    order = " > ".join(present)
    if any(rates[a].value <= rates[b].value for a, b in pairs):
        wrong = [f"{a} ≤ {b}" for a, b in pairs if rates[a].value <= rates[b].value]
        return f"The paper's ordering {order} does not hold here: {', '.join(wrong)}."
    overlapping = [f"{a} and {b}" for a, b in pairs if rates[a].overlaps(rates[b])]
    if overlapping:
        return (f"The paper's ordering {order} holds by the point estimates, but the CIs of "
                f"{'; '.join(overlapping)} overlap.")
    return f"The paper's ordering {order} holds, with no two neighbours' CIs overlapping."


def _length(label: str, entry: dict[str, Any]) -> str | None:
    raw, lc = entry["raw"], entry.get("lc")
    if lc is None or not raw.above(CHANCE):
        return None
    lengths = ""
    if entry.get("mean_length") is not None and entry.get("baseline_mean_length") is not None:
        lengths = f" (mean answer length {entry['mean_length']:.0f} vs the baseline's {entry['baseline_mean_length']:.0f} characters)"
    if lc.above(CHANCE):
        return f"{label}'s advantage holds at equal length: length-controlled win rate {lc.text()}{lengths}."
    return (f"At equal length {label}'s advantage is not established: length-controlled win rate {lc.text()}"
            f"{lengths}, so part of what it learned is to answer at a different length.")


def findings(numbers: dict[str, Any]) -> list[str]:
    """Sentences about one run, each computed from ``numbers``: ``baseline`` (label), ``win_rates``
    (``win_rates``' output), ``rm`` (an Estimate of held-out accuracy), ``tax`` (``alignment_tax``'s
    output) and ``curves`` (stage -> ``curve_summary``)."""
    out: list[str] = []
    baseline, rates = numbers.get("baseline", "the baseline"), numbers.get("win_rates", {})
    for label in [m for m in MODELS if m in rates] + [m for m in rates if m not in MODELS]:
        if label != baseline:  # the baseline against itself is 0.5 by construction
            out.append(_versus(label, rates[label]["raw"], baseline))
    raw = {label: entry["raw"] for label, entry in rates.items()}
    if baseline in MODELS:
        raw.setdefault(baseline, Estimate(CHANCE, CHANCE, CHANCE))  # the baseline against itself
    for chain in (["sft", "base-prompted", "base"], ["ppo", "sft"], ["ppo-ptx", "sft"]):
        if len(chain) == 2 and chain[-1] == baseline:
            continue  # said above: that is the model's win rate against the baseline
        if (sentence := _ordering(chain, raw)) is not None:
            out.append(sentence)
    rounds = sorted((label for label in raw if label.startswith("ppo-ptx-r")), key=lambda x: int(x.rpartition("r")[2]))
    for earlier, later in zip(["ppo-ptx", *rounds], rounds):  # did a round of fresh comparisons help?
        if (sentence := _ordering([later, earlier], raw)) is not None:
            out.append(sentence.replace("The paper's ordering", "The round's improvement"))
    out += [s for label in (*PPO_STAGES, *rounds) if label in rates and (s := _length(label, rates[label]))]
    if (rm := numbers.get("rm")) is not None:
        verdict = ("above chance" if rm.above(CHANCE) else "below chance: it has learned the labels' opposite"
                   if rm.below(CHANCE) else "not distinguishable from chance")
        out.append(f"The reward model orders held-out pairs correctly {rm.text()} of the time (n = {rm.n} pairs): "
                   f"{verdict}.")
    tax = numbers.get("tax", {})
    loss = tax.get("loss", {})
    for label in PPO_STAGES:
        if label in loss and "sft" in loss:
            change = loss[label].value - loss["sft"].value
            out.append(f"{label}'s held-out pretraining loss is {loss[label].text()} against SFT's "
                       f"{loss['sft'].text()}: {'a tax of' if change > 0 else 'a change of'} {change:+.3f} nats per token.")
    if (diff := tax.get("ptx_minus_ppo")) is not None:
        side = ("below PPO's, and the paired CI of the difference excludes 0" if diff.below(0) else
                "above PPO's, and the paired CI excludes 0" if diff.above(0) else
                "not distinguishable from PPO's: the paired CI of the difference contains 0")
        out.append(f"PPO-ptx's pretraining loss is {side} (difference {diff.text()}, n = {diff.n} documents).")
    for label, curve in numbers.get("curves", {}).items():
        if "proxy_start" not in curve:
            continue
        sentence = (f"During {label} the reward model's score of held-out answers went from {curve['proxy_start']:.3f} "
                    f"to {curve['proxy_end']:.3f}")
        if "gold_start" in curve:
            sentence += f" and the gold score from {curve['gold_start']:.3f} to {curve['gold_end']:.3f}"
            if curve["proxy_end"] > curve["proxy_start"] and curve["gold_end"] < curve["gold_start"]:
                sentence += " — the proxy rose while the gold score fell: over-optimisation"
        out.append(sentence + f", at a final KL of {curve.get('kl_end', float('nan')):.2f} nats.")
    return out


# ---- the page --------------------------------------------------------------------------------------


def ppo_outputs(stage_outputs: dict[str, str], registry) -> tuple[dict[str, list], dict[str, dict]]:
    """Each PPO checkpoint's over-optimisation curve and per-chunk pretraining losses (empty when the
    checkpoint has none: e.g. no held-out corpus)."""
    from train.overoptimisation import CURVE_FILE
    from train.ptx import TAX_FILE

    curves, chunks = {}, {}
    for stage in PPO_STAGES:
        if stage not in stage_outputs:
            continue
        folder = registry.get(stage_outputs[stage]).path
        for target, file in ((curves, CURVE_FILE), (chunks, TAX_FILE)):
            if (folder / f"{file}.json").is_file():
                target[stage] = json.loads((folder / f"{file}.json").read_text())
    return curves, chunks


def _estimate_cells(e: Estimate | None, digits: int = 3) -> list[str]:
    return ["–", "–"] if e is None else [f"{e.value:.{digits}f}", f"[{e.low:.{digits}f}, {e.high:.{digits}f}]"]


def sections_html(numbers: dict[str, Any], images: dict[str, Path]) -> str:
    from evals.report import _image, _table

    parts = ["<h2>What this run shows</h2><ul>" + "".join(f"<li>{html.escape(s)}</li>" for s in numbers["findings"])
             + "</ul>"]
    if (rm := numbers.get("rm")) is not None:
        parts.append("<h2>Reward model</h2>" + _table(["held-out pairwise accuracy", "95 % CI (exact)", "pairs"],
                                                      [[*_estimate_cells(rm), str(rm.n)]]))
    if "overoptimisation" in images:
        parts.append("<h2>Reward over-optimisation</h2>"
                     + _image(images["overoptimisation"], "proxy (reward model) and gold score of held-out answers "
                              "against √KL to SFT, one point per measurement during PPO and PPO-ptx"))
    loss = numbers.get("tax", {}).get("loss", {})
    if loss:
        rows = [[label, *_estimate_cells(e), str(e.n)] for label, e in loss.items()]
        if (diff := numbers["tax"].get("ptx_minus_ppo")) is not None:
            rows.append(["PPO-ptx − PPO (paired)", *_estimate_cells(diff), str(diff.n)])
        parts.append("<h2>Alignment tax</h2><p>Held-out pretraining loss (nats per token; lower is better), 95 % "
                     "bootstrap CIs over documents.</p>"
                     + _table(["model", "loss", "95 % CI", "documents"], rows))
        if "alignment_tax" in images:
            parts.append(_image(images["alignment_tax"], "held-out pretraining loss of SFT, PPO and PPO-ptx"))
    return "".join(parts)


def draw(numbers: dict[str, Any], curves: dict[str, list], folder: Path) -> dict[str, Path]:
    from evals.plots import TYPE_COLOURS, grouped_bars, reward_vs_kl

    colours = {"sft": TYPE_COLOURS["SFT"], "ppo": TYPE_COLOURS["PPO"], "ppo-ptx": TYPE_COLOURS["PPO-ptx"]}
    images = {}
    if any(curves.values()):
        images["overoptimisation"] = reward_vs_kl(folder / "overoptimisation.png",
                                                  {k: v for k, v in curves.items() if v}, colours)
    loss = numbers.get("tax", {}).get("loss", {})
    if loss:
        low, top = min(e.low for e in loss.values()), max(e.high for e in loss.values())
        margin = max(top - low, 0.01)  # zoomed in on the differences: the bars do not start at 0
        images["alignment_tax"] = grouped_bars(
            folder / "alignment_tax.png", ["held-out pretraining loss"],
            {label: [(e.value, e.low, e.high)] for label, e in loss.items()},
            "Alignment tax: held-out pretraining loss (95 % CI; axis not from 0)", "nats per token",
            ylim=(max(low - margin, 0.0), top + margin),
            colours=colours)
    return images


def _json(value: Any) -> Any:
    if isinstance(value, Estimate):
        return {"value": value.value, "ci": [value.low, value.high], "n": value.n}
    if isinstance(value, dict):
        return {k: _json(v) for k, v in value.items()}
    return value


def write_outputs(config, preset: str, out: Path, rows: list, registry=None) -> Path:
    """``results.json`` (the stage table, the numbers and findings) and ``report.html`` (the table, the
    findings and the pipeline's figures, then the eval suite's sections) in ``out``; returns the report."""
    from evals.report import _table, write_html
    from instructrl.checkpoints import Registry
    from instructrl.config import to_dict

    registry = registry or Registry()
    eval_dir = out / "eval"
    results = json.loads((eval_dir / RESULTS).read_text())
    outputs = {r.stage: r.output for r in rows}
    labels = {outputs.get(m, m): m for m in MODELS}
    labels.update({r.output: r.stage for r in rows if r.stage.startswith("ppo-ptx-r")})  # each round's policy
    curves, chunks = ppo_outputs(outputs, registry)
    rm = next((r.numbers for r in rows if r.stage == "rm"), {})
    numbers: dict[str, Any] = {
        "baseline": labels.get(results["sections"].get("winrate", {}).get("baseline", {}).get("name"), "the baseline"),
        "win_rates": win_rates(results, labels), "tax": alignment_tax(chunks),
        "curves": {stage: curve_summary(points) for stage, points in curves.items()}}
    if rm.get("accuracy") is not None:
        numbers["rm"] = Estimate(rm["accuracy"], rm["accuracy_ci_low"], rm["accuracy_ci_high"], int(rm.get("pairs") or 0))
    numbers["findings"] = findings(numbers)
    images = draw(numbers, curves, out)
    plots = {name: eval_dir / file for name, file in results.get("plots", {}).items()}
    preface = "<h2>Pipeline stages</h2>" + _table(
        ["stage", "status", "wall time (s)", "key metric", "output"],
        [[r.stage, r.status + (f" — {r.note}" if r.note else ""), f"{r.wall_s:.1f}", r.metric, Path(r.output).name]
         for r in rows]) + sections_html(numbers, images)
    report = write_html(out, results, plots, title=f"instructrl pipeline — preset {preset}", preface=preface)
    summary = {"preset": preset, "config": to_dict(config), "finished": time.strftime("%Y-%m-%d %H:%M:%S"),
               "wall_time_s": round(sum(r.wall_s for r in rows), 1),
               "stages": [{"stage": r.stage, "status": r.status, "wall_time_s": round(r.wall_s, 1), "output": r.output,
                           "metric": r.metric, "note": r.note, **r.numbers} for r in rows],
               "findings": numbers["findings"],
               "numbers": _json({k: v for k, v in numbers.items() if k != "findings"}),
               "figures": {name: str(path) for name, path in images.items()},
               "eval_results": str(eval_dir / RESULTS), "report": str(report)}
    (out / RESULTS).write_text(json.dumps(summary, indent=2, default=str))
    return report
