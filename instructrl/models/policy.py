"""The one model interface that train, evals and serve share.

``Policy`` wraps a causal LM and its tokenizer: batched ``generate`` (temperature, top-p, stop
sequences, seed, KV cache), ``logprobs`` of given continuations (batched; each distinct prompt is
run once and its KV cache shared by all its continuations) and ``save``/``load``.
"""

from __future__ import annotations

import copy
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import torch

from instructrl.chat import format_prompt
from instructrl.data.schemas import Prompt
from instructrl.errors import ConfigError
from instructrl.models.answers import StopOnSequences, answer_end

if TYPE_CHECKING:
    from instructrl.checkpoints import Registry


@dataclass(frozen=True)
class SamplingParams:
    max_new_tokens: int = 128
    temperature: float = 0.0  # 0 = greedy
    top_p: float = 1.0
    stop: tuple[str, ...] = ()
    seed: int | None = None

    def __post_init__(self) -> None:
        if not 1 <= self.max_new_tokens <= 32768:
            raise ConfigError(f"max_new_tokens = {self.max_new_tokens} is out of range", "use 1 to 32768")
        if not 0 <= self.temperature <= 10:
            raise ConfigError(f"temperature = {self.temperature} is out of range", "use 0 (greedy) to 10")
        if not 0 < self.top_p <= 1:
            raise ConfigError(f"top_p = {self.top_p} is out of range", "use a value in (0, 1]")
        if any(not s for s in self.stop):
            raise ConfigError("an empty stop sequence was given", "remove it")


@dataclass(frozen=True)
class Generation:
    text: str
    token_ids: tuple[int, ...]  # the answer's tokens, stop sequence and padding removed
    finish_reason: str  # "stop" (end token or stop sequence) or "length"
    prompt_tokens: int


def gather_logprobs(logits: torch.Tensor, tokens: torch.Tensor, temperature: float = 1.0) -> torch.Tensor:
    """log p(tokens) under ``logits / temperature``.  logits: [B, T, V], tokens: [B, T] -> [B, T]."""
    logp = torch.log_softmax(logits.float() / temperature, dim=-1)
    return logp.gather(-1, tokens.unsqueeze(-1)).squeeze(-1)


class Policy:
    """A causal LM with its tokenizer and chat format."""

    shares_prefix = True  # capability: ``prefix_logprobs`` runs a prefix shared by many prompts once

    def __init__(self, model, tokenizer, name: str = ""):
        self.model, self.tokenizer, self.name = model, tokenizer, name
        if tokenizer.pad_token is None:
            tokenizer.pad_token = tokenizer.eos_token

    @classmethod
    def load(cls, spec: str, dtype: str = "float32", device: str | None = None, registry: Registry | None = None) -> Policy:
        """The model ``spec`` names (see ``instructrl.models.loading``), checkpoints looked up in ``registry``
        (default: the configured one)."""
        from instructrl.models.loading import load_causal_lm, load_tokenizer

        model = load_causal_lm(spec, dtype, registry=registry).eval()
        if device:
            model.to(device)
        return cls(model, load_tokenizer(spec, registry), spec)

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    def format(self, prompt: Prompt) -> str:
        return format_prompt(self.tokenizer, prompt)

    def save(self, path: str | Path) -> None:
        self.model.save_pretrained(path)
        self.tokenizer.save_pretrained(path)

    # ---- generation --------------------------------------------------------------------------

    @torch.no_grad()
    def generate(self, prompts: Sequence[Prompt], params: SamplingParams = SamplingParams(),
                 batch_size: int = 16, chat: bool = True) -> list[Generation]:
        """Answers to ``prompts`` in their order. ``chat=False`` feeds string prompts as raw text
        (base-model completion); otherwise each prompt goes through the chat format."""
        texts = [self.format(p) if chat else _raw(p) for p in prompts]
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))  # similar lengths pad less
        results: list[Generation | None] = [None] * len(texts)
        with torch.random.fork_rng(devices=[]):
            if params.seed is not None:
                torch.manual_seed(params.seed)
            for start in range(0, len(order), batch_size):
                chunk = order[start:start + batch_size]
                for index, generation in zip(chunk, self._generate_batch([texts[i] for i in chunk], params)):
                    results[index] = generation
        return results  # type: ignore[return-value]

    def _generate_batch(self, texts: list[str], params: SamplingParams) -> list[Generation]:
        from instructrl.models.decoding import decode

        tok = self.tokenizer
        tok.padding_side = "left"
        enc = tok(texts, return_tensors="pt", padding=True, add_special_tokens=False).to(self.device)
        prompt_length = enc["input_ids"].shape[1]
        stop = StopOnSequences(tok, params.stop) if params.stop else None
        out = decode(self.model, enc["input_ids"], enc["attention_mask"], params.max_new_tokens,
                     temperature=params.temperature, top_p=params.top_p, eos_token_id=tok.eos_token_id,
                     pad_token_id=tok.pad_token_id, stop=stop)
        return [self._finish(row, prompt_length, int(mask.sum()), params)
                for row, mask in zip(out[:, prompt_length:], enc["attention_mask"])]

    def _finish(self, new_tokens: torch.Tensor, prompt_length: int, prompt_tokens: int,
                params: SamplingParams) -> Generation:
        ids = new_tokens.tolist()
        eos, pad = self.tokenizer.eos_token_id, self.tokenizer.pad_token_id
        if pad != eos and eos not in ids:  # a row ended by a stop sequence is padded after it
            ids = [t for t in ids if t != pad]
        end = answer_end(self.tokenizer, ids, params.stop)
        # a row that stopped: keep only the tokens of the kept text
        kept = self.tokenizer(end.text, add_special_tokens=False)["input_ids"] if end.stopped else end.token_ids
        return Generation(end.text, tuple(kept), end.reason or "length", prompt_tokens)

    # ---- scoring -----------------------------------------------------------------------------

    @torch.no_grad()
    def logprobs(self, prompts: Sequence[str], continuations: Sequence[str], batch_size: int = 16) -> list[float]:
        """Sum of log p(continuation tokens | prompt) for each (raw text) pair.

        Pairs that share a prompt run it once; its KV cache is copied to every continuation. The
        continuation's tokens are those of ``prompt + continuation`` after the prompt's own tokens
        (so a leading space merges as the tokenizer would merge it)."""
        if len(prompts) != len(continuations):
            raise ValueError("prompts and continuations must have the same length")
        groups: dict[str, list[int]] = defaultdict(list)
        for index, prompt in enumerate(prompts):
            groups[prompt].append(index)
        scores = [0.0] * len(prompts)
        for prompt, indices in groups.items():
            for start in range(0, len(indices), batch_size):
                chunk = indices[start:start + batch_size]
                for index, value in zip(chunk, self._group_logprobs(prompt, [continuations[i] for i in chunk])):
                    scores[index] = value
        return scores

    def _group_logprobs(self, prompt: str, continuations: list[str]) -> list[float]:
        tok = self.tokenizer
        prompt_ids = tok(prompt, add_special_tokens=False)["input_ids"] or [tok.eos_token_id]
        out = self.model(torch.tensor([prompt_ids], device=self.device), use_cache=True)
        return self.logprobs_after(prompt, prompt_ids, out.cache, out.logits[0, -1], continuations)

    @torch.no_grad()
    def logprobs_after(self, prompt: str, prompt_ids: list[int], cache, last_logits: torch.Tensor,
                       continuations: Sequence[str]) -> list[float]:
        """log p(continuation | prompt) for a batch of continuations, given the prompt's KV cache and
        its last position's logits (the cache is copied, not changed). Callers that share an even
        longer prefix across prompts (TruthfulQA's few-shot primer) build the cache themselves."""
        tok, device = self.tokenizer, self.device
        cont_ids = [continuation_ids(tok, prompt, prompt_ids, c) for c in continuations]
        first = torch.log_softmax(last_logits.float(), dim=-1)
        width = max(len(ids) for ids in cont_ids)
        batch = torch.full((len(cont_ids), width), tok.pad_token_id, device=device)
        mask = torch.zeros((len(cont_ids), width), dtype=torch.long, device=device)
        for row, ids in enumerate(cont_ids):
            batch[row, : len(ids)] = torch.tensor(ids)
            mask[row, : len(ids)] = 1
        rows = copy.deepcopy(cache)
        rows.batch_repeat_interleave(len(cont_ids))
        full_mask = torch.cat([torch.ones((len(cont_ids), len(prompt_ids)), dtype=torch.long, device=device), mask], 1)
        positions = torch.arange(len(prompt_ids), len(prompt_ids) + width, device=device).expand(len(cont_ids), -1)
        logits = self.model(batch, attention_mask=full_mask, cache=rows, position_ids=positions).logits
        # token t of a continuation is predicted by position t-1; token 0 by the prompt's last position
        later = gather_logprobs(logits[:, :-1], batch[:, 1:]) * mask[:, 1:]
        return [float(first[ids[0]] + later[row].sum()) for row, ids in enumerate(cont_ids)]

    @torch.no_grad()
    def prefix_logprobs(self, prefix: str, requests: Sequence[tuple[str, Sequence[str]]],
                        batch_size: int = 32) -> list[list[float]]:
        """``log p(continuation | prefix + tail)`` for each ``(tail, continuations)`` request: a two-level
        ``logprobs`` (same tokenisation) that runs ``prefix`` once for every request and each tail once
        for its continuations (TruthfulQA's few-shot primer is most of each prompt). A request whose
        tokens do not start with the prefix's tokens goes through ``logprobs`` instead."""
        tok, device = self.tokenizer, self.device
        prefix_ids = tok(prefix, add_special_tokens=False)["input_ids"]
        base = self.model(torch.tensor([prefix_ids], device=device), use_cache=True).cache
        out: list[list[float]] = []
        for tail, continuations in requests:
            prompt = prefix + tail
            prompt_ids = tok(prompt, add_special_tokens=False)["input_ids"]
            if prompt_ids[: len(prefix_ids)] != prefix_ids or len(prompt_ids) == len(prefix_ids):
                out.append(self.logprobs([prompt] * len(continuations), list(continuations)))
                continue
            positions = torch.arange(len(prefix_ids), len(prompt_ids), device=device)[None]
            step = self.model(torch.tensor([prompt_ids[len(prefix_ids):]], device=device),
                              cache=copy.deepcopy(base), position_ids=positions, use_cache=True)
            values: list[float] = []
            for start in range(0, len(continuations), batch_size):
                values += self.logprobs_after(prompt, prompt_ids, step.cache, step.logits[0, -1],
                                              list(continuations[start:start + batch_size]))
            out.append(values)
        return out


def _raw(prompt: Prompt) -> str:
    if not isinstance(prompt, str):
        raise ConfigError("a conversation cannot be used as a raw completion prompt", "pass chat=True or a string")
    return prompt


def continuation_ids(tokenizer, prompt: str, prompt_ids: list[int], continuation: str) -> list[int]:
    """The continuation's tokens: those of ``prompt + continuation`` after the prompt's own (so a
    leading space merges as the tokenizer would merge it), or its own tokens when they do not line up."""
    if not continuation:
        raise ValueError("an empty continuation has no log-probability to score")
    whole = tokenizer(prompt + continuation, add_special_tokens=False)["input_ids"]
    if whole[: len(prompt_ids)] == prompt_ids and len(whole) > len(prompt_ids):
        return whole[len(prompt_ids):]
    return tokenizer(continuation, add_special_tokens=False)["input_ids"]
