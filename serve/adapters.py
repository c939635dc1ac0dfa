"""vLLM's runtime LoRA adapter API on ``instructrl serve`` (behind ``--allow-runtime-lora``, as vLLM puts
it behind ``VLLM_ALLOW_RUNTIME_LORA_UPDATING=True``):

* ``POST /v1/load_lora_adapter`` ``{"lora_name": NAME, "lora_path": DIR}``: a PEFT LoRA adapter folder
  on the server's file system is applied to the base model and served as ``NAME``: ``/v1/completions``
  and ``/v1/chat/completions`` with ``"model": NAME`` sample from base + adapter, and ``/v1/models`` lists
  it with ``parent`` (the base) and ``root`` (the path), as vLLM does. The base is the server's first
  ``--model`` (vLLM serves one base model); ``base_model`` in the body, an instructrl extension, names
  another local model.
* ``POST /v1/unload_lora_adapter`` ``{"lora_name": NAME}``: stops serving it (requests in flight finish).

How: each adapter becomes a model of its own, a copy of the base weights with the adapter merged in
(peft's ``merge_and_unload``) and its own batching engine. That costs a copy of the base weights per
loaded adapter and is exact (the weights ``merge_and_unload`` gives locally); unlike vLLM, requests
for different adapters are not batched together. Bad input (no such folder, not a PEFT LoRA adapter,
an adapter for another base or shape, a name already served, unloading an unknown name) is a 4xx in
OpenAI's error shape naming the problem and the fix. The routes are in ``serve.routes.lora``.
"""

from __future__ import annotations

import copy
import threading
from pathlib import Path

from fastapi.responses import JSONResponse
from pydantic import Field

from instructrl.models.policy import Policy
from serve import schemas
from serve.models import ModelPool
from serve.settings import Settings

FLAG = "--allow-runtime-lora"


class AdapterRefused(Exception):
    """A load or unload the server will not do, answered as ``status`` in OpenAI's error shape."""

    def __init__(self, status: int, message: str, param: str | None = None, code: str = "invalid_lora_adapter"):
        super().__init__(message)
        self.status, self.param, self.code = status, param, code

    def response(self) -> JSONResponse:
        kind = {403: "permission_error", 404: "not_found_error"}.get(self.status, "invalid_request_error")
        return JSONResponse(schemas.error_body(str(self), kind, self.param, self.code), status_code=self.status)


class LoadRequest(schemas.LoadLoraAdapterRequest):
    base_model: schemas.Text | None = Field(None, description="instructrl extension: the local model the adapter "
                                                               "applies to (default: the server's first --model)")


def check_adapter_dir(path: Path) -> None:
    """Refuse a ``lora_path`` that is not a PEFT adapter folder, before peft sees it."""
    if not path.exists():
        raise AdapterRefused(400, f"lora_path: {path} does not exist on the server; give the path of a PEFT "
                                  "adapter folder as the server sees it", "lora_path")
    if not path.is_dir() or not (path / "adapter_config.json").is_file():
        raise AdapterRefused(400, f"lora_path: {path} is not a PEFT adapter folder (no adapter_config.json); "
                                  "save one with peft's save_pretrained", "lora_path")


def merged_adapter(base: Policy, path: Path, base_name: str, name: str) -> Policy:
    """``base`` with the LoRA adapter at ``path`` merged into a copy of its weights."""
    from peft import LoraConfig, PeftConfig, get_peft_model, set_peft_model_state_dict
    from peft.utils import load_peft_weights

    unfit = f"lora_path: the adapter at {path} does not fit the base model {base_name}"
    fix = "load an adapter trained on that base model (or name its base with base_model)"
    try:
        config = PeftConfig.from_pretrained(str(path))
    except (ValueError, TypeError, OSError) as err:
        raise AdapterRefused(400, f"lora_path: {path}/adapter_config.json cannot be read ({err})", "lora_path") from None
    if not isinstance(config, LoraConfig):
        raise AdapterRefused(400, f"lora_path: {path} holds a {config.peft_type} adapter, not LoRA; only LoRA "
                                  "adapters can be loaded", "lora_path")
    try:
        model = get_peft_model(copy.deepcopy(base.model), config)
        outcome = set_peft_model_state_dict(model, load_peft_weights(str(path), device="cpu"))
    except (ValueError, RuntimeError, KeyError, OSError) as err:
        raise AdapterRefused(400, f"{unfit} ({str(err).splitlines()[0][:300]}); {fix}", "lora_path") from None
    if outcome.unexpected_keys:
        raise AdapterRefused(400, f"{unfit} (weights for {outcome.unexpected_keys[0]}, which it lacks); {fix}",
                             "lora_path")
    return Policy(model.merge_and_unload().eval().to(base.device), base.tokenizer, name)


class AdapterRegistry:
    """Loads and unloads runtime adapters into a ``ModelPool`` (one load or unload at a time)."""

    def __init__(self, pool: ModelPool, settings: Settings):
        self.pool, self.settings = pool, settings
        self._lock = threading.Lock()

    def _base(self, requested: str | None) -> str:
        base = requested or next(iter(self.settings.models), None)
        if base is None or base in self.pool.proxies or base in self.pool.adapters or not self.pool.serves(base):
            raise AdapterRefused(400, f"base_model: {base!r} is not a local model of this server; use one of "
                                      f"{', '.join(self.pool.local_names()) or '(none)'}", "base_model")
        return base

    def load(self, name: str, path: str, base_model: str | None = None) -> None:
        with self._lock:
            if self.pool.serves(name):
                raise AdapterRefused(400, f"lora_name: the model {name!r} is already served (the LoRA adapter has "
                                          "already been loaded, or a model has that name); unload it first or "
                                          "choose another name", "lora_name", "lora_name_taken")
            folder = Path(path)
            check_adapter_dir(folder)
            base_name = self._base(base_model)
            policy = merged_adapter(self.pool.get(base_name).policy, folder, base_name, name)
            self.pool.adapters[name] = self.pool.local_model(name, policy)
            self.pool.lineage[name] = (self.pool.canonical(base_name), str(folder))  # as /v1/models lists it

    def unload(self, name: str) -> None:
        with self._lock:
            model = self.pool.adapters.pop(name, None)
            if model is None:
                raise AdapterRefused(404, f"lora_name: no LoRA adapter {name!r} is loaded; loaded: "
                                          f"{', '.join(self.pool.adapters) or '(none)'}", "lora_name",
                                     "lora_adapter_not_found")
            self.pool.lineage.pop(name, None)
        # requests in flight finish in the background, then the weights can be freed
        threading.Thread(target=model.engine.stop, name=f"unload-{name}", daemon=True).start()


def model_card(pool: ModelPool, name: str) -> schemas.ModelCard:
    """``/v1/models``' entry for ``name``; an adapter shows its base model as ``parent``, as vLLM's do."""
    parent, root = pool.lineage.get(name, (None, None))
    return schemas.ModelCard(id=name, owned_by=pool.owner(name), parent=parent, root=root)
