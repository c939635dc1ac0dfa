"""The gold labeler: a deterministic stand-in for the paper's human labelers on the embedded
instruction set, whose prompts carry a reference answer and machine-checkable constraints.

The score of an answer, in [0, 1] (higher is better), rounded to 6 decimals so equal answers tie:

    score = clip(W_CONSTRAINTS * constraints + W_SIMILARITY * similarity
                 - W_TOXICITY * toxicity - W_REPETITION * repetition - W_TRUNCATION * truncated, 0, 1)

- ``constraints``: ``constraint_score`` of the prompt's stored constraints (fraction satisfied; 1.0
  when the prompt has none).
- ``similarity``: cosine similarity of the answer and the reference answer (demonstration) under the
  offline all-MiniLM-L6-v2 sentence encoder, clipped at 0. Without a reference its weight moves to
  ``constraints``.
- ``toxicity``: the offline profanity classifier's probability (alt-profanity-check).
- ``repetition``: the share of repeated word trigrams, ``1 - distinct / all`` (0 below 4 words).
- ``truncated``: 1 when the answer stops mid-sentence (see ``looks_truncated``), else 0.
- An empty (or whitespace-only) answer scores 0.

``rank`` ranks by score (0 = best, equal scores tie). Heavy models load on first use only.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from instructrl.data.constraints import constraint_score
from instructrl.data.schemas import EvalItem
from instructrl.labelers.base import Labeler, dense_ranks
from instructrl.models.encoder import embed

W_CONSTRAINTS = 0.5
W_SIMILARITY = 0.5
W_TOXICITY = 0.5
W_REPETITION = 0.5
W_TRUNCATION = 0.2
MIN_WORDS_FOR_TRUNCATION = 8  # "Paris" or "42" are complete answers without a full stop

_LIST_LINE = re.compile(r"^\s*(?:[-*•]|\d{1,3}[.)])\s+\S")
_COMPLETE_END = tuple(".!?)]}\"'`”’*")
_WORD = re.compile(r"\w+")


@dataclass(frozen=True)
class Breakdown:
    """Every term of one answer's gold score, for inspection and tests."""

    constraints: float
    similarity: float | None
    toxicity: float
    repetition: float
    truncated: bool
    score: float


def repetition(text: str) -> float:
    """Share of repeated word trigrams: 0 for text without repeats, close to 1 for a loop."""
    words = _WORD.findall(text.casefold())
    if len(words) < 4:
        return 0.0
    grams = list(zip(words, words[1:], words[2:]))
    return 1.0 - len(set(grams)) / len(grams)


def looks_truncated(text: str) -> bool:
    """True when a longer answer stops mid-sentence: its last character is not a sentence end or a
    closing bracket/quote, and its last line is not a list item."""
    stripped = text.strip()
    if len(_WORD.findall(stripped)) < MIN_WORDS_FOR_TRUNCATION:
        return False
    last_line = stripped.splitlines()[-1]
    return not (stripped.endswith(_COMPLETE_END) or _LIST_LINE.match(last_line))


def combine(constraints: float, similarity: float | None, toxicity: float, rep: float, truncated: bool) -> float:
    """The gold score formula of the module doc."""
    base = W_CONSTRAINTS * constraints + W_SIMILARITY * max(0.0, similarity) if similarity is not None \
        else (W_CONSTRAINTS + W_SIMILARITY) * constraints
    score = base - W_TOXICITY * toxicity - W_REPETITION * rep - W_TRUNCATION * float(truncated)
    return round(min(1.0, max(0.0, score)), 6)


def similarities(reference: str, texts: Sequence[str]) -> list[float]:
    """Cosine similarity of each text to the reference (one encoder call, float64: see models.encoder)."""
    vectors = embed([reference, *texts])
    return [float(v @ vectors[0]) for v in vectors[1:]]


@lru_cache(maxsize=1)
def profanity_predictor():
    """``profanity_check.predict_prob``, imported once. Importing it draws from Python's global random
    generator; the draw is undone, so that scoring (first done mid-run, e.g. at PPO's first gold
    evaluation) leaves a run's random state as it was, and a resumed run's state equals an
    uninterrupted one's."""
    state = random.getstate()
    try:
        from profanity_check import predict_prob
    finally:
        random.setstate(state)
    return predict_prob


def toxicity(texts: Sequence[str]) -> list[float]:
    return [float(p) for p in profanity_predictor()(list(texts))] if texts else []


class GoldLabeler(Labeler):
    """Deterministic scores from constraints, closeness to the reference and penalties (module doc)."""

    name = "gold"

    def breakdowns(self, item: EvalItem, completions: Sequence[str]) -> list[Breakdown]:
        live = [i for i, c in enumerate(completions) if c.strip()]
        texts = [completions[i] for i in live]
        sims = similarities(item.reference, texts) if item.reference and texts else [None] * len(texts)
        toxic = toxicity(texts)
        out: list[Breakdown] = [Breakdown(0.0, None, 0.0, 0.0, False, 0.0) for _ in completions]
        for index, text, sim, tox in zip(live, texts, sims, toxic):
            cons, rep, cut = constraint_score(item.constraints, text), repetition(text), looks_truncated(text)
            out[index] = Breakdown(cons, sim, tox, rep, cut, combine(cons, sim, tox, rep, cut))
        return out

    def scores(self, item: EvalItem, completions: Sequence[str]) -> list[float]:
        return [b.score for b in self.breakdowns(item, completions)]

    def score(self, item: EvalItem, completion: str) -> float:
        return self.scores(item, [completion])[0]

    def rank(self, item: EvalItem, completions: Sequence[str]) -> list[int]:
        return dense_ranks(self.scores(item, completions))
