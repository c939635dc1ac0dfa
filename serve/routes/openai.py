"""OpenAI-compatible routes: ``/v1/models``, ``/v1/chat/completions`` and ``/v1/completions`` (both
stream as SSE ending in ``data: [DONE]``; completions also give ``logprobs``, with ``echo`` and
``max_tokens: 0`` those of the prompt, as OpenAI's legacy API and vLLM do, so lm-evaluation-harness
can score a model; chat gives ``logprobs`` / ``top_logprobs`` in OpenAI's chat shape)."""

from __future__ import annotations

import asyncio
import time
import uuid

from fastapi import APIRouter, Request

from serve import schemas
from serve.adapters import model_card
from serve.deps import LifecycleDep, PoolDep, SettingsDep
from serve.engine import Event
from serve.errors import ERRORS, GENERATION_ERRORS, ApiError, responses
from serve.generation import (
    chat_prompt,
    check_caps,
    collect,
    encode,
    known,
    local,
    refuse_unsupported,
    refuse_with_stream,
    sampling_params,
    stop_list,
    submit_all,
    usage,
)
from serve.logprobs import chat_logprobs, completion_logprobs
from serve.streaming import proxied, stream_response

router = APIRouter(tags=["openai"])
STREAMED = {200: {"content": {"text/event-stream": {}}}}


@router.get("/v1/models", response_model=schemas.ModelList, responses={401: ERRORS[401]})
async def list_models(pool: PoolDep) -> schemas.ModelList:
    return schemas.ModelList(data=[model_card(pool, n) for n in pool.names()])


@router.get("/v1/models/{model}", response_model=schemas.ModelCard, responses=responses(401, 404))
async def get_model(model: str, pool: PoolDep) -> schemas.ModelCard:
    known(pool, model)
    return model_card(pool, model)


async def _forwarded(pool, body, path: str):
    """A proxied model's answer (the request forwarded as it came); for a local model ``None``, after
    refusing what the local engine does not support."""
    known(pool, body.model)
    if body.model in pool.proxies:
        payload = body.model_dump(exclude_unset=True, exclude_none=True)
        return await proxied(pool.proxies[body.model], path, payload, body.stream)
    refuse_unsupported(body)
    refuse_with_stream(body)
    return None


@router.post("/v1/chat/completions", response_model=schemas.ChatCompletion,
             responses={**responses(*GENERATION_ERRORS), **STREAMED})
async def chat_completions(body: schemas.ChatCompletionRequest, request: Request, settings: SettingsDep,
                           pool: PoolDep, lifecycle: LifecycleDep):
    """Chat completion (OpenAI shape); ``stream: true`` answers as server-sent events."""
    max_tokens = body.max_completion_tokens or body.max_tokens
    field = "max_completion_tokens" if body.max_completion_tokens else "max_tokens"
    check_caps(body, settings, max_tokens, field)
    stops = stop_list(body, settings)
    if (forwarded := await _forwarded(pool, body, "/chat/completions")) is not None:
        return forwarded
    messages = chat_prompt(body.messages)
    model = await local(pool, body.model)
    ids, budget = encode(model, messages, True, max_tokens, field, "messages", settings)
    params = [sampling_params(body, budget, stops, i) for i in range(body.n)]
    handles = submit_all(model, [ids] * body.n, params, settings, lifecycle)
    rid, created = f"chatcmpl-{uuid.uuid4().hex}", int(time.time())
    if body.stream:
        return stream_response(handles, body, rid, created, settings.request_timeout_s)
    results = await collect(request, handles, settings.request_timeout_s)
    logprobs = [None] * len(results)
    if body.logprobs:
        logprobs = await asyncio.to_thread(lambda: [
            chat_logprobs(model, ids, final.token_ids, body.top_logprobs or 0) for _, final in results])
    choices = [schemas.ChatChoice(index=i, message=schemas.AssistantMessage(content=text),
                                  finish_reason=final.finish_reason or "stop", logprobs=logprobs[i])
               for i, (text, final) in enumerate(results)]
    completion = sum(final.completion_tokens for _, final in results)
    return schemas.ChatCompletion(id=rid, created=created, model=body.model, choices=choices,
                                  usage=schemas.Usage(**usage(len(ids), completion)))


@router.post("/v1/completions", response_model=schemas.Completion,
             responses={**responses(*GENERATION_ERRORS), **STREAMED})
async def completions(body: schemas.CompletionRequest, request: Request, settings: SettingsDep, pool: PoolDep,
                      lifecycle: LifecycleDep):
    """Raw text completion (no chat template); ``stream: true`` answers as server-sent events."""
    check_caps(body, settings, body.max_tokens, "max_tokens")
    stops = stop_list(body, settings)
    prompts = body.prompts()
    if not prompts:
        raise ApiError(400, "prompt: the list of prompts is empty", param="prompt")
    if len(prompts) * body.n > settings.max_batch * settings.max_n:
        raise ApiError(400, f"prompt: {len(prompts)} prompts x n={body.n} is too many for one request",
                       param="prompt")
    if (forwarded := await _forwarded(pool, body, "/completions")) is not None:
        return forwarded
    model = await local(pool, body.model)
    encoded = [encode(model, p, False, body.max_tokens, "max_tokens", "prompt", settings) for p in prompts]
    token_lists = [ids for ids, _ in encoded for _ in range(body.n)]
    rid, created = f"cmpl-{uuid.uuid4().hex}", int(time.time())
    if body.max_tokens == 0:  # score the prompt only (echo + logprobs), generate nothing
        results = [("", Event("done", finish_reason="length"))] * len(token_lists)
    else:
        params = [sampling_params(body, budget, stops, i) for _, budget in encoded for i in range(body.n)]
        handles = submit_all(model, token_lists, params, settings, lifecycle)
        if body.stream:
            return stream_response(handles, body, rid, created, settings.request_timeout_s)
        results = await collect(request, handles, settings.request_timeout_s)
    texts = [p if isinstance(p, str) else model.policy.tokenizer.decode(p) for p in prompts]
    shown = [texts[i // body.n] for i in range(len(results))]
    logprobs = [None] * len(results)
    if body.logprobs is not None:
        logprobs = await asyncio.to_thread(lambda: [
            completion_logprobs(model, prompt, ids, final.token_ids, body.echo, body.logprobs)
            for prompt, ids, (_, final) in zip(shown, token_lists, results)])
    ids = [{"prompt_token_ids": token_lists[i], "token_ids": list(final.token_ids)} if body.return_token_ids
           else {} for i, (_, final) in enumerate(results)]
    choices = [schemas.CompletionChoice(index=i, text=(shown[i] if body.echo else "") + text,
                                        finish_reason=final.finish_reason or "stop", logprobs=logprobs[i], **ids[i])
               for i, (text, final) in enumerate(results)]
    prompt_tokens = sum(len(ids) for ids, _ in encoded)
    completion = sum(final.completion_tokens for _, final in results)
    return schemas.Completion(id=rid, created=created, model=body.model, choices=choices,
                              usage=schemas.Usage(**usage(prompt_tokens, completion)))
