"""An LLM labeler: asks any OpenAI-compatible chat-completions endpoint to rank K answers.

The answers are shown in a random order (seeded per prompt), so a judge's position bias does not
favour the first answer; the reply's order is mapped back. The judge must reply with the answer
numbers best first ("2, 1, 3"). A reply that is not such a permutation is retried, then counted in
``stats["parse_failures"]`` and returned as an all-tie ranking, which a ``Comparison`` rejects, so
callers see and count it instead of training on a guess.

    get_labeler("llm:gpt-4o-mini@https://api.openai.com/v1")   # key from $OPENAI_API_KEY
"""

from __future__ import annotations

import hashlib
import random
import re
from collections.abc import Sequence

from instructrl.data.schemas import EvalItem, prompt_text
from instructrl.labelers.base import Labeler

SYSTEM = ("You are a careful evaluator of AI assistant answers. Rank the answers to the user's request from "
          "best to worst for helpfulness, truthfulness and harmlessness.")
INSTRUCTIONS = ("Reply with the answer numbers only, best first, separated by commas (for example: 2, 1, 3). "
                "Use every number exactly once.")


def build_messages(request: str, answers: Sequence[str]) -> list[dict[str, str]]:
    shown = "\n\n".join(f"[Answer {n}]\n{a}\n[End of answer {n}]" for n, a in enumerate(answers, start=1))
    user = f"[Request]\n{request}\n[End of request]\n\n{shown}\n\n{INSTRUCTIONS}"
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": user}]


def parse_order(reply: str, k: int) -> list[int] | None:
    """The 0-based answer order in ``reply`` ("2, 1, 3" -> [1, 0, 2]), or None unless it names each of
    1..k exactly once."""
    numbers = [int(n) for n in re.findall(r"\d+", reply)]
    if sorted(numbers) != list(range(1, k + 1)):
        return None
    return [n - 1 for n in numbers]


class LLMLabeler(Labeler):
    def __init__(self, model: str, base_url: str, api_key: str | None = None, retries: int = 1,
                 timeout: float = 60.0, seed: int = 0):
        from instructrl.remote import Endpoint, RemoteSpec

        self.model, self.base_url = model, base_url.rstrip("/")
        self.endpoint = Endpoint(RemoteSpec(model, self.base_url), timeout, api_key=api_key, role="the judge endpoint")
        self.retries, self.timeout, self.seed = retries, timeout, seed
        self.name = f"llm:{model}"
        self.stats = {"calls": 0, "parse_failures": 0}

    def _ask(self, messages: list[dict[str, str]]) -> str:
        return self.endpoint.chat(messages, temperature=0).text

    def rank(self, item: EvalItem, completions: Sequence[str]) -> list[int]:
        k = len(completions)
        digest = hashlib.sha256(f"{self.seed}:{item.id}:{k}".encode()).hexdigest()
        shown = list(range(k))
        random.Random(int(digest[:16], 16)).shuffle(shown)  # shown[n] = index of the n-th answer shown
        messages = build_messages(prompt_text(item.prompt), [completions[i] for i in shown])
        for _ in range(1 + self.retries):
            self.stats["calls"] += 1
            order = parse_order(self._ask(messages), k)
            if order is not None:
                ranks = [0] * k
                for position, n in enumerate(order):
                    ranks[shown[n]] = position
                return ranks
        self.stats["parse_failures"] += 1
        return [0] * k
