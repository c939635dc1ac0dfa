"""vLLM's runtime LoRA adapter routes, ``/v1/load_lora_adapter`` and ``/v1/unload_lora_adapter``
(behind ``--allow-runtime-lora``; how adapters are served: ``serve.adapters``). A success is plain
text, as vLLM answers; the errors are JSON in OpenAI's shape."""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import PlainTextResponse, Response

from serve import schemas
from serve.adapters import FLAG, AdapterRefused, AdapterRegistry, LoadRequest
from serve.deps import SettingsDep
from serve.settings import Settings

router = APIRouter(tags=["lora"])
_ERROR = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorResponse"}}}}
ERRORS = {status: {**_ERROR, "description": text} for status, text in (
    (400, "invalid request, or an adapter that cannot be loaded (names the problem)"),
    (401, "missing or wrong API key"), (403, f"runtime LoRA is off: start the server with {FLAG}"),
    (404, "unload: no adapter of that name is loaded"))}


def get_adapters(request: Request) -> AdapterRegistry:
    return request.app.state.adapters


AdaptersDep = Annotated[AdapterRegistry, Depends(get_adapters)]


async def answer(settings: Settings, done: str, work, *args) -> Response:
    """Run ``work(*args)`` (a load or unload) in a thread; 403 when runtime LoRA is off."""
    if not settings.allow_runtime_lora:
        return AdapterRefused(403, f"loading and unloading LoRA adapters at run time is off on this server; "
                                   f"start it with `instructrl serve {FLAG}` (or "
                                   "VLLM_ALLOW_RUNTIME_LORA_UPDATING=True)", None,
                              "runtime_lora_disabled").response()
    try:
        await asyncio.to_thread(work, *args)
    except AdapterRefused as err:
        return err.response()
    return PlainTextResponse(f"Success: LoRA adapter '{args[0]}' {done} successfully.")


@router.post("/v1/load_lora_adapter", response_class=PlainTextResponse, responses=ERRORS)
async def load_lora_adapter(body: LoadRequest, settings: SettingsDep,
                            adapters: AdaptersDep) -> Response:
    """Serve base + the PEFT LoRA adapter at ``lora_path`` as the model ``lora_name`` (vLLM's API)."""
    return await answer(settings, "added", adapters.load, body.lora_name, body.lora_path, body.base_model)


@router.post("/v1/unload_lora_adapter", response_class=PlainTextResponse, responses=ERRORS)
async def unload_lora_adapter(body: schemas.UnloadLoraAdapterRequest, settings: SettingsDep,
                              adapters: AdaptersDep) -> Response:
    """Stop serving the adapter ``lora_name`` (vLLM's API)."""
    return await answer(settings, "removed", adapters.unload, body.lora_name)
