"""The model pool: which names the server answers to, and what stands behind each.

* Local models (``Settings.models`` and, when ``serve_registry`` is on, every policy checkpoint in the
  registry) are loaded on first use, each with its own batching ``Engine``. Loaded weights are kept
  under ``memory_cap_gb``: loading one more evicts the least recently used (its engine finishes its
  in-flight requests first).
* Each checkpoint has one name, its own: a stage alias (``sft``) or a path into the registry stands for
  that checkpoint, answers requests, and shares its one copy of the weights, but ``names()`` (the model
  list, the arena's draw) holds the checkpoint's name only. The names are resolved at start-up and again
  when a checkpoint is added or removed.
* Runtime LoRA adapters (``serve.adapters``, behind ``--allow-runtime-lora``) are local models too,
  kept outside the LRU until unloaded: evicting one would lose it, as it cannot be loaded by name.
* Proxy models forward to any remote OpenAI-compatible endpoint (vLLM, another instructrl) by URL;
  ``http://host:port/v1#remote-name`` asks the remote for ``remote-name`` (default: the local name).
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from instructrl.checkpoints import STAGES, Registry
from instructrl.errors import ConfigError, ModelError
from instructrl.models.loading import known_names
from instructrl.models.policy import Policy, SamplingParams
from instructrl.remote import HttpEndpoint, proxy_spec
from serve.engine import Engine, EngineStats, Event
from serve.settings import Settings


class UnknownModel(ModelError):
    """A name the server does not serve (HTTP 404)."""


class ProxyError(Exception):
    """The remote endpoint could not be reached or answered with an error."""

    def __init__(self, message: str, status: int = 502, body: dict[str, Any] | None = None):
        super().__init__(message)
        self.status, self.body = status, body


@dataclass
class LocalModel:
    name: str
    policy: Policy
    engine: Engine
    bytes: int

    @property
    def context_length(self) -> int:
        return int(getattr(self.policy.model.config, "max_position_embeddings", 2048) or 2048)

    @property
    def vocabulary_size(self) -> int:
        return int(self.policy.model.get_input_embeddings().num_embeddings)

    def encode(self, prompt, chat: bool) -> list[int]:
        """Token ids of a chat (messages, with the chat template) or of a raw prompt (a text or token ids)."""
        if not chat and isinstance(prompt, list):
            return list(prompt)
        text = self.policy.format(prompt) if chat else prompt
        ids = self.policy.tokenizer(text, add_special_tokens=False)["input_ids"]
        return ids or [self.policy.tokenizer.eos_token_id]

    def token_logprobs(self, ids: list[int], top: int) -> tuple[list[float | None], list[list[tuple[int, float]]]]:
        """log p(token i | tokens before it) for each token of ``ids`` (None for the first) and the
        ``top`` most likely (token id, log-prob) at each position, most likely first (empty for the
        first token). One forward pass, no cache."""
        import torch

        with torch.inference_mode():
            logits = self.policy.model(torch.tensor([ids], device=self.policy.device)).logits[0, :-1]
        logp = torch.log_softmax(logits.float(), dim=-1)
        chosen = logp.gather(-1, torch.tensor(ids[1:], device=logp.device).unsqueeze(-1)).squeeze(-1).tolist()
        tops: list[list[tuple[int, float]]] = [[]]
        for row in logp:
            values, indices = row.topk(top) if top else (row[:0], row[:0].long())
            tops.append(list(zip(indices.tolist(), values.tolist())))
        return [None, *chosen], tops

    def stream(self, prompt, params: SamplingParams, timeout: float, chat: bool = True) -> Iterator[Event]:
        """Synchronous events for one request (used by the UI and comparisons)."""
        handle = self.engine.submit(self.encode(prompt, chat), params)
        try:
            yield from handle.iter_events(timeout)
        finally:
            handle.cancel()  # no-op when finished; stops the work when the caller walks away

    def chat_events(self, messages, params: SamplingParams, timeout: float) -> Iterator[Event]:
        """A streamed chat answer as engine events: the same call as ``ProxyModel.chat_events``."""
        return self.stream(messages, params, timeout, chat=True)


class ProxyModel:
    """A model served by a remote OpenAI-compatible endpoint."""

    def __init__(self, name: str, url: str, api_key: str | None = None, timeout: float = 300.0,
                 transport: httpx.AsyncBaseTransport | None = None,
                 sync_transport: httpx.BaseTransport | None = None):
        spec = proxy_spec(url, name)
        self.name, self.base_url, self.remote_model = name, spec.url, spec.model
        self.timeout = timeout
        self.http = HttpEndpoint(spec.url, api_key, timeout, transport, sync_transport)

    def _body(self, body: dict[str, Any]) -> dict[str, Any]:
        return {**body, "model": self.remote_model}

    def _rename(self, payload: dict[str, Any]) -> dict[str, Any]:
        if isinstance(payload, dict) and "model" in payload:
            payload["model"] = self.name
        return payload

    async def request(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        """A non-streaming call; remote errors come back as ``ProxyError`` with the remote's status."""
        async with self.http.async_client() as client:
            try:
                response = await client.post(path, json=self._body(body))
            except httpx.HTTPError as err:
                raise ProxyError(f"proxy model {self.name}: {self.base_url} is unreachable ({err})") from None
        return self._rename(_json_or_error(self.name, response))

    async def stream(self, path: str, body: dict[str, Any]) -> AsyncIterator[dict[str, Any]]:
        """A streaming call: each SSE ``data:`` payload, parsed, with the model renamed."""
        async with self.http.async_client() as client:
            try:
                async with client.stream("POST", path, json=self._body(body)) as response:
                    if response.status_code >= 400:
                        await response.aread()
                        _json_or_error(self.name, response)
                    async for line in response.aiter_lines():
                        payload = _sse_payload(line)
                        if payload is not None:
                            yield self._rename(payload)
            except httpx.HTTPError as err:
                raise ProxyError(f"proxy model {self.name}: {self.base_url} failed mid-request ({err})") from None

    def chat_events(self, messages, params: SamplingParams, timeout: float) -> Iterator[Event]:
        """Synchronous streamed chat (used by the UI and comparisons), as engine-style events."""
        body = {"messages": messages, "stream": True, "max_tokens": params.max_new_tokens,
                "temperature": params.temperature, "top_p": params.top_p, "stop": list(params.stop) or None,
                "seed": params.seed}
        finish = None
        try:
            with self.http.client(timeout) as client, \
                    client.stream("POST", "/chat/completions", json=self._body(body)) as response:
                if response.status_code >= 400:
                    response.read()
                    _json_or_error(self.name, response)
                for line in response.iter_lines():
                    payload = _sse_payload(line)
                    if payload is None:
                        continue
                    if "error" in payload:
                        yield Event("error", str(payload["error"].get("message", payload["error"])))
                        return
                    for choice in payload.get("choices", []):
                        delta = (choice.get("delta") or {}).get("content")
                        if delta:
                            yield Event("token", delta)
                        finish = choice.get("finish_reason") or finish
        except httpx.HTTPError as err:
            yield Event("error", f"proxy model {self.name}: {self.base_url} failed ({err})")
            return
        except ProxyError as err:
            yield Event("error", str(err))
            return
        yield Event("done", finish_reason=finish or "stop")


def _sse_payload(line: str) -> dict[str, Any] | None:
    if not line.startswith("data:"):
        return None
    data = line[5:].strip()
    if not data or data == "[DONE]":
        return None
    try:
        return json.loads(data)
    except json.JSONDecodeError:
        return None


def _json_or_error(name: str, response: httpx.Response) -> dict[str, Any]:
    try:
        payload = response.json()
    except ValueError:
        payload = None
    if response.status_code >= 400 or not isinstance(payload, dict):
        message = (payload or {}).get("error", {}).get("message") if isinstance(payload, dict) else None
        status = response.status_code if response.status_code >= 400 else 502
        raise ProxyError(f"proxy model {name}: the remote answered {response.status_code}"
                         f"{': ' + message if message else ''}", status, payload if isinstance(payload, dict) else None)
    return payload


def _check_spec(spec: str, registry: Registry | None) -> None:
    """A ``--model`` that can be loaded: a built-in or embedded model, a path, a checkpoint or stage in
    the registry, or a hub id. A stage with no checkpoint yet, or an unknown name, raises ConfigError."""
    if spec in known_names() or Path(spec).exists() or (registry is not None and registry.find(spec)):
        return
    where = f" in {registry.root}" if registry is not None else ""
    if spec in STAGES:
        raise ConfigError(f"--model {spec}: there is no {spec} checkpoint{where} yet",
                          f"train it first (`instructrl train {spec.removesuffix('-ptx')}`), or serve a "
                          "checkpoint that `instructrl checkpoints list` shows")
    if "/" in spec and not spec.startswith((".", "/")):
        return  # a hub id: transformers says what is wrong when it cannot fetch it
    raise ConfigError(f"--model {spec}: no such model, file or checkpoint{where}",
                      f"use one of {', '.join(known_names())}, a stage ({', '.join(STAGES)}), a local "
                      "directory or .gguf file, or a checkpoint that `instructrl checkpoints list` shows")


def _weight_bytes(model) -> int:
    return sum(p.numel() * p.element_size() for p in model.parameters())


class ModelPool:
    """Names -> local models (lazy, LRU under a memory cap) and proxy models."""

    def __init__(self, settings: Settings, registry: Registry | None = None,
                 stats_for: Callable[[str], EngineStats] | None = None,
                 proxy_transports: dict[str, tuple[Any, Any]] | None = None):
        self.settings, self.registry, self.stats_for = settings, registry, stats_for
        self._loaded: OrderedDict[str, LocalModel] = OrderedDict()  # least recently used first
        self._lock = threading.Lock()
        self._loading: dict[str, threading.Lock] = {}
        self.adapters: dict[str, LocalModel] = {}  # runtime LoRA adapters by name (serve.adapters)
        self.lineage: dict[str, tuple[str, str]] = {}  # adapter name -> (its base model, its path)
        self._names: dict[str, str] | None = None  # see _aliases
        self._stamp: object = None
        transports = proxy_transports or {}
        self.proxies = {name: ProxyModel(name, url, settings.proxy_api_key, settings.request_timeout_s,
                                         *transports.get(name, (None, None)))
                        for name, url in settings.proxies.items()}
        self._aliases()  # the names served, resolved now, at start-up

    def _checkpoints(self) -> list[str]:
        if self.registry is None or not self.settings.serve_registry:
            return []
        return [c.name for c in self.registry.list() if c.card.kind == "policy"]

    def _canonical(self, spec: str) -> str:
        """The one name of what ``spec`` stands for: a stage alias (``sft``) and a path to a checkpoint
        of the registry are that checkpoint's own name; anything else is itself."""
        if self.registry is None:
            return spec
        path = Path(spec).expanduser()
        if (path.is_dir() and path.resolve().parent == self.registry.root.resolve()
                and self.registry.find(path.name) is not None):
            return path.name
        return self.registry.resolve(spec)

    def _aliases(self) -> dict[str, str]:
        """Every local name served -> its checkpoint's one name (``sft`` and ``sft-...`` are one model:
        loaded once, listed once under the checkpoint's name). Resolved at start-up and again only when a
        checkpoint is added or removed (the registry's stamp moves), not on every request."""
        stamp = self.registry.stamp() if self.registry is not None else None
        if self._names is None or stamp != self._stamp:
            specs = dict.fromkeys([*self.settings.models, *self._checkpoints()])
            self._names, self._stamp = {spec: self._canonical(spec) for spec in specs}, stamp
        return self._names

    def check_models(self) -> None:
        """Refuse, at start-up, a ``--model`` that names nothing that could be loaded."""
        for spec in self.settings.models:
            _check_spec(spec, self.registry)

    def canonical(self, name: str) -> str:
        """The name ``name`` is listed under (itself for adapters, proxies and names not served)."""
        return self._aliases().get(name, name)

    def local_names(self) -> list[str]:
        """One name per local checkpoint or model, in the order they were first named."""
        return list(dict.fromkeys(self._aliases().values()))

    def names(self) -> list[str]:
        """Every model served, each once (a proxy named like a checkpoint is the proxy, as ``get`` answers)."""
        return list(dict.fromkeys([*self.local_names(), *self.adapters, *self.proxies]))

    def same_model(self, a: str, b: str) -> bool:
        """Whether two served names stand for one model (an alias and its checkpoint)."""
        aliases = self._aliases()
        return aliases.get(a, a) == aliases.get(b, b)

    def serves(self, name: str) -> bool:
        return name in self.proxies or name in self.adapters or name in self._aliases()

    def loaded(self) -> list[str]:
        return [model.name for model in self._loaded.values()]

    def owner(self, name: str) -> str:
        return "proxy" if name in self.proxies else "instructrl"

    def get(self, name: str) -> LocalModel | ProxyModel:
        """The model called ``name`` (under any of its names), loading it (blocking) on first use; raises
        UnknownModel."""
        if name in self.proxies:
            return self.proxies[name]
        if name in self.adapters:
            return self.adapters[name]
        key = self._aliases().get(name)  # the checkpoint's one name: its weights are loaded under it, once
        with self._lock:
            if key in self._loaded:
                self._loaded.move_to_end(key)
                return self._loaded[key]
            if key is None:
                raise UnknownModel(f"the model {name!r} does not exist on this server",
                                   f"use one of: {', '.join(self.names()) or '(none configured)'}")
            loading = self._loading.setdefault(key, threading.Lock())
        with loading:  # one load per model even when many requests (or names) ask at once
            with self._lock:
                if key in self._loaded:
                    return self._loaded[key]
            found = self.registry.find(key) if self.registry is not None else None
            policy = Policy.load(str(found.path) if found is not None else key, dtype=self.settings.dtype,
                                 registry=self.registry)
            policy.name = key
            size = _weight_bytes(policy.model)
            with self._lock:
                self._evict_for(size)
                self._loaded[key] = self.local_model(key, policy)
                return self._loaded[key]

    def local_model(self, name: str, policy: Policy) -> LocalModel:
        """``policy`` served under ``name``, with a batching engine of its own."""
        engine = Engine(policy.model, policy.tokenizer, self.settings.max_batch, self.settings.max_queue,
                        self.settings.batch_wait_ms / 1000, self.stats_for(name) if self.stats_for else None, name)
        return LocalModel(name, policy, engine, _weight_bytes(policy.model))

    def _evict_for(self, size: int) -> None:
        """Drop least recently used models until ``size`` more bytes fit under the cap (keep at least
        the new one: a single model bigger than the cap still loads)."""
        cap = self.settings.memory_cap_gb * 1e9
        while self._loaded and sum(m.bytes for m in self._loaded.values()) + size > cap:
            _, evicted = self._loaded.popitem(last=False)
            # finishes its in-flight requests in the background, then the weights can be freed
            threading.Thread(target=evicted.engine.stop, name=f"evict-{evicted.name}", daemon=True).start()

    def running_models(self) -> list[LocalModel]:
        """Every local model with an engine now: loaded ones and runtime adapters."""
        return [*self._loaded.values(), *self.adapters.values()]

    def queue_depths(self) -> dict[str, int]:
        return {model.name: model.engine.queue_depth for model in self.running_models()}

    def close(self, drain: bool = True, timeout: float | None = None) -> None:
        with self._lock:
            models = [*self._loaded.values(), *self.adapters.values()]
            self._loaded.clear()
            self.adapters.clear()
            self.lineage.clear()
        for model in models:
            model.engine.stop(drain=drain, timeout=timeout)
