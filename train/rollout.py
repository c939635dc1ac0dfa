"""Experience for PPO: the frozen ``Rollout`` that carries one batch between the loop's steps, and the
sampling and scoring helpers that fill a rollout (the models they run are in ``train.actor_critic``).

Layout: every row is ``[left-padded prompt | answer, right-padded]``. Prompts are left padded so all
answers start at the same column P; an answer's mask covers its tokens up to and including the end
token (the decision to stop is an action too). Position ids count real tokens only, as in generation.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from torch import nn

from instructrl.models.answers import answer_end


@dataclass(frozen=True)
class Samples:
    """What sampling produced. B rows, P prompt columns, R answer columns."""

    sequences: torch.Tensor  # [B, P + R] long: prompt (left padded) then answer (right padded)
    attention_mask: torch.Tensor  # [B, P + R] long: 1 on real tokens
    response_mask: torch.Tensor  # [B, R] float: 1 on answer tokens, the end token included
    ended: torch.Tensor  # [B] bool: the answer ended with the end token (not cut at max_new_tokens)
    prompt_length: int  # P
    texts: tuple[str, ...]  # the answers as text, end token removed

    @property
    def position_ids(self) -> torch.Tensor:  # [B, P + R]
        return (self.attention_mask.cumsum(dim=1) - 1).clamp(min=0)


@dataclass(frozen=True)
class Rollout:
    """One batch of experience, filled by step 2 (score) and read by steps 3-5."""

    samples: Samples
    logprobs: torch.Tensor  # [B, R] log π_old(y_t | ·) at the sampling temperature
    ref_logprobs: torch.Tensor  # [B, R] log π_SFT(y_t | ·) at the sampling temperature
    values: torch.Tensor  # [B, R] V_old(s_t), the critic before this update
    scores: torch.Tensor  # [B] reward-model score, minus the penalty for answers that never end
    rm_scores: torch.Tensor  # [B] raw reward-model score

    @property
    def mask(self) -> torch.Tensor:  # [B, R]
        return self.samples.response_mask


@dataclass(frozen=True)
class Advantages:
    """Step 3 and 4's output: per-token rewards, the KL sample, advantages and returns. All [B, R]."""

    rewards: torch.Tensor
    kl: torch.Tensor
    advantages: torch.Tensor  # whitened over the batch's answer tokens
    returns: torch.Tensor


# ---- sampling ----------------------------------------------------------------------------------


def encode_prompts(tokenizer, texts: Sequence[str], max_prompt_tokens: int, device) -> dict[str, torch.Tensor]:
    """Left-padded prompt batch; an over-long prompt keeps its end (the question is at the end)."""
    tokenizer.padding_side, tokenizer.truncation_side = "left", "left"
    return tokenizer(list(texts), return_tensors="pt", padding=True, truncation=True, max_length=max_prompt_tokens,
                     add_special_tokens=False).to(device)


def row_seed(seed: int, step: int, row: int) -> int:
    """The seed of one answer: distinct per (run seed, step, row of the global batch), the same on a rerun
    and whichever process samples the row."""
    return (seed * 1_000_003 + step) * 65_537 + row


def row_uniforms(seeds: Sequence[int], count: int) -> torch.Tensor:
    """[len(seeds), count] uniform numbers in [0, 1): row b's draws, from its own seeded generator."""
    return torch.stack([torch.rand(count, generator=torch.Generator().manual_seed(s)) for s in seeds])


@torch.no_grad()
def sample(lm: nn.Module, tokenizer, prompt_texts: Sequence[str], max_prompt_tokens: int, max_new_tokens: int,
           temperature: float, seeds: Sequence[int] | None = None,
           finished: Callable[[torch.Tensor], bool] | None = None) -> Samples:
    """Sample answers with the KV cache (``decode``); temperature 0 is greedy. ``seeds``: one per prompt
    (``row_seed``), so that an answer depends on its prompt and seed only, not on the rows batched with
    it (default: torch's global generator). ``finished``: see ``decode`` (processes of a sharded model)."""
    from instructrl.models.decoding import decode

    was_training = lm.training
    lm.eval()  # dropout off while sampling
    enc = encode_prompts(tokenizer, prompt_texts, max_prompt_tokens, next(lm.parameters()).device)
    uniforms = None if seeds is None or temperature <= 0 else row_uniforms(seeds, max_new_tokens)
    out = decode(lm, enc["input_ids"], enc["attention_mask"], max_new_tokens, temperature=temperature,
                 eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id, uniforms=uniforms,
                 finished=finished)
    lm.train(was_training)
    prompt_length = enc["input_ids"].shape[1]
    return finish_samples(tokenizer, out, enc["attention_mask"], prompt_length)


def prompt_rows(enc: dict[str, torch.Tensor]) -> list[list[int]]:
    """Each prompt's own token ids (padding dropped) from an ``encode_prompts`` batch."""
    return [row[mask.bool()].tolist() for row, mask in zip(enc["input_ids"], enc["attention_mask"])]


def samples_from_answers(tokenizer, enc: dict[str, torch.Tensor], answers: Sequence[Sequence[int]]) -> Samples:
    """Samples from answers drawn elsewhere (an inference engine): each answer's token ids, the end
    token included when the model chose it, after its prompt from the ``encode_prompts`` batch ``enc``."""
    prompts = enc["input_ids"]
    width = max(1, *(len(answer) for answer in answers))
    answer = torch.full((len(answers), width), tokenizer.pad_token_id, dtype=prompts.dtype, device=prompts.device)
    for row, ids in enumerate(answers):
        answer[row, :len(ids)] = torch.tensor(list(ids), dtype=prompts.dtype)
    return finish_samples(tokenizer, torch.cat([prompts, answer], dim=1), enc["attention_mask"], prompts.shape[1])


def finish_samples(tokenizer, sequences: torch.Tensor, prompt_mask: torch.Tensor, prompt_length: int) -> Samples:
    """Masks and texts for generated ``sequences`` [B, P + R]: an answer runs to its first end token."""
    answer = sequences[:, prompt_length:]
    is_end = answer == tokenizer.eos_token_id
    ended = is_end.any(dim=1)
    # tokens after the first end token are padding: cumulative count of end tokens strictly before t
    before = torch.cumsum(is_end.long(), dim=1) - is_end.long()
    response_mask = (before == 0).float()
    answer = torch.where(response_mask.bool(), answer, torch.full_like(answer, tokenizer.pad_token_id))
    sequences = torch.cat([sequences[:, :prompt_length], answer], dim=1)
    attention_mask = torch.cat([prompt_mask.long(), response_mask.long()], dim=1)
    # the reward model and the gold labeler score the text without surrounding whitespace
    texts = tuple(answer_end(tokenizer, row.tolist()).text.strip() for row in answer)
    return Samples(sequences, attention_mask, response_mask, ended, prompt_length, texts)


@torch.no_grad()
def reward_scores(reward_model, prompts: Sequence, texts: Sequence[str], ended: torch.Tensor,
                  no_eos_penalty: float) -> tuple[torch.Tensor, torch.Tensor]:
    """(scores for training, raw RM scores), both [B]: an answer cut off at the length limit never
    ended, so it loses ``no_eos_penalty`` (it would otherwise be scored as if complete)."""
    raw = torch.tensor(reward_model.score(list(prompts), [t or " " for t in texts]), dtype=torch.float32)
    penalty = (~ended.cpu()).float() * no_eos_penalty
    return raw - penalty, raw
