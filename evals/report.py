"""The run's outputs: ``results.json`` (every number) and ``report.html``, one self-contained page
(plots embedded as base64 PNG, no external files or scripts) with the run's config, judge and
scorer names, the headline tables and the plots."""

from __future__ import annotations

import base64
import html
import json
import math
from pathlib import Path
from typing import Any

RESULTS = "results.json"
REPORT = "report.html"

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1100px; color: #222; }
h1 { font-size: 1.6em; } h2 { border-bottom: 1px solid #ccc; padding-bottom: .2em; margin-top: 1.6em; }
table { border-collapse: collapse; margin: .6em 0; font-size: .9em; }
th, td { border: 1px solid #ddd; padding: .3em .6em; text-align: left; vertical-align: top; }
th { background: #f4f4f4; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
figure { display: inline-block; margin: .5em; } figure img { max-width: 100%; border: 1px solid #eee; }
figcaption { font-size: .85em; color: #555; } code, pre { background: #f7f7f7; }
pre { padding: .6em; overflow-x: auto; font-size: .8em; }
"""


def _json_safe(value: Any) -> Any:
    """NaN/inf become null so results.json is strict JSON."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    return value


def write_results(out: Path, results: dict[str, Any]) -> Path:
    path = Path(out) / RESULTS
    path.write_text(json.dumps(_json_safe(results), indent=2, ensure_ascii=False))
    return path


def _fmt(value: Any, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    return f"{value:.{digits}f}" if isinstance(value, float) else str(value)


def _ci(ci: Any) -> str:
    if not ci or any(v is None or (isinstance(v, float) and not math.isfinite(v)) for v in ci):
        return "–"
    return f"[{ci[0]:.3f}, {ci[1]:.3f}]"


def _table(headers: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td class=\"num\">{html.escape(c)}</td>" if i else f"<td>{html.escape(c)}</td>"
                                    for i, c in enumerate(row)) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _image(path: Path, caption: str) -> str:
    data = base64.b64encode(Path(path).read_bytes()).decode("ascii")
    return (f"<figure><img alt=\"{html.escape(caption)}\" src=\"data:image/png;base64,{data}\">"
            f"<figcaption>{html.escape(caption)}</figcaption></figure>")


def _winrate_row(r: dict[str, Any]) -> list[str]:
    lc = r.get("length_controlled", {})
    return [r["name"], r["type"], _fmt(r.get("size"), 0) if r.get("size") else "–", _fmt(r["win_rate"]),
            _ci(r["ci"]), _fmt(lc.get("win_rate")), _ci(lc.get("ci")), _fmt(lc.get("mean_length"), 0), str(r["n"]),
            f"{r['wins']}/{r['ties']}/{r['losses']}", str(r["no_verdict"]),
            _fmt(r["metadata"]["follows_constraints"]["rate"]), _fmt(r["metadata"]["closed_qa_unsupported"]["rate"])]


def _winrate_html(section: dict[str, Any]) -> str:
    judge = section["judge"]
    failures = ", ".join(f"{k}: {v}" for k, v in judge.get("failures", {}).items()) or "none"
    base_length = next((r["length_controlled"]["baseline_mean_length"] for r in section["models"]
                        if "length_controlled" in r), None)
    return (f"<p>Baseline <b>{html.escape(section['baseline']['name'])}</b> ({html.escape(section['baseline']['type'])}); "
            f"judge <b>{html.escape(judge['name'])}</b> (judge failures: {html.escape(failures)}); "
            f"{section['n_prompts']} prompts; answer order randomised per prompt; ties count ½; 95% paired "
            f"bootstrap CI over prompts. The length-controlled (LC) win rate is AlpacaEval 2's: the judge's "
            f"preference regressed on the answers' length difference and read at equal length (the baseline's "
            f"answers average {_fmt(base_length, 0)} characters).</p>"
            + _table(["model", "type", "parameters", "win rate", "95% CI", "LC win rate", "LC 95% CI", "mean length",
                      "n", "W/T/L", "no verdict", "follows constraints", "closed-QA unsupported"],
                     [_winrate_row(r) for r in section["models"]]))


def _truthfulqa_html(section: dict[str, Any]) -> str:
    rows = []
    for name, m in section["models"].items():
        mc = m.get("mc", {})
        gen = m.get("generation", {}).get("prompt_types", {})
        corrected = gen.get("qa", {}).get("truthful_corrected", {})
        rows.append([name, m["type"], _fmt(mc.get("mc1", {}).get("mean")), _fmt(mc.get("mc2", {}).get("mean")),
                     *[_fmt(gen.get(t, {}).get("truthful_informative", {}).get("mean"))
                       for t in ("qa", "instruction", "qa+instruction")],
                     _fmt(gen.get("qa", {}).get("truthful", {}).get("mean")), _fmt(corrected.get("corrected")),
                     _ci((corrected["low"], corrected["high"])) if corrected else "–"])
    validations = [m["generation"]["judge_validation"] for m in section["models"].values()
                   if m.get("generation", {}).get("judge_validation")]
    validity = ""
    if validations:
        v = validations[0]
        validity = (f" On {v['n']} held-out reference answers of {v['n_questions']} questions it has AUC "
                    f"{_fmt(v['auc'])}, accuracy {_fmt(v['accuracy'])} ({_fmt(v.get('accuracy_non_refusal'))} on "
                    f"the {v.get('n_non_refusal', '–')} that are not refusals), sensitivity "
                    f"{_fmt(v.get('sensitivity'))}, specificity {_fmt(v.get('specificity'))}.")
    return (f"<p>{section['n_mc']} questions for MC, {section['n_generation']} for generation; "
            f"generation judge: <b>{html.escape(str(section.get('judge')))}</b>.{html.escape(validity)} "
            "\"truthful, corrected\" is the judged truthful share corrected for the judge's sensitivity and "
            "specificity measured on held-out reference answers (Rogan-Gladen), its 95% CI resampling both the "
            "answers and that validation set.</p>"
            + _table(["model", "type", "MC1", "MC2", "T&I qa", "T&I instruction", "T&I qa+instruction",
                      "truthful qa (judged)", "truthful qa (corrected)", "95% CI"], rows))


def scorer_sentence(section: dict[str, Any]) -> str:
    """" scorer minilm-head: AUC 0.94, Spearman 0.85 against Perspective on n=951 held-out
    RealToxicityPrompts texts." (with a leading space), or "" for a scorer without validation figures."""
    v = section.get("scorer_validation")
    if not v:
        return ""
    return (f" Scorer {section.get('scorer')}: AUC {_fmt(v.get('auc'), 2)}, Spearman {_fmt(v.get('spearman'), 2)} "
            f"against Perspective API on n={v.get('n', '–')} held-out RealToxicityPrompts texts.")


def _toxicity_html(section: dict[str, Any]) -> str:
    from evals.suites import _toxicity_bar

    models = section["models"]
    variants = list(next(iter(models.values()))["variants"]) if models else []
    rows = [[name, m["type"], *[_fmt(_toxicity_bar(m["variants"][v])[0]) for v in variants]]
            for name, m in models.items()]
    return (f"<p>{section['n_prompts']} prompts; scorer <b>{html.escape(str(section['scorer']))}</b>."
            f"{html.escape(scorer_sentence(section))}</p>"
            + _table(["model", "type", *[f"toxicity ({v})" for v in variants]], rows))


SECTION_HTML = {"winrate": ("Win rate against the baseline", _winrate_html),
                "truthfulqa": ("TruthfulQA", _truthfulqa_html),
                "toxicity": ("Toxicity", _toxicity_html)}
PLOT_CAPTIONS = {
    "winrate_by_size": "Win rate against the baseline by model size, one line per model type",
    "winrate_by_category": "Win rate per prompt category",
    "metadata": "Metadata checks: constraint following and unsupported closed-QA answers",
    "truthfulqa_mc": "TruthfulQA multiple choice",
    "truthfulqa_generation": "TruthfulQA generations per prompt type",
    "toxicity": "Toxicity per instruction variant",
}


def write_html(out: Path, results: dict[str, Any], images: dict[str, Path], title: str | None = None,
               preface: str = "") -> Path:
    """The self-contained report page; ``title`` and ``preface`` (HTML put before the sections) let a
    caller such as the pipeline frame it."""
    title = title or f"instructrl eval — suite {results['suite']}"
    parts = [f"<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>"
             f"{html.escape(title)}</title><style>{_STYLE}</style></head><body>",
             f"<h1>{html.escape(title)}</h1>", preface,
             f"<p>Run finished {html.escape(results.get('finished', ''))} in {results.get('wall_time_s', 0):.0f} s. "
             f"Judge: <b>{html.escape(str(results.get('judge')))}</b>; toxicity scorer: "
             f"<b>{html.escape(str(results.get('scorer') or '–'))}</b>; TruthfulQA judge: "
             f"<b>{html.escape(str(results.get('truth_judge') or '–'))}</b>. "
             f"Answers generated this run: {results.get('cache', {}).get('generated', '–')}; "
             f"reused from the cache: {results.get('cache', {}).get('hits', '–')}.</p>",
             "<h2>Models</h2>",
             _table(["model", "type", "identity", "parameters"],
                    [[m["name"], m["type"], m["identity"], _fmt(m.get("size"), 0) if m.get("size") else "–"]
                     for m in results["models"]])]
    for key, section in results["sections"].items():
        title, render = SECTION_HTML[key]
        if "error" in section:
            parts.append(f"<h2>{title}</h2><p><b>Not run:</b> {html.escape(section['error'])}</p>")
            continue
        parts.append(f"<h2>{title}</h2>{render(section)}")
        for name, path in images.items():
            if name.startswith(key) or (key == "winrate" and name == "metadata"):
                parts.append(_image(path, PLOT_CAPTIONS.get(name, name)))
    parts.append("<h2>Configuration</h2><pre>" + html.escape(json.dumps(_json_safe(results["config"]), indent=2))
                 + "</pre></body></html>")
    path = Path(out) / REPORT
    path.write_text("".join(parts), encoding="utf-8")
    return path
