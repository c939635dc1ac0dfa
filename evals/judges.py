"""Pairwise judges: which of two answers to the same prompt is better.

``get_judge(name)`` picks one by name:

  gold            the project's gold labeler (``instructrl.labelers``): ranks by the prompt's stored
                  constraints and reference
  rm:SPEC         a reward model (``RewardModel.load(SPEC)``): the higher score wins
  llm:MODEL@URL   an LLM over any OpenAI-compatible chat API, with an AlpacaEval-style pairwise
                  prompt; replies that name neither answer are counted as parse failures
  votes:PATH      human votes exported from the serving database (Comparison rows, labeler "human")

A judge returns, for each (item, first, second), the first answer's outcome: 1 win, ½ tie, 0 loss,
or None when it gave no verdict (an unparsable reply, no vote on that pair). The caller randomises
which answer goes first and counts the Nones; judges never drop them silently.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from evals.stats import outcome_from_ranks, outcome_from_scores
from instructrl.data.schemas import Comparison, EvalItem
from instructrl.errors import ConfigError, InstructrlError

Outcome = float | None


class Judge:
    """Base class: ``judge`` returns one outcome (or None) per pair; ``failures`` counts the Nones by cause."""

    name = "judge"

    def __init__(self) -> None:
        self.failures: dict[str, int] = defaultdict(int)

    def judge(self, items: Sequence[EvalItem], first: Sequence[str], second: Sequence[str]) -> list[Outcome]:
        raise NotImplementedError

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "failures": dict(self.failures)}


class GoldJudge(Judge):
    """The gold labeler's ranking of the two answers (0 = best; equal ranks are a tie)."""

    name = "gold"

    def __init__(self, labeler: Any = None):
        super().__init__()
        if labeler is None:
            try:
                from instructrl.labelers import get_labeler
            except ImportError:
                raise InstructrlError("the gold labeler (instructrl.labelers) is not available in this install",
                                      "use another judge: --judge rm:SPEC, llm:MODEL@URL or votes:PATH") from None
            labeler = get_labeler("gold")
        self.labeler = labeler

    def judge(self, items: Sequence[EvalItem], first: Sequence[str], second: Sequence[str]) -> list[Outcome]:
        outcomes: list[Outcome] = []
        for item, a, b in zip(items, first, second):
            ranks = self.labeler.rank(item, [a, b])
            outcomes.append(outcome_from_ranks(ranks[0], ranks[1]))
        return outcomes


class RewardJudge(Judge):
    """A reward model's scores: the higher one wins, equal scores tie."""

    def __init__(self, spec: str, batch_size: int = 16):
        super().__init__()
        import torch

        from instructrl.models.reward import RewardModel

        self.name, self.batch_size = f"rm:{spec}", batch_size
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)  # a plain LM gets a fresh scalar head: seeded, so reruns judge alike
            self.model = RewardModel.load(spec)

    def judge(self, items: Sequence[EvalItem], first: Sequence[str], second: Sequence[str]) -> list[Outcome]:
        prompts = [item.prompt for item in items]
        scores = self.model.score(prompts + prompts, list(first) + list(second), batch_size=self.batch_size)
        n = len(prompts)
        return [outcome_from_scores(scores[i], scores[n + i]) for i in range(n)]


# AlpacaEval-style pairwise instructions, written for this project.
LLM_SYSTEM = ("You are a careful, impartial judge of answers written by AI assistants. You decide which of "
              "two answers to an instruction is better.")
LLM_TEMPLATE = """\
Decide which output answers the instruction better. Judge whether it does what the instruction asks, \
whether it is correct and honest, and whether it is clear. The order the outputs are shown in says \
nothing about their quality, and a longer answer is not better for being longer.

## Instruction

{instruction}

## Output (a)

{first}

## Output (b)

{second}

## Your verdict

Reply with exactly one of: Output (a)   or   Output (b)"""
_VERDICT = re.compile(r"output\s*\(?\s*([ab])\s*\)?", re.IGNORECASE)
_BARE = re.compile(r"^\W*\(?([ab])\)?\W*$", re.IGNORECASE)


def parse_verdict(reply: str) -> Outcome:
    """1.0 when the reply picks output (a), 0.0 for (b), None when it names neither or both."""
    found = {m.lower() for m in _VERDICT.findall(reply or "")}
    if not found:
        bare = _BARE.match((reply or "").strip())
        found = {bare.group(1).lower()} if bare else set()
    if len(found) != 1:
        return None
    return 1.0 if found == {"a"} else 0.0


class LLMJudge(Judge):
    """A chat model behind an OpenAI-compatible API, asked to pick output (a) or (b)."""

    def __init__(self, model: str, url: str, workers: int = 8, timeout: float = 120.0, max_tokens: int = 16,
                 retries: int = 2):
        super().__init__()
        from instructrl.remote import Endpoint, RemoteSpec

        self.endpoint = Endpoint(RemoteSpec(model, url.rstrip("/")), timeout, retries, role="judge endpoint")
        self.model, self.url = model, self.endpoint.spec.url
        self.name = f"llm:{model}@{self.url}"
        self.workers, self.max_tokens = workers, max_tokens
        self.replies: list[str] = []

    def messages(self, item: EvalItem, first: str, second: str) -> list[dict[str, str]]:
        instruction = item.prompt if isinstance(item.prompt, str) else "\n\n".join(
            f"{m['role']}: {m['content']}" for m in item.prompt)
        return [{"role": "system", "content": LLM_SYSTEM},
                {"role": "user", "content": LLM_TEMPLATE.format(instruction=instruction, first=first, second=second)}]

    def _ask(self, messages: list[dict[str, str]]) -> str:
        return self.endpoint.chat(messages, temperature=0.0, max_tokens=self.max_tokens).text

    def judge(self, items: Sequence[EvalItem], first: Sequence[str], second: Sequence[str]) -> list[Outcome]:
        requests = [self.messages(item, a, b) for item, a, b in zip(items, first, second)]
        with ThreadPoolExecutor(max_workers=self.workers) as pool:
            replies = list(pool.map(self._ask, requests))
        self.replies.extend(replies)
        outcomes = [parse_verdict(reply) for reply in replies]
        self.failures["parse_failures"] += sum(o is None for o in outcomes)
        return outcomes


class VotesJudge(Judge):
    """Human votes: every exported comparison (labeler "human") that ranked both answers to the same
    prompt is a vote; the majority decides, a split vote is a tie, no vote is None."""

    def __init__(self, path: str):
        super().__init__()
        from instructrl.data.loaders import load_records

        self.name = f"votes:{path}"
        loaded = load_records(path, Comparison, skip_bad_rows=True)
        self.votes: dict[tuple[str, str, str], list[float]] = defaultdict(list)
        humans = [c for c in loaded.records if c.labeler == "human"]
        if not humans:
            raise InstructrlError(f"{path} holds no comparisons labelled by humans (labeler \"human\")",
                                  "export the serving database's votes with `instructrl votes export`")
        for comparison in humans:
            key = _prompt_key(comparison.prompt)
            for i, a in enumerate(comparison.completions):
                for j, b in enumerate(comparison.completions):
                    if i != j:
                        self.votes[(key, a, b)].append(outcome_from_ranks(comparison.ranking[i], comparison.ranking[j]))
        self.n_votes = len(humans)

    def judge(self, items: Sequence[EvalItem], first: Sequence[str], second: Sequence[str]) -> list[Outcome]:
        outcomes: list[Outcome] = []
        for item, a, b in zip(items, first, second):
            votes = self.votes.get((_prompt_key(item.prompt), a, b))
            if not votes:
                self.failures["no_vote"] += 1
                outcomes.append(None)
                continue
            wins, losses = votes.count(1.0), votes.count(0.0)
            outcomes.append(1.0 if wins > losses else 0.0 if losses > wins else 0.5)
        return outcomes

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "human_comparisons": self.n_votes}


def _prompt_key(prompt: Any) -> str:
    return prompt.strip() if isinstance(prompt, str) else json.dumps(prompt, sort_keys=True)


JUDGES = {
    "gold": "the gold labeler (stored constraints and references)",
    "rm:SPEC": "a reward model checkpoint or model spec",
    "llm:MODEL@URL": "an LLM behind an OpenAI-compatible API, e.g. llm:gpt-4o@https://api.openai.com/v1",
    "votes:PATH": "human votes exported from the serving database (comparisons JSONL)",
}


def get_judge(name: str, **options: Any) -> Judge:
    """A judge by name (see the module doc); an unknown name lists the known ones."""
    kind, _, arg = (name or "").strip().partition(":")
    if kind == "gold" and not arg:
        return GoldJudge(**options)
    if kind == "rm" and arg:
        return RewardJudge(arg, **options)
    if kind == "llm" and arg:
        from instructrl.remote import parse_remote

        remote = parse_remote(name, "llm")
        return LLMJudge(remote.model, remote.url, **options)
    if kind == "votes" and arg:
        return VotesJudge(arg, **options)
    known = "; ".join(f"{k} ({v})" for k, v in JUDGES.items())
    raise ConfigError(f"unknown judge {name!r}", f"use one of: {known}")
