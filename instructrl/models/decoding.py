"""Batched decoding with a KV cache: the one sampling loop behind ``Policy.generate`` and PPO's
rollouts, and the cache layout the serving engine shares.

``decode`` prefills a left-padded prompt batch once, then appends one token per row per step until
every row has ended (end token or a stop criterion) or ``max_new_tokens`` is reached. Compared with
``transformers``' ``generate`` it skips the general machinery (logits processors, stopping-criteria
lists, cache concatenation), which on a CPU is a fifth of a small model's decode time:

* the KV cache lives in preallocated slabs (``slab_cache``): a step writes its keys and values in
  place instead of concatenating the whole cache;
* a sampled token is drawn by inverse CDF, one uniform number per row, where ``torch.multinomial``
  draws one exponential per vocabulary entry. Both draw exactly from the softmax distribution.

Rows that have ended keep stepping (a batch moves together) and receive the pad token. A caller whose
processes decode their own rows of one batch with a sharded model (FSDP gathers the weights inside
every forward pass, a collective) passes ``finished``, so that a process whose rows have all ended keeps
stepping until every process's have; per-row ``uniforms`` make each row's draws independent of which
rows share its batch and of how long the batch runs.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import torch


@torch.no_grad()
def decode(model, input_ids: torch.Tensor, attention_mask: torch.Tensor, max_new_tokens: int, *,
           eos_token_id: int, pad_token_id: int, temperature: float = 0.0, top_p: float = 1.0,
           generator: torch.Generator | None = None,
           stop: Callable[[torch.Tensor], torch.Tensor] | None = None,
           uniforms: torch.Tensor | None = None,
           finished: Callable[[torch.Tensor], bool] | None = None) -> torch.Tensor:
    """Prompts [B, P] (left padded) -> [B, P + R] with R ≤ ``max_new_tokens`` new tokens per row.

    A row's answer runs up to and including its end token, then pad tokens. Temperature 0 is greedy.
    ``stop(new_tokens [B, t]) -> [B] bool`` may end rows early (e.g. on a stop sequence); a stopped
    row keeps its last token and is padded from then on, like a row that produced the end token.
    ``uniforms`` [B, max_new_tokens]: the uniform number in [0, 1) that draws row b's t-th token
    (instead of drawing from ``generator``). ``finished(done [B]) -> bool``: whether decoding may stop
    before ``max_new_tokens`` (default: when every row is done)."""
    from transformers import DynamicCache

    positions = (attention_mask.cumsum(-1) - 1).clamp(min=0)
    prefill = DynamicCache(config=model.config)
    logits = model(input_ids=input_ids, attention_mask=attention_mask, position_ids=positions, cache=prefill,
                   use_cache=True, logits_to_keep=1).logits[:, -1]
    cache = slab_cache([(layer.keys, layer.values) for layer in prefill.layers], model.config, room=max_new_tokens)
    del prefill
    rows = input_ids.shape[0]
    mask = torch.cat([attention_mask, attention_mask.new_zeros((rows, max_new_tokens))], dim=1)
    width = input_ids.shape[1]
    position = positions[:, -1]
    done = torch.zeros(rows, dtype=torch.bool, device=input_ids.device)
    tokens = []
    for step in range(max_new_tokens):
        token = next_tokens(logits, temperature, top_p, generator, None if uniforms is None else uniforms[:, step])
        token = torch.where(done, torch.full_like(token, pad_token_id), token)
        tokens.append(token)
        done = done | (token == eos_token_id)
        if stop is not None:
            done = done | stop(torch.stack(tokens, dim=1))
        if step == max_new_tokens - 1 or (finished(done) if finished is not None else bool(done.all())):
            break
        mask[:, width + step] = 1
        position = position + 1
        logits = model(input_ids=token[:, None], attention_mask=mask[:, :width + step + 1],
                       position_ids=position[:, None], cache=cache, use_cache=True).logits[:, -1]
    return torch.cat([input_ids, torch.stack(tokens, dim=1)], dim=1)


def next_tokens(logits: torch.Tensor, temperature: float, top_p: float = 1.0,
                generator: torch.Generator | None = None, uniform: torch.Tensor | None = None) -> torch.Tensor:
    """One token per row from logits [B, V]: argmax at temperature 0, else a draw from
    softmax(logits / temperature) restricted to the top-p nucleus (the smallest set of most likely
    tokens whose mass reaches ``top_p``; the most likely token always stays). ``uniform`` [B]: each
    row's uniform number in [0, 1) for the draw (default: drawn from ``generator``)."""
    if temperature <= 0:
        return logits.argmax(dim=-1)
    probs = torch.softmax(logits.float() / temperature, dim=-1)
    order = None
    if top_p < 1.0:
        probs, order = probs.sort(dim=-1, descending=True)
        before = probs.cumsum(dim=-1) - probs  # mass of the strictly more likely tokens
        probs = probs.masked_fill(before >= top_p, 0.0)
    cdf = probs.cumsum(dim=-1)
    if uniform is None:
        draw_on = generator.device if generator is not None else probs.device  # a seeded generator may live elsewhere
        uniform = torch.rand(probs.shape[0], generator=generator, device=draw_on)
    u = uniform.reshape(-1, 1).to(probs.device, torch.float32) * cdf[:, -1:]
    # the first index whose cumulative mass exceeds u: a token of zero mass is never chosen
    index = torch.searchsorted(cdf, u, right=True).clamp(max=probs.shape[-1] - 1)
    chosen = index if order is None else order.gather(-1, index)
    return chosen.squeeze(-1)


# ---- the KV cache ------------------------------------------------------------------------------


@functools.cache
def _slab_layer_class():
    """Built on first use so importing this module does not import transformers."""
    from transformers.cache_utils import DynamicLayer

    class SlabLayer(DynamicLayer):
        """One layer's KV cache in a preallocated buffer with spare room: appending a token writes in
        place, where the default layer concatenates (copies) the whole cache at every step."""

        def __init__(self, keys: torch.Tensor, values: torch.Tensor, room: int):
            super().__init__()
            self.length, self.room = keys.shape[-2], room
            self._keys = with_room(keys, self.length + room)
            self._values = with_room(values, self.length + room)
            self.device, self.is_initialized = keys.device, True
            self._views()

        def _views(self) -> None:
            self.keys = self._keys[..., : self.length, :]
            self.values = self._values[..., : self.length, :]

        def update(self, key_states: torch.Tensor, value_states: torch.Tensor, *args, **kwargs):
            new = key_states.shape[-2]
            if self.length + new > self._keys.shape[-2]:
                self._keys = with_room(self.keys, self.length + new + self.room)
                self._values = with_room(self.values, self.length + new + self.room)
            self._keys[..., self.length:self.length + new, :] = key_states
            self._values[..., self.length:self.length + new, :] = value_states
            self.length += new
            self._views()
            return self.keys, self.values

        def get_seq_length(self) -> int:
            return self.length

        def get_mask_sizes(self, query_length: int) -> tuple[int, int]:
            return self.length + query_length, 0

    return SlabLayer


def with_room(tensor: torch.Tensor, capacity: int) -> torch.Tensor:
    """A [B, H, capacity, D] buffer whose first positions hold ``tensor``."""
    batch, heads, length, dim = tensor.shape
    buffer = tensor.new_empty((batch, heads, capacity, dim))
    buffer[..., :length, :] = tensor
    return buffer


def slab_cache(layers: list[tuple[torch.Tensor, torch.Tensor]], config, room: int = 128):
    """A DynamicCache whose layers hold the given keys and values in slabs with ``room`` spare tokens
    (more is added, ``room`` at a time, whenever a slab fills up)."""
    from transformers import DynamicCache

    cache = DynamicCache(config=config)
    cache.layers = [_slab_layer_class()(keys, values, room) for keys, values in layers]
    return cache
