"""The batching engine: continuous batching over a causal LM's KV cache, one worker thread per model.

Requests arrive at any time; an idle engine waits ``batch_wait`` for company, then prefills the
arrivals together (left-padded) and merges their KV cache into the running batch at a step
boundary. Every step decodes one token for every running row; a row leaves as soon as it hits its
end token, a stop sequence, its token budget, or is cancelled (its client went away), so the batch
stays full of live work. Each request streams its own text deltas through its ``RequestHandle``.

Sampling follows ``SamplingParams``: temperature 0 is greedy (and equals ``Policy.generate``'s
greedy answer for a single request), otherwise temperature + top-p with a per-request seeded
generator. All padding is on the left, so one attention mask [B, T] plus per-row position ids
describe the whole batch.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import queue
import threading
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field

import torch

from instructrl.models.answers import answer_end, finish_reason
from instructrl.models.decoding import next_tokens, slab_cache
from instructrl.models.policy import SamplingParams

log = logging.getLogger(__name__)


class QueueFull(Exception):
    """The engine's waiting queue is at its bound; the client should retry later (HTTP 429)."""


class EngineStopped(Exception):
    """The engine was shut down before the request could run."""


@dataclass(frozen=True)
class Event:
    """What a request's consumer receives: text deltas, then exactly one ``done`` or ``error``."""

    kind: str  # "token", "done" or "error"
    text: str = ""  # the new text (token) or the error message (error)
    finish_reason: str | None = None  # "stop" or "length" on done
    prompt_tokens: int = 0
    completion_tokens: int = 0
    token_ids: tuple[int, ...] = ()  # on done: every sampled token, the end token too when the model chose it


class RequestHandle:
    """One submitted request: iterate its events (async or sync), or cancel it."""

    _ids = itertools.count()

    def __init__(self, prompt_ids: list[int], params: SamplingParams, loop: asyncio.AbstractEventLoop | None):
        self.id = next(self._ids)
        self.prompt_ids, self.params = prompt_ids, params
        self.submitted = time.perf_counter()
        self._cancelled = threading.Event()
        self._loop = loop
        self._async_queue: asyncio.Queue[Event] | None = asyncio.Queue() if loop is not None else None
        self._sync_queue: queue.Queue[Event] | None = None if loop is not None else queue.Queue()

    @property
    def cancelled(self) -> bool:
        return self._cancelled.is_set()

    def cancel(self) -> None:
        """Ask the engine to drop this request at its next step boundary."""
        self._cancelled.set()

    def push(self, event: Event) -> None:
        if self._async_queue is not None:
            try:
                self._loop.call_soon_threadsafe(self._async_queue.put_nowait, event)
            except RuntimeError:  # the consumer's event loop is closed: nobody is listening any more
                self.cancel()
        else:
            self._sync_queue.put(event)

    async def events(self) -> AsyncIterator[Event]:
        """Events until done/error (for a handle submitted with an event loop)."""
        assert self._async_queue is not None, "submit with loop=... to consume asynchronously"
        while True:
            event = await self._async_queue.get()
            yield event
            if event.kind != "token":
                return

    def iter_events(self, timeout: float | None = None) -> Iterator[Event]:
        """Events until done/error (for a handle submitted without an event loop); cancels on timeout."""
        assert self._sync_queue is not None, "submit without a loop to consume synchronously"
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            wait = None if deadline is None else max(0.0, deadline - time.monotonic())
            try:
                event = self._sync_queue.get(timeout=wait)
            except queue.Empty:
                self.cancel()
                yield Event("error", f"the request took longer than {timeout:.0f} s and was cancelled")
                return
            yield event
            if event.kind != "token":
                return


@dataclass
class _Row:
    """A running request: its generated tokens, text emitted so far and sampling generator."""

    handle: RequestHandle
    generator: torch.Generator | None
    tokens: list[int] = field(default_factory=list)
    emitted: int = 0  # characters of the answer already sent
    last_emit: float = 0.0

    @property
    def params(self) -> SamplingParams:
        return self.handle.params


@dataclass
class EngineStats:
    """Callbacks the server's metrics hook into (all optional)."""

    on_first_token: Callable[[float], None] | None = None  # seconds from submit to first token
    on_token_interval: Callable[[float], None] | None = None  # seconds between a row's tokens
    on_tokens: Callable[[int, int], None] | None = None  # (prompt tokens, completion tokens) per finished request


class Engine:
    """Continuous batching for one model. ``submit`` is thread-safe; a worker thread runs the model."""

    def __init__(self, model, tokenizer, max_batch: int = 16, max_queue: int = 64, batch_wait_s: float = 0.01,
                 stats: EngineStats | None = None, name: str = ""):
        self.model, self.tokenizer, self.name = model, tokenizer, name
        self.max_batch, self.max_queue, self.batch_wait_s = max_batch, max_queue, batch_wait_s
        self.stats = stats or EngineStats()
        self.eos_id = tokenizer.eos_token_id
        self.pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else self.eos_id
        self.device = next(model.parameters()).device
        self._waiting: deque[RequestHandle] = deque()
        self._wake = threading.Condition()
        self._stopping = False
        self._rows: list[_Row] = []
        self._cache = None  # DynamicCache of the running rows, [B, H, T, D] per layer
        self._mask: torch.Tensor | None = None  # [B, T], 1 = real token
        self._positions: torch.Tensor | None = None  # [B], position id of each row's next input token
        self._last: torch.Tensor | None = None  # [B], each row's newest token (the next step's input)
        self._seeds = torch.Generator().manual_seed(int(time.time_ns()) & 0x7FFFFFFF)
        self._thread = threading.Thread(target=self._run, name=f"engine-{name}", daemon=True)
        self._thread.start()

    # ---- public ------------------------------------------------------------------------------

    @property
    def queue_depth(self) -> int:
        """Requests waiting to join the batch."""
        return len(self._waiting)

    @property
    def running(self) -> int:
        return len(self._rows)

    def submit(self, prompt_ids: list[int], params: SamplingParams,
               loop: asyncio.AbstractEventLoop | None = None) -> RequestHandle:
        """Queue a request. With ``loop`` its events are consumed with ``async for``; else synchronously."""
        if not prompt_ids:
            raise ValueError("a request needs at least one prompt token")
        handle = RequestHandle(list(prompt_ids), params, loop)
        with self._wake:
            if self._stopping:
                raise EngineStopped(f"the engine for {self.name or 'this model'} is shutting down")
            if len(self._waiting) >= self.max_queue:
                raise QueueFull(f"{len(self._waiting)} requests are already waiting for {self.name or 'this model'}")
            self._waiting.append(handle)
            self._wake.notify()
        return handle

    def stop(self, drain: bool = True, timeout: float | None = None) -> None:
        """Stop taking requests; with ``drain`` finish the ones already accepted, else cancel them."""
        with self._wake:
            self._stopping = True
            if not drain:
                for handle in [*self._waiting, *(row.handle for row in self._rows)]:
                    handle.cancel()
                    handle.push(Event("error", "the server is shutting down"))
            self._wake.notify()
        self._thread.join(timeout)

    # ---- worker ------------------------------------------------------------------------------

    def _run(self) -> None:
        with torch.inference_mode():
            while True:
                arrivals = self._take_arrivals()
                if arrivals is None:
                    return
                try:
                    if arrivals:
                        self._prefill(arrivals)
                    if self._rows:
                        self._step()
                except Exception as err:  # a failed step must not kill the engine: fail its requests
                    log.exception("engine step failed")
                    message = f"generation failed ({type(err).__name__}: {err})"
                    for row in self._rows:
                        row.handle.push(Event("error", message))
                    for handle in arrivals:
                        if not any(row.handle is handle for row in self._rows):
                            handle.push(Event("error", message))
                    self._reset_batch()

    def _take_arrivals(self) -> list[RequestHandle] | None:
        """Requests to add at this step boundary ([] = none); None when stopped and drained."""
        with self._wake:
            while not self._rows and not self._waiting:
                if self._stopping:
                    return None
                self._wake.wait()
            if not self._rows and self.batch_wait_s > 0 and len(self._waiting) < self.max_batch:
                # an idle engine waits briefly so a burst of requests prefills as one batch
                self._wake.wait_for(lambda: len(self._waiting) >= self.max_batch, timeout=self.batch_wait_s)
            taken = []
            while self._waiting and len(self._rows) + len(taken) < self.max_batch:
                handle = self._waiting.popleft()
                if not handle.cancelled:
                    taken.append(handle)
            return taken

    def _prefill(self, handles: list[RequestHandle]) -> None:
        """Run the new prompts (left-padded) and merge their KV cache into the running batch."""
        from transformers import DynamicCache

        width = max(len(h.prompt_ids) for h in handles)
        ids = torch.full((len(handles), width), self.pad_id, dtype=torch.long)
        mask = torch.zeros((len(handles), width), dtype=torch.long)
        for row, handle in enumerate(handles):
            ids[row, width - len(handle.prompt_ids):] = torch.tensor(handle.prompt_ids)
            mask[row, width - len(handle.prompt_ids):] = 1
        ids, mask = ids.to(self.device), mask.to(self.device)
        positions = (mask.cumsum(-1) - 1).clamp(min=0)
        cache = DynamicCache(config=self.model.config)
        # the cache object is filled in place; only the last position's logits are needed
        out = self.model(input_ids=ids, attention_mask=mask, position_ids=positions, cache=cache,
                         use_cache=True, logits_to_keep=1)
        rows = [_Row(h, self._generator(h.params)) for h in handles]
        first = self._sample(out.logits[:, -1], rows)
        self._merge(cache, mask, mask.sum(-1), rows, first)

    def _step(self) -> None:
        """One decode step for every running row."""
        ones = torch.ones((len(self._rows), 1), dtype=self._mask.dtype, device=self.device)
        self._mask = torch.cat([self._mask, ones], dim=1)
        out = self.model(input_ids=self._last[:, None], attention_mask=self._mask,
                         position_ids=self._positions[:, None], cache=self._cache, use_cache=True)
        self._positions = self._positions + 1
        self._last = self._sample(out.logits[:, -1], self._rows)
        self._advance()

    def _sample(self, logits: torch.Tensor, rows: list[_Row]) -> torch.Tensor:
        """The next token of each row: argmax for greedy rows, seeded top-p sampling otherwise."""
        logits = logits.float()
        chosen = logits.argmax(-1)
        for index, row in enumerate(rows):
            if row.params.temperature > 0:
                chosen[index] = next_tokens(logits[index:index + 1], row.params.temperature, row.params.top_p,
                                            row.generator)[0]
        return chosen

    def _merge(self, cache, mask: torch.Tensor, prompt_lengths: torch.Tensor, rows: list[_Row],
               first: torch.Tensor) -> None:
        """Add prefilled rows to the batch, left-padding whichever side is shorter; then record each
        new row's first token (which may already finish it)."""
        if not self._rows:
            self._cache = slab_cache([(layer.keys, layer.values) for layer in cache.layers], self.model.config)
            self._mask, self._positions, self._last = mask, prompt_lengths.clone(), first
        else:
            old_t, new_t = self._mask.shape[1], mask.shape[1]
            width = max(old_t, new_t)
            layers = []
            for old_layer, new_layer in zip(self._cache.layers, cache.layers):
                keys = torch.cat([_left_pad(old_layer.keys, width), _left_pad(new_layer.keys, width)])
                values = torch.cat([_left_pad(old_layer.values, width), _left_pad(new_layer.values, width)])
                layers.append((keys, values))
            self._cache = slab_cache(layers, self.model.config)
            self._mask = torch.cat([_left_pad(self._mask, width, dim=1), _left_pad(mask, width, dim=1)])
            self._positions = torch.cat([self._positions, prompt_lengths])
            self._last = torch.cat([self._last, first])
        now = time.perf_counter()
        for row in rows:
            if self.stats.on_first_token:
                self.stats.on_first_token(now - row.handle.submitted)
            row.last_emit = now
        self._rows.extend(rows)
        self._advance(new_rows=len(rows))

    def _advance(self, new_rows: int | None = None) -> None:
        """Append each row's newest token, stream its text, and drop rows that are finished or cancelled."""
        start = 0 if new_rows is None else len(self._rows) - new_rows
        tokens = self._last.tolist()
        now = time.perf_counter()
        keep = list(range(start))
        for index in range(start, len(self._rows)):
            row = self._rows[index]
            if row.handle.cancelled:
                continue
            if new_rows is None and self.stats.on_token_interval:
                self.stats.on_token_interval(now - row.last_emit)
            row.last_emit = now
            if not self._emit(row, tokens[index]):
                keep.append(index)
        if len(keep) < len(self._rows):
            self._select(keep)

    def _emit(self, row: _Row, token: int) -> bool:
        """Record one token for a row and push its new text; True when the row has finished."""
        end = answer_end(self.tokenizer, [*row.tokens, token], row.params.stop)
        if not end.ended:
            row.tokens.append(token)
        reason = finish_reason(end, len(row.tokens), row.params.max_new_tokens)
        safe = len(end.text) if reason else _safe_length(end.text, row.params.stop)
        if safe > row.emitted:
            row.handle.push(Event("token", end.text[row.emitted:safe]))
            row.emitted = safe
        if reason:
            prompt_tokens = len(row.handle.prompt_ids)
            sampled = (*row.tokens, token) if end.ended else tuple(row.tokens)  # the end token counts, as in vLLM
            row.handle.push(Event("done", finish_reason=reason, prompt_tokens=prompt_tokens,
                                  completion_tokens=len(sampled), token_ids=sampled))
            if self.stats.on_tokens:
                self.stats.on_tokens(prompt_tokens, len(sampled))
        return reason is not None

    def _select(self, keep: list[int]) -> None:
        """Keep only the rows ``keep``, and cut away leading columns that are padding in every row."""
        if not keep:
            self._reset_batch()
            return
        index = torch.tensor(keep, device=self.device)
        self._rows = [self._rows[i] for i in keep]
        self._mask, self._positions, self._last = self._mask[index], self._positions[index], self._last[index]
        used = self._mask.any(0).nonzero()
        first_used = int(used[0]) if len(used) else 0
        self._mask = self._mask[:, first_used:]
        layers = [(layer.keys[index, :, first_used:], layer.values[index, :, first_used:]) for layer in self._cache.layers]
        self._cache = slab_cache(layers, self.model.config)

    def _reset_batch(self) -> None:
        self._rows, self._cache, self._mask, self._positions, self._last = [], None, None, None, None

    def _generator(self, params: SamplingParams) -> torch.Generator | None:
        if params.temperature <= 0:
            return None
        seed = params.seed if params.seed is not None else int(torch.randint(0, 2**62, (1,), generator=self._seeds))
        return torch.Generator().manual_seed(seed % (2**63))


def _left_pad(tensor: torch.Tensor, width: int, dim: int = -2) -> torch.Tensor:
    """Zero-pad ``tensor`` on the left of ``dim`` up to ``width``."""
    missing = width - tensor.shape[dim]
    if missing <= 0:
        return tensor
    shape = list(tensor.shape)
    shape[dim] = missing
    return torch.cat([tensor.new_zeros(shape), tensor], dim=dim)


def _safe_length(text: str, stops: tuple[str, ...]) -> int:
    """How much of a growing answer can be sent now: hold back a trailing partial character and any
    tail that could still become a stop sequence."""
    end = len(text)
    while end > 0 and text[end - 1] == "\ufffd":
        end -= 1
    hold = 0
    for stop in stops:
        for size in range(min(len(stop) - 1, end), 0, -1):
            if text[end - size:end] == stop[:size]:
                hold = max(hold, size)
                break
    return end - hold
