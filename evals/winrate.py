"""Win rate of each model against a baseline on the same held-out prompts (paper §4.1, Fig. 1).

Every model answers every prompt (through the generation cache); a pairwise judge compares each
answer with the baseline's answer to the same prompt. Which answer the judge sees first is decided
by a seeded coin per (model, prompt) and un-swapped afterwards. Identical answers are a tie without
asking the judge. Ties count ½; the interval is a bootstrap over prompts; n is the number of prompts
with a verdict, and prompts without one (unparsable judge replies, no human vote) are counted.

The same answers feed the paper's metadata checks (§4.1, Fig. 4): whether an answer follows the
constraints stored with its prompt, and, for closed-domain QA, whether it makes up content the input
does not support.
"""

from __future__ import annotations

import hashlib
import re
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import numpy as np

from evals.stats import (
    binomial_ci,
    bootstrap_ci,
    length_controlled_ci,
    paired_bootstrap_ci,
    sign_test_p_value,
    tally,
    win_rate,
)
from instructrl.data.constraints import check_constraints
from instructrl.data.schemas import EvalItem, prompt_text

CLOSED_QA = "closed_qa"
UNSUPPORTED_SHARE = 0.5  # more than half of an answer's content words absent from the input
_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)?")
_STOPWORD_TEXT = """
a about above after again against all also am an and any are as at be because been before being below
between both but by can could did do does doing down during each few for from further had has have having
he her here hers him his how i if in into is it its itself just me more most my no nor not now of off on
once only or other our ours out over own same she should so some such than that the their them then there
these they this those through to too under until up very was we were what when where which while who whom
why will with would you your yours yes answer text based according passage
"""
_STOPWORDS = frozenset(_STOPWORD_TEXT.split())


def first_is_model(seed: int, model: str, item_id: str) -> bool:
    """The seeded coin for one (model, prompt): True puts the model's answer first. A hash rather than
    a shared RNG stream, so adding a model or a prompt never changes the other coins."""
    digest = hashlib.sha256(f"{seed}|{model}|{item_id}".encode()).digest()
    return digest[0] % 2 == 0


def judge_pairs(judge, items: Sequence[EvalItem], answers: Sequence[str], baseline: Sequence[str],
                seed: int, model: str) -> list[float | None]:
    """The model's outcome against the baseline on each item (1 / ½ / 0, or None: no verdict)."""
    outcomes: list[float | None] = [0.5 if a == b else None for a, b in zip(answers, baseline)]
    todo = [i for i, a in enumerate(answers) if a != baseline[i]]
    if not todo:
        return outcomes
    model_first = [first_is_model(seed, model, items[i].id) for i in todo]
    firsts = [answers[i] if f else baseline[i] for i, f in zip(todo, model_first)]
    seconds = [baseline[i] if f else answers[i] for i, f in zip(todo, model_first)]
    verdicts = judge.judge([items[i] for i in todo], firsts, seconds)
    for i, f, verdict in zip(todo, model_first, verdicts):
        outcomes[i] = None if verdict is None else (verdict if f else 1.0 - verdict)
    return outcomes


def summarise(outcomes: Sequence[float | None], n_boot: int = 1000, seed: int = 0) -> dict[str, Any]:
    """Win rate, 95 % bootstrap CI over prompts, n, counts and a sign-test p-value."""
    judged = [o for o in outcomes if o is not None]
    low, high = bootstrap_ci(judged, n_boot=n_boot, seed=seed)
    return {"win_rate": win_rate(judged), "ci": [low, high], "n": len(judged),
            "no_verdict": len(outcomes) - len(judged), **tally(judged), "p_value": sign_test_p_value(judged)}


def length_controlled(outcomes: Sequence[float | None], answers: Sequence[str], baseline: Sequence[str],
                      seed: int = 0) -> dict[str, Any]:
    """The win rate at equal answer lengths (characters; ``evals.stats.length_controlled_win_rate``),
    with its CI, and the mean lengths, so that a win bought with length shows."""
    judged = [i for i, o in enumerate(outcomes) if o is not None]
    summary = length_controlled_ci([outcomes[i] for i in judged], [len(answers[i]) for i in judged],
                                   [len(baseline[i]) for i in judged], seed=seed)
    return {**summary, "mean_length": float(np.mean([len(a) for a in answers])) if answers else float("nan"),
            "baseline_mean_length": float(np.mean([len(b) for b in baseline])) if baseline else float("nan")}


def per_category(items: Sequence[EvalItem], outcomes: Sequence[float | None], n_boot: int = 1000,
                 seed: int = 0) -> dict[str, dict[str, Any]]:
    groups: dict[str, list[float | None]] = defaultdict(list)
    for item, outcome in zip(items, outcomes):
        groups[item.category].append(outcome)
    return {category: summarise(group, n_boot, seed) for category, group in sorted(groups.items())}


def content_words(text: str) -> list[str]:
    return [w for w in (m.lower() for m in _WORD.findall(text)) if w not in _STOPWORDS and (len(w) > 2 or w.isdigit())]


def unsupported_share(answer: str, source: str) -> float:
    """Share of the answer's content words (stop words dropped) that never occur in the input."""
    words = content_words(answer)
    if not words:
        return 0.0
    known = set(content_words(source))
    return sum(w not in known for w in words) / len(words)


def metadata_checks(items: Sequence[EvalItem], answers: Sequence[str]) -> dict[str, Any]:
    """Constraint following (via ``check_constraints``) and closed-QA answers unsupported by the input."""
    followed, per_constraint = [], defaultdict(list)
    closed = []
    for item, answer in zip(items, answers):
        verdicts = check_constraints(item.constraints, answer)
        if verdicts:
            followed.append(all(verdicts.values()))
            for name, ok in verdicts.items():
                per_constraint[name].append(ok)
        if item.category == CLOSED_QA:
            closed.append(unsupported_share(answer, prompt_text(item.prompt)) > UNSUPPORTED_SHARE)
    return {
        "follows_constraints": _rate(followed),
        "per_constraint": {name: _rate(values) for name, values in sorted(per_constraint.items())},
        "closed_qa_unsupported": _rate(closed),
        "unsupported_rule": f"more than {UNSUPPORTED_SHARE:.0%} of the answer's content words are not in the input",
    }


def _rate(values: Sequence[bool]) -> dict[str, Any]:
    n, hits = len(values), int(sum(values))
    low, high = binomial_ci(hits, n)
    return {"rate": hits / n if n else float("nan"), "ci": [low, high], "n": n}


def run_winrate(models: Sequence[Any], baseline: Any, items: Sequence[EvalItem], judge, params,
                seed: int = 0, n_boot: int = 1000, batch_size: int = 16) -> dict[str, Any]:
    """Generate (cached), judge against the baseline, summarise per model and per category."""
    prompts = [item.prompt for item in items]
    base_answers = [g.text for g in baseline.generate(prompts, params, batch_size=batch_size)]
    rows, outcomes_by_model = [], {}
    answers_by_model = {baseline.name: base_answers}
    for model in models:
        answers = (base_answers if model.identity == baseline.identity
                   else [g.text for g in model.generate(prompts, params, batch_size=batch_size)])
        answers_by_model[model.name] = answers
        outcomes = judge_pairs(judge, items, answers, base_answers, seed, model.identity)
        outcomes_by_model[model.name] = outcomes
        rows.append({**model.describe(), **summarise(outcomes, n_boot, seed),
                     "length_controlled": length_controlled(outcomes, answers, base_answers, seed),
                     "per_category": per_category(items, outcomes, n_boot, seed),
                     "metadata": metadata_checks(items, answers)})
    return {
        "baseline": {**baseline.describe(), "metadata": metadata_checks(items, base_answers)},
        "judge": judge.describe(),
        "n_prompts": len(items),
        "categories": dict(sorted(_counts(items).items())),
        "models": rows,
        "differences": pairwise_differences(outcomes_by_model, n_boot, seed),
        "answers": [{"id": item.id, "category": item.category, "prompt": prompt_text(item.prompt),
                     **{name: answers[i] for name, answers in answers_by_model.items()}}
                    for i, item in enumerate(items)],
    }


def _counts(items: Sequence[EvalItem]) -> dict[str, int]:
    counts: dict[str, int] = defaultdict(int)
    for item in items:
        counts[item.category] += 1
    return counts


def pairwise_differences(outcomes_by_model: dict[str, Sequence[float | None]], n_boot: int = 1000,
                         seed: int = 0) -> list[dict[str, Any]]:
    """Win-rate difference of each pair of models with a paired bootstrap CI over the prompts both
    have a verdict on (the same prompts resampled for both)."""
    names, out = list(outcomes_by_model), []
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            both = [(x, y) for x, y in zip(outcomes_by_model[a], outcomes_by_model[b])
                    if x is not None and y is not None]
            if not both:
                continue
            xs, ys = np.array([x for x, _ in both]), np.array([y for _, y in both])
            low, high = paired_bootstrap_ci(xs, ys, n_boot=n_boot, seed=seed)
            out.append({"model": a, "other": b, "difference": float(xs.mean() - ys.mean()), "ci": [low, high],
                        "n": len(both)})
    return out
