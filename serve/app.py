"""The serving API: ``create_app(settings, registry, vote_store)`` builds a FastAPI app with no
module-level state: what the routes need (settings, the model pool, the vote store, the UI backend,
metrics) lives on ``app.state`` and reaches them through ``serve.deps``.

Routes (``serve.routes``): OpenAI-compatible ``/v1/chat/completions``, ``/v1/completions``,
``/v1/models`` (``openai``); side by side ``/v1/compare``, ``/v1/votes``, ``/v1/leaderboard``
(``arena``); vLLM's runtime LoRA routes ``/v1/load_lora_adapter`` and ``/v1/unload_lora_adapter``
(``lora``, behind ``--allow-runtime-lora``); ``/health`` (liveness, never authenticated), ``/ready``
and ``/metrics`` (Prometheus) (``ops``). Every error has OpenAI's shape ``{"error": {message, type,
param, code}}`` (``serve.errors``) so the official client raises the matching exception; bad input is
a 4xx naming the field, never a 500. ``serve.guard`` checks API keys and caps request bodies.
"""

from __future__ import annotations

import asyncio
import logging
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI

from instructrl.checkpoints import Registry
from serve.adapters import AdapterRegistry
from serve.backend import UiBackend
from serve.deps import Lifecycle
from serve.errors import add_error_handlers
from serve.guard import Guard, key_matches
from serve.metrics import Metrics
from serve.models import ModelPool
from serve.routes import arena, lora, openai, ops
from serve.settings import Settings
from serve.votes import VoteStore

log = logging.getLogger(__name__)


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
    lifecycle = Lifecycle()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        yield
        # uvicorn has already waited for in-flight requests (up to its graceful-shutdown timeout)
        lifecycle.shutting_down = True
        await asyncio.to_thread(pool.close, True, settings.shutdown_timeout_s)
        if owns_store and vote_store is not None:
            vote_store.close()

    app = FastAPI(title="instructrl", version="1", lifespan=lifespan,
                  description="OpenAI-compatible serving of instructrl checkpoints, with side-by-side votes.")
    app.state.settings, app.state.pool, app.state.backend, app.state.metrics = settings, pool, backend, metrics
    app.state.vote_store, app.state.lifecycle = vote_store, lifecycle
    app.state.adapters = AdapterRegistry(pool, settings)
    add_error_handlers(app)
    routers = (ops.router, openai.router, arena.router, lora.router)
    for router in routers:
        app.include_router(router)
    # the paths the guard counts by name (FastAPI may list an included router as one entry of app.routes)
    routes = {route.path for route in [*app.routes, *(r for router in routers for r in router.routes)]
              if isinstance(getattr(route, "path", None), str)}
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
