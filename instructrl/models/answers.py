"""Where an answer ends: at the model's end token, before the earliest stop sequence, or at its token
budget. One rule for ``Policy.generate``, PPO's rollouts and the serving engine, which differ only in
when they ask (once per finished batch row, once per rollout, once per streamed token).

``answer_end`` reads the tokens sampled for one answer so far. The end token, when drawn, is not part
of the answer; a stop sequence is cut from the decoded text with everything after it; the finish reason
is "stop" for either, "length" once the budget is spent, and None while the answer may still grow.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class AnswerEnd:
    token_ids: tuple[int, ...]  # the tokens before the end token (all of them when it was not drawn)
    text: str  # their text, cut before the earliest stop sequence
    ended: bool  # the end token was drawn
    stopped: bool  # a stop sequence was found in the text

    @property
    def reason(self) -> str | None:
        return "stop" if self.ended or self.stopped else None


def cut_at_stop(text: str, stops: Sequence[str]) -> tuple[str, bool]:
    """The text before the earliest stop sequence, and whether one was found."""
    cuts = [i for i in (text.find(s) for s in stops) if i >= 0]
    return (text[: min(cuts)], True) if cuts else (text, False)


def answer_end(tokenizer, sampled: Sequence[int], stops: Sequence[str] = ()) -> AnswerEnd:
    """The answer in the tokens ``sampled`` for it (see the module doc); special tokens are not text."""
    sampled = list(sampled)
    eos = tokenizer.eos_token_id
    ended = eos in sampled
    ids = sampled[: sampled.index(eos)] if ended else sampled
    text, stopped = cut_at_stop(tokenizer.decode(ids, skip_special_tokens=True), stops)
    return AnswerEnd(tuple(ids), text, ended, stopped)


def finish_reason(end: AnswerEnd, sampled_count: int, budget: int) -> str | None:
    """"stop", "length" once ``sampled_count`` tokens reach ``budget``, else None (still going)."""
    return end.reason or ("length" if sampled_count >= budget else None)


class StopOnSequences:
    """``decode``'s ``stop`` criterion: ends each row once its newest tokens' text holds a stop sequence
    (the last few tokens only: a stop sequence is short, and decoding all of them would cost quadratic time)."""

    def __init__(self, tokenizer, stops: Sequence[str]):
        self.tokenizer, self.stops = tokenizer, stops
        self.window = max(len(s) for s in stops) + 8

    def __call__(self, new_tokens: torch.Tensor) -> torch.Tensor:
        tails = self.tokenizer.batch_decode(new_tokens[:, -self.window:])
        return torch.tensor([any(s in t for s in self.stops) for t in tails], device=new_tokens.device)
