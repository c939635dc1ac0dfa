"""The arena's routes: ``/v1/compare`` (one prompt, two or more models side by side), ``/v1/votes``
(one vote per comparison) and ``/v1/leaderboard`` (Bradley-Terry ratings of every vote so far)."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

from fastapi import APIRouter, Request

from instructrl.errors import ModelError
from serve import schemas
from serve.backend import GenerationFailed
from serve.deps import BackendDep, PoolDep, SettingsDep, VoteStoreDep, require_votes
from serve.engine import QueueFull
from serve.errors import ApiError, responses
from serve.generation import chat_prompt, check_caps, encode, known, local, race, sampling_params
from serve.models import ModelPool
from serve.settings import Settings
from serve.votes import AlreadyVoted

router = APIRouter(tags=["arena"])


async def compare_budget(body: schemas.CompareRequest, prompt, pool: ModelPool, settings: Settings) -> int:
    """The answer budget of a comparison: the same prompt-length and context checks as chat, for
    every local model compared."""
    budget = min(body.max_tokens or settings.default_max_tokens, settings.max_tokens_cap)
    param = "prompt" if body.prompt is not None else "messages"
    for name in body.models:
        if name not in pool.proxies:
            _, room = encode(await local(pool, name), prompt, True, body.max_tokens, "max_tokens", param, settings)
            budget = min(budget, room)
    return budget


def check_compare(body: schemas.CompareRequest, pool: ModelPool, settings: Settings) -> None:
    """Exactly one non-empty prompt or conversation, two or more distinct models the server serves."""
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
    check_caps(body, settings, body.max_tokens, "max_tokens")
    for index, name in enumerate(body.models):
        known(pool, name, f"models.{index}")


@router.post("/v1/compare", response_model=schemas.Comparison,
             responses=responses(400, 401, 404, 413, 429, 500, 502, 503, 504))
async def compare(body: schemas.CompareRequest, request: Request, settings: SettingsDep, pool: PoolDep,
                  backend: BackendDep, vote_store: VoteStoreDep) -> schemas.Comparison:
    """Answer one prompt or conversation with two or more models; vote on it with the returned id."""
    check_compare(body, pool, settings)
    require_votes(vote_store)
    prompt = body.prompt if body.prompt is not None else chat_prompt(body.messages)
    budget = await compare_budget(body, prompt, pool, settings)
    params = sampling_params(body, budget, (), 0)
    stop = threading.Event()  # the answering threads check it at every token
    try:
        work = asyncio.ensure_future(asyncio.to_thread(backend.compare, prompt, body.models, params, stop))
        result = await race(request, work, settings.request_timeout_s)
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


@router.post("/v1/votes", responses=responses(400, 401, 404, 409, 413, 503))
async def vote(body: schemas.VoteRequest, vote_store: VoteStoreDep) -> dict[str, Any]:
    """Vote on a comparison: "a" (first model better), "b", "tie" or "both_bad"; one vote per
    comparison (a second is a 409)."""
    store = require_votes(vote_store)
    try:
        record = await asyncio.to_thread(store.record_vote, body.comparison_id, body.choice, body.voter, once=True)
    except AlreadyVoted as err:
        raise ApiError(409, str(err), param="comparison_id", code="already_voted") from None
    except KeyError:
        raise ApiError(404, f"comparison_id: no comparison {body.comparison_id!r}; create one with POST "
                            "/v1/compare", param="comparison_id", code="comparison_not_found") from None
    except ValueError as err:
        raise ApiError(400, f"choice: {err}", param="choice") from None
    record = dict(record) if isinstance(record, dict) else {}
    return {"object": "vote", **record, "comparison_id": body.comparison_id, "choice": body.choice}


@router.get("/v1/leaderboard", response_model=schemas.Leaderboard, responses=responses(401, 503))
async def leaderboard(backend: BackendDep, vote_store: VoteStoreDep) -> schemas.Leaderboard:
    """Bradley-Terry ratings with bootstrap confidence intervals, from every vote so far."""
    require_votes(vote_store)
    rows = await asyncio.to_thread(backend.leaderboard)
    return schemas.Leaderboard(data=[schemas.LeaderboardRow(**row) for row in rows])
