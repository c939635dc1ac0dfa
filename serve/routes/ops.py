"""Operations routes: ``/health`` (liveness, never authenticated), ``/ready`` and ``/metrics`` (Prometheus)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response

from serve.deps import LifecycleDep, MetricsDep, PoolDep, VoteStoreDep
from serve.errors import ERRORS

router = APIRouter(tags=["ops"])


@router.get("/health")
async def health() -> dict[str, str]:
    """Liveness: the process answers."""
    return {"status": "ok"}


@router.get("/ready", responses={503: ERRORS[503]})
async def ready(pool: PoolDep, lifecycle: LifecycleDep, vote_store: VoteStoreDep) -> dict[str, Any]:
    """Readiness: accepting requests; lists the models served and those loaded now."""
    lifecycle.refuse_if_shutting_down()
    return {"status": "ready", "models": pool.names(), "loaded": pool.loaded(), "votes": vote_store is not None}


@router.get("/metrics", response_class=Response)
async def metrics_route(metrics: MetricsDep, pool: PoolDep) -> Response:
    """Prometheus metrics: requests, tokens, queue depth, time to first token, time per token."""
    from prometheus_client import CONTENT_TYPE_LATEST

    return Response(metrics.render(pool), media_type=CONTENT_TYPE_LATEST)
