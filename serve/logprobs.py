"""Log-probs in OpenAI's shapes, each the model's own log-prob of the token it sampled: the legacy
completions shape (with ``echo``, the prompt's too, as lm-evaluation-harness scores a model) and
the chat shape (``logprobs`` / ``top_logprobs``)."""

from __future__ import annotations

import itertools
from typing import Any

from serve import schemas
from serve.models import LocalModel


def completion_logprobs(model: LocalModel, prompt: str, prompt_ids: list[int], answer_ids: tuple[int, ...],
                        echo: bool, top: int) -> schemas.CompletionLogprobs:
    """OpenAI's (and vLLM's) completion log-probs of the tokens the model sampled (not its text encoded
    again, which can give other tokens), preceded by the prompt's with echo."""
    decode = model.policy.tokenizer.decode
    ids = [*prompt_ids, *answer_ids]
    scores, tops = model.token_logprobs(ids, top)
    start = 0 if echo else len(prompt_ids)
    tokens = [decode([token]) for token in ids[start:]]
    offsets = list(itertools.accumulate((len(t) for t in tokens[:-1]), initial=0 if echo else len(prompt)))
    alternatives = [{decode([i]): value for i, value in row} if position else None
                    for position, row in enumerate(tops)]
    return schemas.CompletionLogprobs(tokens=tokens, token_logprobs=scores[start:],
                                      top_logprobs=alternatives[start:], text_offset=offsets if tokens else [])


def chat_logprobs(model: LocalModel, prompt_ids: list[int], answer_ids: tuple[int, ...],
                  top: int) -> schemas.ChatLogprobs:
    """OpenAI's chat log-probs of the answer tokens the model sampled, each with its ``top`` alternatives."""
    decode = model.policy.tokenizer.decode

    def entry(token: int, logprob: float) -> dict[str, Any]:
        text = decode([token])
        return {"token": text, "logprob": logprob, "bytes": list(text.encode("utf-8"))}

    if answer_ids and answer_ids[-1] == model.policy.tokenizer.eos_token_id:
        answer_ids = answer_ids[:-1]  # chat log-probs cover the answer's text, as OpenAI's do
    scores, tops = model.token_logprobs([*prompt_ids, *answer_ids], top)
    start = len(prompt_ids)
    return schemas.ChatLogprobs(content=[
        schemas.TokenLogprob(**entry(token, score), top_logprobs=[entry(i, v) for i, v in row])
        for token, score, row in zip(answer_ids, scores[start:], tops[start:])])
