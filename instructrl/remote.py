"""A model behind an OpenAI-compatible URL (vLLM, SGLang, another ``instructrl serve``, a hosted API):
the one spec syntax and the one client that eval models, judges, the truth judge and the LLM labeler
share, and the rollout sampler of PPO's remote generation backend (token-id completions and vLLM's
runtime LoRA adapter routes).

A spec is ``MODEL@URL`` after the prefix its caller uses: ``openai:MODEL@URL`` for an eval model or
baseline, ``llm:MODEL@URL`` for a judge or labeler, e.g. ``llm:gpt-4o-mini@http://localhost:8000/v1``.
The key comes from ``$OPENAI_API_KEY`` (any value for servers that need none).

``HttpEndpoint`` gives plain httpx clients (base URL, bearer key, timeout) for callers that forward raw
requests and server-sent event streams as they are: ``instructrl serve``'s proxy models, whose URLs are
``URL#MODEL`` (``proxy_spec``)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from instructrl.errors import ConfigError, ModelError

if TYPE_CHECKING:
    import httpx


@dataclass(frozen=True)
class RemoteSpec:
    model: str
    url: str  # the API root, ending in /v1

    @property
    def label(self) -> str:
        return f"{self.model}@{self.url}"


def proxy_spec(url: str, default_model: str) -> RemoteSpec:
    """``http://host:port/v1#remote-name`` -> RemoteSpec(remote-name, http://host:port/v1); without
    ``#``, the model is ``default_model``."""
    base, _, model = url.partition("#")
    return RemoteSpec(model or default_model, base.rstrip("/"))


def parse_remote(spec: str, prefix: str) -> RemoteSpec:
    """``PREFIX:MODEL@URL`` -> RemoteSpec; a malformed spec names the expected form."""
    model, at, url = spec.strip().removeprefix(f"{prefix}:").partition("@")
    if not spec.strip().startswith(f"{prefix}:") or not model or not at or not url.startswith(("http://", "https://")):
        raise ConfigError(f"remote model spec {spec!r} is malformed",
                          f"write it as {prefix}:MODEL@URL, URL the API root: {prefix}:MODEL@http://localhost:8000/v1")
    return RemoteSpec(model, url.rstrip("/"))


@dataclass(frozen=True)
class HttpEndpoint:
    """httpx clients for one OpenAI-compatible API root: requests go to paths under ``url``
    (``"/chat/completions"``), with ``Authorization: Bearer api_key`` when a key is given. ``transport`` and
    ``sync_transport`` replace the network (tests: ``httpx.ASGITransport``, ``httpx.MockTransport``)."""

    url: str  # the API root, ending in /v1
    api_key: str | None = None
    timeout: float = 300.0
    transport: Any = None  # httpx.AsyncBaseTransport
    sync_transport: Any = None  # httpx.BaseTransport

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}

    def async_client(self) -> httpx.AsyncClient:
        """A new ``httpx.AsyncClient`` (use it as an async context manager)."""
        import httpx

        return httpx.AsyncClient(base_url=self.url, headers=self.headers, timeout=self.timeout,
                                 transport=self.transport)

    def client(self, timeout: float | None = None) -> httpx.Client:
        """A new ``httpx.Client`` (use it as a context manager); ``timeout`` caps the endpoint's own."""
        import httpx

        limit = self.timeout if timeout is None else min(timeout, self.timeout)
        return httpx.Client(base_url=self.url, headers=self.headers, timeout=limit, transport=self.sync_transport)


@dataclass(frozen=True)
class Reply:
    text: str
    finish_reason: str  # "stop" or "length"
    prompt_tokens: int


@dataclass(frozen=True)
class TokenReply:
    token_ids: tuple[int, ...]  # the sampled tokens, the end token included when the model chose it
    finish_reason: str


class Endpoint:
    """One OpenAI client for one model at one URL; failures become a ModelError naming the URL and the fix."""

    def __init__(self, spec: RemoteSpec, timeout: float = 120.0, retries: int = 2, api_key: str | None = None,
                 role: str = "endpoint"):
        from openai import OpenAI

        self.spec, self.role = spec, role  # role names the endpoint in errors ("judge endpoint")
        self.client = OpenAI(base_url=spec.url, api_key=api_key or os.environ.get("OPENAI_API_KEY") or "none",
                             timeout=timeout, max_retries=retries)

    def chat(self, messages: list[dict[str, str]], **params: Any) -> Reply:
        """A chat completion (``params``: max_tokens, temperature, top_p, stop, seed)."""
        reply = self._call(self.client.chat.completions.create, messages=messages, **params)
        return self._reply(reply, reply.choices[0].message.content or "")

    def complete(self, prompt: str, **params: Any) -> Reply:
        """A raw-text completion, for base models and few-shot prompts."""
        reply = self._call(self.client.completions.create, prompt=prompt, **params)
        return self._reply(reply, reply.choices[0].text or "")

    def complete_tokens(self, prompt_ids: list[int], model: str | None = None, **params: Any) -> TokenReply:
        """A completion of a token-id prompt, answered with the sampled token ids (vLLM's
        ``return_token_ids``, vLLM 0.10.2 or later, and ``instructrl serve``); ``model`` overrides the spec's."""
        reply = self._call(self.client.completions.create, prompt=prompt_ids, model=model or self.spec.model,
                           extra_body={"return_token_ids": True}, **params)
        ids = getattr(reply.choices[0], "token_ids", None)
        if ids is None:
            raise ModelError(f"{self.role} {self.spec.url} answered without token ids",
                             "serve with vLLM 0.10.2 or later, or `instructrl serve`: both answer return_token_ids")
        return TokenReply(tuple(int(i) for i in ids), reply.choices[0].finish_reason or "stop")

    def load_adapter(self, name: str, path: str) -> None:
        """vLLM's ``POST /v1/load_lora_adapter``: serve base + the PEFT adapter at ``path`` as ``name``."""
        self._post("/load_lora_adapter", {"lora_name": name, "lora_path": path})

    def unload_adapter(self, name: str) -> None:
        """vLLM's ``POST /v1/unload_lora_adapter``."""
        self._post("/unload_lora_adapter", {"lora_name": name})

    def _post(self, path: str, body: dict[str, Any]) -> None:
        import httpx

        self._guarded(body["lora_name"], lambda: self.client.post(path, body=body, cast_to=httpx.Response))

    def _call(self, create, **body: Any):
        model = body.pop("model", self.spec.model)
        return self._guarded(model, lambda: create(model=model, **body))

    def _guarded(self, model: str, call):
        import openai

        try:
            return call()
        except openai.OpenAIError as err:
            raise ModelError(f"{self.role} {self.spec.url} failed for model {model} "
                             f"({type(err).__name__}: {err})",
                             "check that the server is running, serves that model name, and the URL ends in /v1; "
                             "set $OPENAI_API_KEY if it needs a key") from None

    @staticmethod
    def _reply(reply, text: str) -> Reply:
        usage = getattr(reply, "usage", None)  # some servers send no usage block
        reason = "length" if reply.choices[0].finish_reason == "length" else "stop"
        return Reply(text, reason, int(getattr(usage, "prompt_tokens", 0) or 0))
