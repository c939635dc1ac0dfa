"""Labeler noise for training data (AlpacaFarm-style simulated annotators, Dubois et al. 2023):
every pairwise decision of a wrapped labeler is flipped with probability ``flip`` (default 25 %).

For K = 2 that is exactly AlpacaFarm's label flip. For K > 2 the answers are sorted with a noisy
comparator: each pair's clean verdict is drawn once, flipped with probability ``flip``, and the
sort orders the answers by those (possibly inconsistent) verdicts, so the result is still a
ranking. Ties stay ties. The coin flips come from a generator seeded by (seed, prompt id, answers),
so a row gets the same noisy label whatever the order rows are labelled in. Evaluation keeps the
clean labeler: use noise for training labels only.
"""

from __future__ import annotations

import functools
import hashlib
import json
import random
from collections.abc import Sequence

from instructrl.data.schemas import EvalItem
from instructrl.errors import ConfigError
from instructrl.labelers.base import Labeler

DEFAULT_FLIP = 0.25


class NoisyLabeler(Labeler):
    def __init__(self, inner: Labeler, flip: float = DEFAULT_FLIP, seed: int = 0):
        if not 0 <= flip <= 1:
            raise ConfigError(f"label noise {flip} is out of range", "use a flip probability in [0, 1], e.g. 0.25")
        self.inner, self.flip, self.seed = inner, flip, seed
        self.name = f"noisy({inner.name},{flip:g})"

    def _rng(self, item: EvalItem, completions: Sequence[str]) -> random.Random:
        blob = json.dumps([self.seed, item.id, list(completions)], ensure_ascii=False).encode()
        return random.Random(int(hashlib.sha256(blob).hexdigest()[:16], 16))

    def rank(self, item: EvalItem, completions: Sequence[str]) -> list[int]:
        clean = self.inner.rank(item, completions)
        rng = self._rng(item, completions)
        k = len(completions)
        verdict: dict[tuple[int, int], int] = {}  # (i, j), i < j: -1 if i goes first, 1 if j does, 0 tie
        for i in range(k):
            for j in range(i + 1, k):
                v = (clean[i] > clean[j]) - (clean[i] < clean[j])
                verdict[i, j] = -v if v and rng.random() < self.flip else v

        def compare(i: int, j: int) -> int:
            return verdict[i, j] if i < j else -verdict[j, i] if i > j else 0

        order = sorted(range(k), key=functools.cmp_to_key(compare))
        ranks, current = [0] * k, 0
        for position, index in enumerate(order):
            if position and compare(order[position - 1], index) != 0:
                current += 1
            ranks[index] = current
        return ranks

    def score(self, item: EvalItem, completion: str) -> float:
        return self.inner.score(item, completion)  # noise lives in decisions, not in scores
