"""Server-sent events: a local model's answers as OpenAI's chunks ending in ``data: [DONE]``, and a
proxied endpoint's answers passed through (a remote 4xx stays a 4xx, anything else is our 502)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any

from fastapi.responses import JSONResponse, Response, StreamingResponse

from serve import schemas
from serve.engine import Event, RequestHandle
from serve.errors import ApiError
from serve.generation import usage
from serve.models import ProxyError, ProxyModel

DONE = b"data: [DONE]\n\n"
SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


def sse(payload: Any) -> bytes:
    return f"data: {json.dumps(payload, ensure_ascii=False)}\n\n".encode()


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


def stream_response(handles: list[RequestHandle], request_body: schemas.ChatCompletionRequest | schemas.CompletionRequest,
                    rid: str, created: int, timeout: float) -> StreamingResponse:
    """SSE: one chunk per text delta, a final chunk per choice, optional usage, then [DONE]. Chat chunks
    carry a ``delta``, completion chunks a ``text``. Past ``timeout`` seconds the stream ends with an error."""
    chat = isinstance(request_body, schemas.ChatCompletionRequest)
    kind, piece = ("chat.completion.chunk", "delta") if chat else ("text_completion", "text")
    usage_wanted = bool(request_body.stream_options and request_body.stream_options.include_usage)

    def chunk(index: int, content, finish: str | None) -> dict:
        return {"id": rid, "object": kind, "created": created, "model": request_body.model,
                "choices": [{"index": index, piece: content, "finish_reason": finish, "logprobs": None}]}

    async def body() -> AsyncIterator[bytes]:
        prompt_total = completion_total = 0
        deadline = time.monotonic() + timeout
        try:
            if chat:
                for index in range(len(handles)):
                    yield sse(chunk(index, {"role": "assistant", "content": ""}, None))
            events = merged(handles)
            while True:
                try:
                    index, event = await asyncio.wait_for(events.__anext__(), max(0.0, deadline - time.monotonic()))
                except StopAsyncIteration:
                    break
                except asyncio.TimeoutError:
                    yield sse(schemas.error_body(f"the request took longer than {timeout:g} s", "timeout", None,
                                                 "timeout"))
                    yield DONE
                    return
                if event.kind == "error":
                    yield sse(schemas.error_body(f"generation failed: {event.text}", "server_error"))
                    yield DONE
                    return
                if event.kind == "token":
                    yield sse(chunk(index, {"content": event.text} if chat else event.text, None))
                else:
                    prompt_total += event.prompt_tokens
                    completion_total += event.completion_tokens
                    yield sse(chunk(index, {} if chat else "", event.finish_reason))
            if usage_wanted:
                yield sse({**chunk(0, {}, None), "choices": [], "usage": usage(prompt_total, completion_total)})
            yield DONE
        finally:  # the client went away (or we finished): stop any work still running
            for handle in handles:
                handle.cancel()

    return StreamingResponse(body(), media_type="text/event-stream", headers=SSE_HEADERS)


def proxy_error(err: ProxyError) -> JSONResponse:
    """A remote 4xx in OpenAI's shape passes through as is; anything else is our 502."""
    body = err.body
    if 400 <= err.status < 500 and isinstance(body, dict) and isinstance(body.get("error"), dict):
        return JSONResponse(body, status_code=err.status)
    return ApiError(502, str(err), "server_error", code="upstream_error").response()


async def proxied(proxy: ProxyModel, path: str, payload: dict[str, Any], stream: bool) -> Response:
    """The remote's answer to ``payload`` at ``path``, as JSON or (``stream``) as SSE."""
    try:
        if not stream:
            return JSONResponse(await proxy.request(path, payload))
        events = proxy.stream(path, payload)
        first = await events.__anext__()  # a remote 4xx becomes our 4xx, not a 200 stream
    except StopAsyncIteration:
        first = None
    except ProxyError as err:
        return proxy_error(err)

    async def body() -> AsyncIterator[bytes]:
        try:
            if first is not None:
                yield sse(first)
                async for payload in events:
                    yield sse(payload)
        except ProxyError as err:
            yield sse(schemas.error_body(str(err), "server_error", None, "upstream_error"))
        yield DONE

    return StreamingResponse(body(), media_type="text/event-stream")
