"""What the routes depend on, kept on ``app.state`` by ``create_app`` and read with FastAPI
dependencies: ``settings: SettingsDep`` in a route's signature gives the app's ``Settings``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from serve.backend import UiBackend
from serve.errors import ApiError
from serve.metrics import Metrics
from serve.models import ModelPool
from serve.settings import Settings
from serve.votes import VoteStore


@dataclass
class Lifecycle:
    """Whether the app is shutting down (set when the lifespan ends); new work is refused then."""

    shutting_down: bool = False

    def refuse_if_shutting_down(self) -> None:
        if self.shutting_down:
            raise ApiError(503, "the server is shutting down", "server_error", code="shutting_down")


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


def get_pool(request: Request) -> ModelPool:
    return request.app.state.pool


def get_backend(request: Request) -> UiBackend:
    return request.app.state.backend


def get_metrics(request: Request) -> Metrics:
    return request.app.state.metrics


def get_lifecycle(request: Request) -> Lifecycle:
    return request.app.state.lifecycle


def get_vote_store(request: Request) -> VoteStore | None:
    return request.app.state.vote_store


def require_votes(store: VoteStore | None) -> VoteStore:
    """The vote store, or a 503 when there is none."""
    if store is None:
        raise ApiError(503, "votes are not available: the vote store could not be created", "server_error",
                       code="votes_unavailable")
    return store


SettingsDep = Annotated[Settings, Depends(get_settings)]
PoolDep = Annotated[ModelPool, Depends(get_pool)]
BackendDep = Annotated[UiBackend, Depends(get_backend)]
MetricsDep = Annotated[Metrics, Depends(get_metrics)]
LifecycleDep = Annotated[Lifecycle, Depends(get_lifecycle)]
VoteStoreDep = Annotated[VoteStore | None, Depends(get_vote_store)]

