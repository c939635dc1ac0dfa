"""``UiBackend``: the plain, synchronous face of the server that the Gradio UI (and the compare
endpoint) call. It holds no state of its own beyond the model pool and the vote store it is given,
so one server process can build any number of UIs over it."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from instructrl.chat import as_messages
from instructrl.data.schemas import Prompt
from instructrl.errors import InstructrlError
from instructrl.models.policy import SamplingParams
from serve.engine import Event
from serve.models import ModelPool
from serve.settings import Settings


class GenerationFailed(InstructrlError):
    """A model could not produce an answer (engine error, timeout or proxy failure)."""


class UiBackend:
    """What the UI needs: list models, stream a chat answer, compare models, vote, read the leaderboard."""

    def __init__(self, pool: ModelPool, vote_store, settings: Settings):
        self.pool, self.votes, self.settings = pool, vote_store, settings

    def models(self) -> list[str]:
        """Names of every model this server answers to (local ones, registry checkpoints, proxies)."""
        return self.pool.names()

    def events(self, model: str, prompt: Prompt, params: SamplingParams) -> Iterator[Event]:
        """Engine-style events (token deltas, then done or error) for one chat answer."""
        yield from self.pool.get(model).chat_events(as_messages(prompt), params, self.settings.request_timeout_s)

    def chat_stream(self, model: str, messages: list[dict[str, str]], temperature: float = 0.7,
                    top_p: float = 1.0, max_tokens: int = 256) -> Iterator[str]:
        """Yield the growing answer text (each yield is the whole answer so far) to a conversation
        ``messages`` ([{role, content}], ending with a user turn). Raises GenerationFailed on error."""
        params = SamplingParams(max_new_tokens=min(max_tokens, self.settings.max_tokens_cap),
                                temperature=temperature, top_p=top_p)
        answer = ""
        for event in self.events(model, list(messages), params):
            if event.kind == "error":
                raise GenerationFailed(f"{model}: {event.text}", "try again, or pick another model")
            if event.kind == "token":
                answer += event.text
                yield answer

    def answer(self, model: str, prompt: Prompt, params: SamplingParams,
               stop: threading.Event | None = None) -> tuple[str, str | None]:
        """One complete answer and its finish reason; ``stop`` set ends the work at the next token."""
        text, finish = "", None
        for event in self.events(model, prompt, params):
            if stop is not None and stop.is_set():
                raise GenerationFailed(f"{model}: the comparison was stopped", "the client went away")
            if event.kind == "error":
                raise GenerationFailed(f"{model}: {event.text}", "try again, or pick another model")
            text += event.text
            finish = event.finish_reason or finish
        return text, finish

    def compare(self, prompt_or_messages: Prompt, models: Sequence[str], params: SamplingParams | None = None,
                stop: threading.Event | None = None) -> dict[str, Any]:
        """Answer one prompt (a string or a conversation) with every model in ``models`` at once and
        record the comparison under each model's one name (``sft`` is recorded as its checkpoint's name,
        so one checkpoint has one leaderboard row). Returns {comparison_id, answers: {model: text},
        finish_reasons: {...}}, keyed by those names; in a vote, "a" and "b" are ``models[0]`` and
        ``models[1]``."""
        params = params or SamplingParams(max_new_tokens=min(256, self.settings.max_tokens_cap))
        for name in models:  # fail fast on an unknown name, before any generation starts
            self.pool.get(name)
        models = [self.pool.canonical(name) for name in models]
        if len(set(models)) < len(models):
            raise ValueError(f"models {', '.join(models)}: two names of one model; compare distinct models")
        with ThreadPoolExecutor(max_workers=len(models)) as workers:
            results = list(workers.map(lambda name: self.answer(name, prompt_or_messages, params, stop), models))
        answers = {name: text for name, (text, _) in zip(models, results)}
        comparison_id = self.votes.record_comparison(prompt_or_messages, answers)
        return {"comparison_id": comparison_id, "answers": answers,
                "finish_reasons": {name: finish for name, (_, finish) in zip(models, results)}}

    def vote(self, comparison_id: str, choice: str) -> dict:
        """Record a vote ("a", "b", "tie" or "both_bad") on a comparison; returns the stored vote.
        Raises KeyError for an unknown comparison id, ValueError for a bad choice and AlreadyVoted
        for a comparison that has its vote."""
        return self.votes.record_vote(comparison_id, choice, once=True)

    def leaderboard(self) -> list[dict]:
        """Bradley-Terry ratings from all votes so far: rows {model, rating, ci_low, ci_high, games, wins, ties}."""
        from serve.leaderboard import leaderboard

        return leaderboard(self.votes)
