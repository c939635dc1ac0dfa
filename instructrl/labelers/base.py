"""The labeler interface: something that ranks K answers to one prompt (the paper's labelers,
Ouyang et al. 2022, sec. 3.4), simulated here by a gold rule, a noisy wrapper or an LLM judge.

``rank`` is the one required method; ``score`` and ``prefer`` follow from it where meaningful.
Ranks use the ``Comparison`` convention: 0 = best, equal ranks are ties.
"""

from __future__ import annotations

from collections.abc import Sequence

from instructrl.data.schemas import EvalItem


def dense_ranks(scores: Sequence[float], higher_is_better: bool = True) -> list[int]:
    """Ranks from scores: the best distinct score gets 0, the next distinct one 1, equal scores tie.

    [0.2, 0.9, 0.2] -> [1, 0, 1]."""
    distinct = sorted(set(scores), reverse=higher_is_better)
    position = {value: i for i, value in enumerate(distinct)}
    return [position[s] for s in scores]


class Labeler:
    """Ranks answers to a prompt. Subclasses implement ``rank`` (and ``score`` when they score)."""

    name = "labeler"

    def rank(self, item: EvalItem, completions: Sequence[str]) -> list[int]:
        raise NotImplementedError

    def score(self, item: EvalItem, completion: str) -> float:
        raise NotImplementedError(f"the {self.name} labeler ranks answers but does not score them one by one")

    def prefer(self, item: EvalItem, a: str, b: str) -> float:
        """1.0 if ``a`` is better than ``b``, 0.0 if worse, 0.5 for a tie."""
        rank_a, rank_b = self.rank(item, [a, b])
        return 1.0 if rank_a < rank_b else 0.0 if rank_a > rank_b else 0.5

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name}>"
