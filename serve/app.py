"""The serving API: ``create_app(settings, registry, vote_store)`` builds a FastAPI app with no
module-level state.

Routes: OpenAI-compatible ``/v1/chat/completions``, ``/v1/completions`` (both stream as SSE ending
in ``data: [DONE]``; completions also give ``logprobs``, with ``echo`` and ``max_tokens: 0`` those of
the prompt, as OpenAI's legacy API and vLLM do, so lm-evaluation-harness can score a model; chat gives
``logprobs`` / ``top_logprobs`` in OpenAI's chat shape), ``/v1/models``; side by side ``/v1/compare``, ``/v1/votes``,
``/v1/leaderboard``; vLLM's runtime LoRA routes ``/v1/load_lora_adapter`` and ``/v1/unload_lora_adapter``
(``serve.adapters``, behind ``--allow-runtime-lora``); ``/health`` (liveness, never authenticated), ``/ready`` and ``/metrics``
(Prometheus). Every error has OpenAI's shape ``{"error": {message, type, param, code}}`` so the
official client raises the matching exception; bad input is a 4xx naming the field, never a 500.
"""

from __future__ import annotations

import asyncio
import hmac
import itertools
import json
import logging
import threading
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response, StreamingResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from instructrl.checkpoints import Registry
from instructrl.errors import ConfigError, ModelError
from instructrl.models.policy import SamplingParams
from serve import schemas
from serve.adapters import add_adapter_routes, model_card
from serve.backend import GenerationFailed, UiBackend
from serve.engine import EngineStats, EngineStopped, Event, QueueFull, RequestHandle
from serve.models import LocalModel, ModelPool, ProxyError, ProxyModel, UnknownModel
from serve.settings import Settings
from serve.votes import AlreadyVoted, VoteStore

ERRORS = {
    status: {"model": schemas.ErrorResponse, "description": text}
    for status, text in [(400, "invalid request (names the field)"), (401, "missing or wrong API key"),
                         (404, "unknown model or comparison"),
                         (409, "the comparison already has its vote"), (413, "request body too large"),
                         (429, "queue full; retry after Retry-After seconds"), (500, "server error"),
                         (502, "proxied endpoint failed"), (503, "shutting down or unavailable"),
                         (504, "request timed out")]
}
log = logging.getLogger(__name__)
OPEN_PATHS = ("/health",)  # the only route that needs no API key


class ApiError(Exception):
    """An error answered in OpenAI's shape."""

    def __init__(self, status: int, message: str, type_: str = "invalid_request_error", param: str | None = None,
                 code: str | None = None, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status, self.message, self.type, self.param, self.code = status, message, type_, param, code
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        return schemas.error_body(self.message, self.type, self.param, self.code)

    def response(self) -> JSONResponse:
        return JSONResponse(self.body(), status_code=self.status, headers=self.headers)


# ---- metrics ------------------------------------------------------------------------------------


class Metrics:
    """Prometheus metrics in a registry of their own (one per app, so apps never share counters)."""

    def __init__(self):
        from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

        self.registry = CollectorRegistry()
        self.requests = Counter("instructrl_requests", "HTTP requests by route and status", ["route", "status"],
                                registry=self.registry)
        self.prompt_tokens = Counter("instructrl_prompt_tokens", "prompt tokens of finished requests", ["model"],
                                     registry=self.registry)
        self.completion_tokens = Counter("instructrl_completion_tokens", "generated tokens", ["model"],
                                         registry=self.registry)
        self.queue_depth = Gauge("instructrl_queue_depth", "requests waiting to join a batch", ["model"],
                                 registry=self.registry)
        self.running = Gauge("instructrl_running_requests", "requests in the running batch", ["model"],
                             registry=self.registry)
        self.ttft = Histogram("instructrl_time_to_first_token_seconds", "submit to first token", ["model"],
                              buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30), registry=self.registry)
        self.tpot = Histogram("instructrl_time_per_output_token_seconds", "time between a request's tokens",
                              ["model"], buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
                              registry=self.registry)

    def engine_stats(self, model: str) -> EngineStats:
        def tokens(prompt: int, completion: int) -> None:
            self.prompt_tokens.labels(model).inc(prompt)
            self.completion_tokens.labels(model).inc(completion)

        return EngineStats(on_first_token=self.ttft.labels(model).observe,
                           on_token_interval=self.tpot.labels(model).observe, on_tokens=tokens)

    def render(self, pool: ModelPool) -> bytes:
        from prometheus_client import generate_latest

        for model in pool.running_models():
            self.queue_depth.labels(model.name).set(model.engine.queue_depth)
            self.running.labels(model.name).set(model.engine.running)
        return generate_latest(self.registry)


# ---- ASGI guard: API keys, body cap, request counting --------------------------------------------


class Guard:
    """Pure ASGI middleware: checks the API key (constant-time), caps the request body (buffering it
    up to the cap), and counts requests by route and status."""

    def __init__(self, app, settings: Settings, metrics: Metrics, routes: set[str]):
        self.app, self.settings, self.metrics, self.routes = app, settings, metrics, routes
        self.keys = [key.encode() for key in settings.api_keys]

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        path = scope.get("path", "")
        route = path if path in self.routes else ("/ui" if path.startswith("/ui") else "other")
        status_seen: list[int] = []

        async def counting_send(message):
            if message["type"] == "http.response.start":
                status_seen.append(message["status"])
            await send(message)

        try:
            error = self._check_key(scope, path)
            if error is None:
                body, error = await self._read_body(scope, receive)
            if error is not None:
                await error.response()(scope, receive, counting_send)
                return
            await self.app(scope, _replay(body, receive), counting_send)
        except Exception:
            if not status_seen:  # the crash handler outside us answers 500: count it as that, not 499
                status_seen.append(500)
            raise
        finally:
            self.metrics.requests.labels(route, str(status_seen[0] if status_seen else 499)).inc()

    def _check_key(self, scope, path: str) -> ApiError | None:
        if not self.keys or path in OPEN_PATHS:
            return None
        if self.settings.ui and (path == "/ui" or path.startswith("/ui/")):
            return None  # the UI has its own sign-in with the same keys (see _mount_ui) and a session cookie
        headers = dict(scope.get("headers") or [])
        auth = headers.get(b"authorization", b"")
        given = auth[7:].strip() if auth[:7].lower() == b"bearer " else headers.get(b"x-api-key", b"")
        if key_matches(given, self.keys):
            return None
        return ApiError(401, "missing or incorrect API key", "authentication_error", None, "invalid_api_key",
                        {"WWW-Authenticate": "Bearer"})

    async def _read_body(self, scope, receive) -> tuple[list[dict], ApiError | None]:
        cap = self.settings.max_body_bytes
        too_big = ApiError(413, f"the request body is larger than the server's cap of {cap} bytes",
                           param=None, code="request_too_large")
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > cap:
            return [], too_big
        if scope.get("method") in ("GET", "HEAD", "OPTIONS", "DELETE"):
            return [], None
        messages, size = [], 0
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                break
            size += len(message.get("body", b""))
            if size > cap:
                return [], too_big
            if not message.get("more_body", False):
                break
        return messages, None


def key_matches(given: bytes, keys: list[bytes]) -> bool:
    """Whether ``given`` is one of ``keys``, compared with every key so the time taken does not reveal
    which key (or prefix) matched."""
    matched = False
    for key in keys:
        matched |= hmac.compare_digest(given, key)
    return matched


def _replay(messages: list[dict], receive):
    """A receive() that first returns the buffered body messages, then the live channel."""
    pending = list(messages)

    async def replayed():
        if pending:
            return pending.pop(0)
        return await receive()

    return replayed


# ---- helpers -----------------------------------------------------------------------------------


def _field_name(loc: tuple) -> str | None:
    parts = [str(p) for p in loc if p != "body"]
    # pydantic adds the union member's type name (e.g. "str", "list[TextPart]") to the location
    parts = [p for p in parts if not (p[:1].isalpha() and ("[" in p or p in {"str", "int", "float", "bool", "list"}))]
    return ".".join(parts) or None


def _validation_error(err: RequestValidationError) -> ApiError:
    # of a union's failed members, the one that got furthest into the value says what is wrong with it
    first = max(err.errors(), key=lambda e: len(e.get("loc", ())), default={"loc": (), "msg": "invalid request",
                                                                            "type": ""})
    if first.get("type") == "json_invalid":
        return ApiError(400, f"the request body is not valid JSON ({first.get('ctx', {}).get('error', 'parse error')})",
                        code="invalid_json")
    param = _field_name(tuple(first.get("loc", ())))
    message = f"{param or 'body'}: {first.get('msg', 'invalid value')}"
    if first.get("type") == "missing":
        message = f"{param}: this field is required"
    if first.get("type") == "bool_type":
        message = f"{param}: must be a JSON boolean, true or false (not a string or a number)"
    if first.get("type") == "string_unicode":  # pydantic's own check, for fields with a length limit
        message = f"{param}: the text is not valid Unicode (a lone surrogate?); send UTF-8 text"
    return ApiError(400, message, param=param, code="invalid_value")


def _sse(payload: Any) -> bytes:
    return f"data: {json.dumps(payload, ensure_ascii=False)}\n\n".encode()


DONE = b"data: [DONE]\n\n"


def _stop_list(request: schemas._Sampling, settings: Settings) -> tuple[str, ...]:
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


def _check_caps(request, settings: Settings, max_tokens: int | None, field: str) -> None:
    """The caps every generating route shares (chat, completions, compare)."""
    if max_tokens is not None and max_tokens > settings.max_tokens_cap:
        raise ApiError(400, f"{field}: {max_tokens} is above the server's cap of {settings.max_tokens_cap}",
                       param=field)
    if getattr(request, "n", 1) > settings.max_n:
        raise ApiError(400, f"n: {request.n} answers requested; the cap is {settings.max_n}", param="n")


def _refuse_unsupported(request: schemas._Unsupported) -> None:
    name = request.unsupported()
    if name is not None:
        raise ApiError(400, f"{name}: not supported by this server's local models (it would be ignored); remove "
                            "it, or serve a model that supports it through --proxy", param=name,
                       code="unsupported_parameter")


def _refuse_with_stream(request: schemas.CompletionRequest | schemas.ChatCompletionRequest) -> None:
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


def _completion_logprobs(model: LocalModel, prompt: str, prompt_ids: list[int], answer_ids: tuple[int, ...],
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


def _chat_logprobs(model: LocalModel, prompt_ids: list[int], answer_ids: tuple[int, ...],
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


def _params(request, max_tokens: int, stops: tuple[str, ...], index: int) -> SamplingParams:
    seed = None if request.seed is None else request.seed + index  # n > 1: distinct but reproducible samples
    try:
        return SamplingParams(max_new_tokens=max_tokens, temperature=request.temperature, top_p=request.top_p,
                              stop=stops, seed=seed)
    except ConfigError as err:
        raise ApiError(400, str(err)) from None


def _chat_prompt(messages: list[schemas.ChatMessage]) -> list[dict[str, str]]:
    if messages[-1].role != "user":
        raise ApiError(400, f"messages: the conversation must end with a user message, not {messages[-1].role!r}",
                       param=f"messages.{len(messages) - 1}.role")
    return [{"role": "system" if m.role == "developer" else m.role, "content": m.text()} for m in messages]


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


async def _race(request: Request, work: asyncio.Future, timeout: float) -> Any:
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


def _proxy_error(err: ProxyError) -> JSONResponse:
    """A remote 4xx in OpenAI's shape passes through as is; anything else is our 502."""
    body = err.body
    if 400 <= err.status < 500 and isinstance(body, dict) and isinstance(body.get("error"), dict):
        return JSONResponse(body, status_code=err.status)
    return ApiError(502, str(err), "server_error", code="upstream_error").response()


def _usage(prompt: int, completion: int) -> dict[str, int]:
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


# ---- the app -----------------------------------------------------------------------------------


def create_app(settings: Settings | None = None, registry: Registry | None = None, vote_store=None,
               proxy_transports: dict[str, tuple[Any, Any]] | None = None) -> FastAPI:
    """The serving app. ``registry``: checkpoints to serve (default: the configured registry);
    ``vote_store``: a ``serve.votes.VoteStore`` (default: one at ``settings.votes_db``);
    ``proxy_transports``: optional httpx (async, sync) transports per proxy name (tests)."""
    settings = settings or Settings()
    registry = registry if registry is not None else Registry()
    metrics = Metrics()
    pool = ModelPool(settings, registry, metrics.engine_stats, proxy_transports)
    pool.check_models()  # a model that is not there (e.g. not trained yet) stops start-up, naming the fix
    owns_store = vote_store is None
    if vote_store is None:
        vote_store = VoteStore(settings.votes_db)
    backend = UiBackend(pool, vote_store, settings)
    state = {"shutting_down": False}

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        yield
        # uvicorn has already waited for in-flight requests (up to its graceful-shutdown timeout)
        state["shutting_down"] = True
        await asyncio.to_thread(pool.close, True, settings.shutdown_timeout_s)
        if owns_store and vote_store is not None:
            vote_store.close()

    app = FastAPI(title="instructrl", version="1", lifespan=lifespan,
                  description="OpenAI-compatible serving of instructrl checkpoints, with side-by-side votes.")
    app.state.settings, app.state.pool, app.state.backend, app.state.metrics = settings, pool, backend, metrics

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, err: ApiError):
        return err.response()

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, err: RequestValidationError):
        return _validation_error(err).response()

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, err: StarletteHTTPException):
        kind = "not_found" if err.status_code == 404 else "invalid_request_error"
        message = f"no route {request.url.path}" if err.status_code == 404 else str(err.detail)
        return ApiError(err.status_code, message, kind, headers=getattr(err, "headers", None) or {}).response()

    @app.exception_handler(Exception)
    async def _crash(request: Request, err: Exception):
        return ApiError(500, f"internal error ({type(err).__name__})", "server_error").response()

    # ---- model resolution and submission -------------------------------------------------------

    def known(name: str, param: str = "model") -> None:
        if not pool.serves(name):
            raise ApiError(404, f"the model {name!r} does not exist on this server; use one of: "
                                f"{', '.join(pool.names()) or '(none)'}", param=param, code="model_not_found")

    async def local(name: str) -> LocalModel:
        try:
            model = await asyncio.to_thread(pool.get, name)
        except UnknownModel as err:
            raise ApiError(404, str(err), param="model", code="model_not_found") from None
        except ModelError as err:
            raise ApiError(500, f"the model {name!r} could not be loaded: {err}", "server_error") from None
        assert isinstance(model, LocalModel)
        return model

    def submit_all(model: LocalModel, prompts: list[list[int]], params: list[SamplingParams]) -> list[RequestHandle]:
        if state["shutting_down"]:
            raise ApiError(503, "the server is shutting down", "server_error", code="shutting_down")
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

    def encode(model: LocalModel, prompt, chat: bool, max_tokens: int | None, field: str, param: str) -> tuple[list[int], int]:
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

    async def collect(request: Request, handles: list[RequestHandle]) -> list[tuple[str, Event]]:
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
            results = await _race(request, asyncio.gather(*(one(h) for h in handles)), settings.request_timeout_s)
        finally:
            for handle in handles:
                handle.cancel()
        for _, final in results:
            if final.kind == "error":
                raise ApiError(500, f"generation failed: {final.text}", "server_error")
        return results

    async def merged(handles: list[RequestHandle]) -> AsyncIterator[tuple[int, Event]]:
        """Events of several handles as they come: (index, event), until every handle has finished."""
        if len(handles) == 1:
            async for event in handles[0].events():
                yield 0, event
            return
        out: asyncio.Queue[tuple[int, Event]] = asyncio.Queue()

        async def pump(index: int, handle: RequestHandle) -> None:
            async for event in handle.events():
                await out.put((index, event))

        tasks = [asyncio.ensure_future(pump(i, h)) for i, h in enumerate(handles)]
        try:
            remaining = len(handles)
            while remaining:
                index, event = await out.get()
                remaining -= event.kind != "token"
                yield index, event
        finally:
            for task in tasks:
                task.cancel()

    def stream_response(handles: list[RequestHandle],
                        request_body: schemas.ChatCompletionRequest | schemas.CompletionRequest,
                        rid: str, created: int) -> StreamingResponse:
        """SSE: one chunk per text delta, a final chunk per choice, optional usage, then [DONE]. Chat chunks
        carry a ``delta``, completion chunks a ``text``."""
        chat = isinstance(request_body, schemas.ChatCompletionRequest)
        kind, piece = ("chat.completion.chunk", "delta") if chat else ("text_completion", "text")
        usage_wanted = bool(request_body.stream_options and request_body.stream_options.include_usage)

        def chunk(index: int, content, finish: str | None) -> dict:
            return {"id": rid, "object": kind, "created": created, "model": request_body.model,
                    "choices": [{"index": index, piece: content, "finish_reason": finish, "logprobs": None}]}

        async def body() -> AsyncIterator[bytes]:
            prompt_total = completion_total = 0
            deadline = time.monotonic() + settings.request_timeout_s
            try:
                if chat:
                    for index in range(len(handles)):
                        yield _sse(chunk(index, {"role": "assistant", "content": ""}, None))
                events = merged(handles)
                while True:
                    try:
                        index, event = await asyncio.wait_for(events.__anext__(), max(0.0, deadline - time.monotonic()))
                    except StopAsyncIteration:
                        break
                    except asyncio.TimeoutError:
                        yield _sse(schemas.error_body(f"the request took longer than {settings.request_timeout_s:g} s",
                                                      "timeout", None, "timeout"))
                        yield DONE
                        return
                    if event.kind == "error":
                        yield _sse(schemas.error_body(f"generation failed: {event.text}", "server_error"))
                        yield DONE
                        return
                    if event.kind == "token":
                        yield _sse(chunk(index, {"content": event.text} if chat else event.text, None))
                    else:
                        prompt_total += event.prompt_tokens
                        completion_total += event.completion_tokens
                        yield _sse(chunk(index, {} if chat else "", event.finish_reason))
                if usage_wanted:
                    yield _sse({**chunk(0, {}, None), "choices": [], "usage": _usage(prompt_total, completion_total)})
                yield DONE
            finally:  # the client went away (or we finished): stop any work still running
                for handle in handles:
                    handle.cancel()

        return StreamingResponse(body(), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})

    async def proxied(proxy: ProxyModel, path: str, payload: dict[str, Any], stream: bool) -> Response:
        try:
            if not stream:
                return JSONResponse(await proxy.request(path, payload))
            events = proxy.stream(path, payload)
            first = await events.__anext__()  # a remote 4xx becomes our 4xx, not a 200 stream
        except StopAsyncIteration:
            first = None
        except ProxyError as err:
            return _proxy_error(err)

        async def body() -> AsyncIterator[bytes]:
            try:
                if first is not None:
                    yield _sse(first)
                    async for payload in events:
                        yield _sse(payload)
            except ProxyError as err:
                yield _sse(schemas.error_body(str(err), "server_error", None, "upstream_error"))
            yield DONE

        return StreamingResponse(body(), media_type="text/event-stream")

    # ---- routes --------------------------------------------------------------------------------

    @app.get("/health", tags=["ops"])
    async def health() -> dict[str, str]:
        """Liveness: the process answers."""
        return {"status": "ok"}

    @app.get("/ready", tags=["ops"], responses={503: ERRORS[503]})
    async def ready() -> dict[str, Any]:
        """Readiness: accepting requests; lists the models served and those loaded now."""
        if state["shutting_down"]:
            raise ApiError(503, "the server is shutting down", "server_error", code="shutting_down")
        return {"status": "ready", "models": pool.names(), "loaded": pool.loaded(),
                "votes": vote_store is not None}

    @app.get("/metrics", tags=["ops"], response_class=Response)
    async def metrics_route() -> Response:
        """Prometheus metrics: requests, tokens, queue depth, time to first token, time per token."""
        from prometheus_client import CONTENT_TYPE_LATEST

        return Response(metrics.render(pool), media_type=CONTENT_TYPE_LATEST)

    @app.get("/v1/models", response_model=schemas.ModelList, tags=["openai"], responses={401: ERRORS[401]})
    async def list_models() -> schemas.ModelList:
        return schemas.ModelList(data=[model_card(pool, n) for n in pool.names()])

    @app.get("/v1/models/{model}", response_model=schemas.ModelCard, tags=["openai"],
             responses={401: ERRORS[401], 404: ERRORS[404]})
    async def get_model(model: str) -> schemas.ModelCard:
        known(model)
        return model_card(pool, model)

    openai_errors = {s: ERRORS[s] for s in (400, 401, 404, 413, 429, 500, 502, 503, 504)}

    @app.post("/v1/chat/completions", response_model=schemas.ChatCompletion, tags=["openai"],
              responses={**openai_errors, 200: {"content": {"text/event-stream": {}}}})
    async def chat_completions(body: schemas.ChatCompletionRequest, request: Request):
        """Chat completion (OpenAI shape); ``stream: true`` answers as server-sent events."""
        max_tokens = body.max_completion_tokens or body.max_tokens
        field = "max_completion_tokens" if body.max_completion_tokens else "max_tokens"
        _check_caps(body, settings, max_tokens, field)
        stops = _stop_list(body, settings)
        known(body.model)
        if body.model in pool.proxies:
            return await proxied(pool.proxies[body.model], "/chat/completions",
                                 body.model_dump(exclude_unset=True, exclude_none=True), body.stream)
        _refuse_unsupported(body)
        _refuse_with_stream(body)
        messages = _chat_prompt(body.messages)
        model = await local(body.model)
        ids, budget = encode(model, messages, True, max_tokens, field, "messages")
        params = [_params(body, budget, stops, i) for i in range(body.n)]
        handles = submit_all(model, [ids] * body.n, params)
        rid, created = f"chatcmpl-{uuid.uuid4().hex}", int(time.time())
        if body.stream:
            return stream_response(handles, body, rid, created)
        results = await collect(request, handles)
        logprobs = [None] * len(results)
        if body.logprobs:
            logprobs = await asyncio.to_thread(lambda: [
                _chat_logprobs(model, ids, final.token_ids, body.top_logprobs or 0) for _, final in results])
        choices = [schemas.ChatChoice(index=i, message=schemas.AssistantMessage(content=text),
                                      finish_reason=final.finish_reason or "stop", logprobs=logprobs[i])
                   for i, (text, final) in enumerate(results)]
        completion = sum(final.completion_tokens for _, final in results)
        return schemas.ChatCompletion(id=rid, created=created, model=body.model, choices=choices,
                                      usage=schemas.Usage(**_usage(len(ids), completion)))

    @app.post("/v1/completions", response_model=schemas.Completion, tags=["openai"],
              responses={**openai_errors, 200: {"content": {"text/event-stream": {}}}})
    async def completions(body: schemas.CompletionRequest, request: Request):
        """Raw text completion (no chat template); ``stream: true`` answers as server-sent events."""
        _check_caps(body, settings, body.max_tokens, "max_tokens")
        stops = _stop_list(body, settings)
        prompts = body.prompts()
        if not prompts:
            raise ApiError(400, "prompt: the list of prompts is empty", param="prompt")
        if len(prompts) * body.n > settings.max_batch * settings.max_n:
            raise ApiError(400, f"prompt: {len(prompts)} prompts x n={body.n} is too many for one request",
                           param="prompt")
        known(body.model)
        if body.model in pool.proxies:
            return await proxied(pool.proxies[body.model], "/completions",
                                 body.model_dump(exclude_unset=True, exclude_none=True), body.stream)
        _refuse_unsupported(body)
        _refuse_with_stream(body)
        model = await local(body.model)
        encoded = [encode(model, p, False, body.max_tokens, "max_tokens", "prompt") for p in prompts]
        token_lists = [ids for ids, _ in encoded for _ in range(body.n)]
        rid, created = f"cmpl-{uuid.uuid4().hex}", int(time.time())
        if body.max_tokens == 0:  # score the prompt only (echo + logprobs), generate nothing
            results = [("", Event("done", finish_reason="length"))] * len(token_lists)
        else:
            params = [_params(body, budget, stops, i) for _, budget in encoded for i in range(body.n)]
            handles = submit_all(model, token_lists, params)
            if body.stream:
                return stream_response(handles, body, rid, created)
            results = await collect(request, handles)
        texts = [p if isinstance(p, str) else model.policy.tokenizer.decode(p) for p in prompts]
        shown = [texts[i // body.n] for i in range(len(results))]
        logprobs = [None] * len(results)
        if body.logprobs is not None:
            logprobs = await asyncio.to_thread(lambda: [
                _completion_logprobs(model, prompt, ids, final.token_ids, body.echo, body.logprobs)
                for prompt, ids, (_, final) in zip(shown, token_lists, results)])
        ids = [{"prompt_token_ids": token_lists[i], "token_ids": list(final.token_ids)} if body.return_token_ids
               else {} for i, (_, final) in enumerate(results)]
        choices = [schemas.CompletionChoice(index=i, text=(shown[i] if body.echo else "") + text,
                                            finish_reason=final.finish_reason or "stop", logprobs=logprobs[i],
                                            **ids[i])
                   for i, (text, final) in enumerate(results)]
        prompt_tokens = sum(len(ids) for ids, _ in encoded)
        completion = sum(final.completion_tokens for _, final in results)
        return schemas.Completion(id=rid, created=created, model=body.model, choices=choices,
                                  usage=schemas.Usage(**_usage(prompt_tokens, completion)))

    def votes_required() -> None:
        if vote_store is None:
            raise ApiError(503, "votes are not available: the vote store could not be created", "server_error",
                           code="votes_unavailable")

    async def compare_budget(body: schemas.CompareRequest, prompt) -> int:
        """The answer budget of a comparison: the same prompt-length and context checks as chat, for
        every local model compared."""
        budget = min(body.max_tokens or settings.default_max_tokens, settings.max_tokens_cap)
        param = "prompt" if body.prompt is not None else "messages"
        for name in body.models:
            if name not in pool.proxies:
                _, room = encode(await local(name), prompt, True, body.max_tokens, "max_tokens", param)
                budget = min(budget, room)
        return budget

    @app.post("/v1/compare", response_model=schemas.Comparison, tags=["arena"],
              responses={s: ERRORS[s] for s in (400, 401, 404, 413, 429, 500, 502, 503, 504)})
    async def compare(body: schemas.CompareRequest, request: Request) -> schemas.Comparison:
        """Answer one prompt or conversation with two or more models; vote on it with the returned id."""
        if (body.prompt is None) == (body.messages is None):
            raise ApiError(400, "prompt: give exactly one of prompt (a string) or messages (a conversation)",
                           param="prompt")
        if body.prompt is not None and not body.prompt.strip():
            raise ApiError(400, "prompt: the prompt is empty", param="prompt")
        if any(pool.same_model(a, b) for i, a in enumerate(body.models) for b in body.models[i + 1:]):
            raise ApiError(400, "models: a model is named twice (or under two names for one checkpoint); "
                                "compare distinct models", param="models")
        if len(body.models) > settings.max_compare_models:
            raise ApiError(400, f"models: {len(body.models)} models given; the cap is {settings.max_compare_models}",
                           param="models")
        _check_caps(body, settings, body.max_tokens, "max_tokens")
        for index, name in enumerate(body.models):
            known(name, f"models.{index}")
        votes_required()
        prompt = body.prompt if body.prompt is not None else _chat_prompt(body.messages)
        budget = await compare_budget(body, prompt)
        params = _params(body, budget, (), 0)
        stop = threading.Event()  # the answering threads check it at every token
        try:
            work = asyncio.ensure_future(asyncio.to_thread(backend.compare, prompt, body.models, params, stop))
            result = await _race(request, work, settings.request_timeout_s)
        except QueueFull as err:
            raise ApiError(429, f"the server is busy ({err}); retry shortly", "rate_limit_error", code="queue_full",
                           headers={"Retry-After": str(settings.retry_after_s)}) from None
        except GenerationFailed as err:
            raise ApiError(502, str(err), "server_error", code="generation_failed") from None
        except ModelError as err:
            raise ApiError(500, str(err), "server_error") from None
        finally:
            stop.set()
        answers = [schemas.CompareAnswer(model=m, content=text, finish_reason=result["finish_reasons"].get(m))
                   for m, text in result["answers"].items()]
        return schemas.Comparison(id=result["comparison_id"], created=int(time.time()), answers=answers)

    @app.post("/v1/votes", tags=["arena"], responses={s: ERRORS[s] for s in (400, 401, 404, 409, 413, 503)})
    async def vote(body: schemas.VoteRequest) -> dict[str, Any]:
        """Vote on a comparison: "a" (first model better), "b", "tie" or "both_bad"; one vote per
        comparison (a second is a 409)."""
        votes_required()
        try:
            record = await asyncio.to_thread(vote_store.record_vote, body.comparison_id, body.choice, body.voter,
                                             once=True)
        except AlreadyVoted as err:
            raise ApiError(409, str(err), param="comparison_id", code="already_voted") from None
        except KeyError:
            raise ApiError(404, f"comparison_id: no comparison {body.comparison_id!r}; create one with POST "
                                "/v1/compare", param="comparison_id", code="comparison_not_found") from None
        except ValueError as err:
            raise ApiError(400, f"choice: {err}", param="choice") from None
        record = dict(record) if isinstance(record, dict) else {}
        return {"object": "vote", **record, "comparison_id": body.comparison_id, "choice": body.choice}

    @app.get("/v1/leaderboard", response_model=schemas.Leaderboard, tags=["arena"],
             responses={401: ERRORS[401], 503: ERRORS[503]})
    async def leaderboard() -> schemas.Leaderboard:
        """Bradley-Terry ratings with bootstrap confidence intervals, from every vote so far."""
        votes_required()
        rows = await asyncio.to_thread(backend.leaderboard)
        return schemas.Leaderboard(data=[schemas.LeaderboardRow(**row) for row in rows])

    add_adapter_routes(app, pool, settings)
    routes = {route.path for route in app.routes}
    app.add_middleware(Guard, settings=settings, metrics=metrics, routes=routes)
    if settings.ui:
        _mount_ui(app, backend, settings.api_keys)
    return app


def _mount_ui(app: FastAPI, backend: UiBackend, api_keys: tuple[str, ...] = ()) -> None:
    """Mount the Gradio chat + arena at /ui when gradio and serve.ui are importable. With API keys, the
    UI asks for one in Gradio's sign-in form (any user name) and keeps a session cookie, so a browser can
    use it while every API route still needs the key in a header."""
    try:
        import gradio

        from serve.ui import build_ui, offline_theme
    except ImportError as err:
        log.warning("the web UI is not available (%s); serving the API only", err)
        return
    # the default theme fetches its fonts from the web: offline they render mismatched
    keys = [key.encode() for key in api_keys]
    login = {"auth": lambda _user, password: key_matches(str(password).encode(), keys),
             "auth_message": "This server needs an API key: enter it as the password (any user name)."}
    gradio.mount_gradio_app(app, build_ui(backend), path="/ui", theme=offline_theme(), **(login if keys else {}))
