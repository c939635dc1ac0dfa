"""What the generating routes (chat, completions, compare) share: the request caps and refusals, model
look-up, prompt encoding against the model's context, submission to a model's batching engine, and
collecting the answers under the request's timeout and the client's presence."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from fastapi import Request

from instructrl.errors import ConfigError, ModelError
from instructrl.models.policy import SamplingParams
from serve import schemas
from serve.deps import Lifecycle
from serve.engine import EngineStopped, Event, QueueFull, RequestHandle
from serve.errors import ApiError
from serve.models import LocalModel, ModelPool, UnknownModel
from serve.settings import Settings

log = logging.getLogger("serve.app")  # the server's log, under the name it has always had


# ---- request checks ------------------------------------------------------------------------------


def stop_list(request: schemas._Sampling, settings: Settings) -> tuple[str, ...]:
    stops = request.stop_list()
    if len(stops) > settings.max_stop:
        raise ApiError(400, f"stop: {len(stops)} stop sequences given; the cap is {settings.max_stop}", param="stop")
    for stop in stops:
        if not stop:
            raise ApiError(400, "stop: an empty stop sequence was given; remove it", param="stop")
        if len(stop) > settings.max_stop_chars:
            raise ApiError(400, f"stop: a stop sequence is {len(stop)} characters; the cap is "
                                f"{settings.max_stop_chars}", param="stop")
    return tuple(stops)


def check_caps(request, settings: Settings, max_tokens: int | None, field: str) -> None:
    """The caps every generating route shares (chat, completions, compare)."""
    if max_tokens is not None and max_tokens > settings.max_tokens_cap:
        raise ApiError(400, f"{field}: {max_tokens} is above the server's cap of {settings.max_tokens_cap}",
                       param=field)
    if getattr(request, "n", 1) > settings.max_n:
        raise ApiError(400, f"n: {request.n} answers requested; the cap is {settings.max_n}", param="n")


def refuse_unsupported(request: schemas._Unsupported) -> None:
    name = request.unsupported()
    if name is not None:
        raise ApiError(400, f"{name}: not supported by this server's local models (it would be ignored); remove "
                            "it, or serve a model that supports it through --proxy", param=name,
                       code="unsupported_parameter")


def refuse_with_stream(request: schemas.CompletionRequest | schemas.ChatCompletionRequest) -> None:
    """echo, logprobs and max_tokens 0 answer with the whole text at once: not as a stream."""
    if isinstance(request, schemas.ChatCompletionRequest):
        asked = [("logprobs", request.logprobs)]
        if request.top_logprobs is not None and not request.logprobs:
            raise ApiError(400, "top_logprobs: top_logprobs needs logprobs: true", param="top_logprobs")
    else:
        asked = [("echo", request.echo), ("logprobs", request.logprobs is not None),
                 ("max_tokens", request.max_tokens == 0), ("return_token_ids", request.return_token_ids)]
    if request.stream:
        for field, used in asked:
            if used:
                raise ApiError(400, f"{field}: {field} cannot be combined with stream; send stream: false",
                               param=field)


def sampling_params(request, max_tokens: int, stops: tuple[str, ...], index: int) -> SamplingParams:
    seed = None if request.seed is None else request.seed + index  # n > 1: distinct but reproducible samples
    try:
        return SamplingParams(max_new_tokens=max_tokens, temperature=request.temperature, top_p=request.top_p,
                              stop=stops, seed=seed)
    except ConfigError as err:
        raise ApiError(400, str(err)) from None


def chat_prompt(messages: list[schemas.ChatMessage]) -> list[dict[str, str]]:
    if messages[-1].role != "user":
        raise ApiError(400, f"messages: the conversation must end with a user message, not {messages[-1].role!r}",
                       param=f"messages.{len(messages) - 1}.role")
    return [{"role": "system" if m.role == "developer" else m.role, "content": m.text()} for m in messages]


def usage(prompt: int, completion: int) -> dict[str, int]:
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


# ---- models: look-up, encoding, submission -------------------------------------------------------------


def known(pool: ModelPool, name: str, param: str = "model") -> None:
    if not pool.serves(name):
        raise ApiError(404, f"the model {name!r} does not exist on this server; use one of: "
                            f"{', '.join(pool.names()) or '(none)'}", param=param, code="model_not_found")


async def local(pool: ModelPool, name: str) -> LocalModel:
    """The local model ``name``, loaded (in a thread) on first use."""
    try:
        model = await asyncio.to_thread(pool.get, name)
    except UnknownModel as err:
        raise ApiError(404, str(err), param="model", code="model_not_found") from None
    except ModelError as err:
        raise ApiError(500, f"the model {name!r} could not be loaded: {err}", "server_error") from None
    assert isinstance(model, LocalModel)
    return model


def encode(model: LocalModel, prompt, chat: bool, max_tokens: int | None, field: str, param: str,
           settings: Settings) -> tuple[list[int], int]:
    """Prompt tokens and the answer budget; errors when the two do not fit the context."""
    ids = model.encode(prompt, chat)
    vocabulary = model.vocabulary_size
    if any(token >= vocabulary for token in ids):
        raise ApiError(400, f"{param}: token id {max(ids)} is outside this model's vocabulary of {vocabulary}",
                       param=param)
    limit = min(settings.max_prompt_tokens, model.context_length - 1)
    if len(ids) > limit:
        raise ApiError(400, f"{param}: the prompt is {len(ids)} tokens; this model accepts at most {limit}",
                       param=param, code="context_length_exceeded")
    room = model.context_length - len(ids)
    if max_tokens is None:
        return ids, min(settings.default_max_tokens, room)
    if max_tokens > room:
        raise ApiError(400, f"{field}: {len(ids)} prompt tokens + {max_tokens} answer tokens exceed the model's "
                            f"context of {model.context_length}", param=field, code="context_length_exceeded")
    return ids, max_tokens


def submit_all(model: LocalModel, prompts: list[list[int]], params: list[SamplingParams], settings: Settings,
               lifecycle: Lifecycle) -> list[RequestHandle]:
    """One engine request per prompt; all or none (a full queue cancels those already submitted)."""
    lifecycle.refuse_if_shutting_down()
    loop = asyncio.get_running_loop()
    handles: list[RequestHandle] = []
    try:
        for ids, p in zip(prompts, params):
            handles.append(model.engine.submit(ids, p, loop))
    except QueueFull as err:
        for handle in handles:
            handle.cancel()
        raise ApiError(429, f"the server is busy ({err}); retry shortly", "rate_limit_error", code="queue_full",
                       headers={"Retry-After": str(settings.retry_after_s)}) from None
    except EngineStopped as err:
        for handle in handles:
            handle.cancel()
        raise ApiError(503, str(err), "server_error", code="shutting_down") from None
    return handles


# ---- waiting for answers ---------------------------------------------------------------------------------


async def collect(request: Request, handles: list[RequestHandle], timeout: float) -> list[tuple[str, Event]]:
    """Each handle's full text and final event; cancels everything on timeout or disconnect."""

    async def one(handle: RequestHandle) -> tuple[str, Event]:
        text = ""
        async for event in handle.events():
            if event.kind == "token":
                text += event.text
            else:
                return text, event
        return text, Event("error", "the request ended without an answer")

    try:
        results = await race(request, asyncio.gather(*(one(h) for h in handles)), timeout)
    finally:
        for handle in handles:
            handle.cancel()
    for _, final in results:
        if final.kind == "error":
            raise ApiError(500, f"generation failed: {final.text}", "server_error")
    return results


async def _wait_disconnect(request: Request) -> None:
    """Returns when the client goes away (the body has already been read)."""
    while True:
        message = await request.receive()
        if message["type"] == "http.disconnect":
            return


def _retrieve(future: asyncio.Future) -> None:
    """Read a cancelled future's outcome, so asyncio does not log 'exception was never retrieved'."""
    if not future.cancelled():
        future.exception()


async def race(request: Request, work: asyncio.Future, timeout: float) -> Any:
    """``work``'s result, unless the client goes away first (499, logged as one line) or it takes
    longer than ``timeout`` seconds (504); either way ``work`` is cancelled."""
    watcher = asyncio.ensure_future(_wait_disconnect(request))
    try:
        done, _ = await asyncio.wait({watcher, work}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        watcher.cancel()
    if work in done:
        return work.result()
    work.cancel()
    work.add_done_callback(_retrieve)
    if watcher in done:
        log.info("%s: the client disconnected; its generation was stopped", request.url.path)
        raise ApiError(499, "the client closed the request", "invalid_request_error")
    raise ApiError(504, f"the request took longer than {timeout:g} s", "timeout", code="timeout")
