"""Fully sharded data parallel (FSDP 2) for the supervised loop and PPO, on GPUs and on CPU processes alike.

``accelerate launch --config_file configs/accelerate/fsdp.yaml`` sets ``ACCELERATE_USE_FSDP`` and the
``FSDP_*`` variables. On GPUs accelerate shards the model inside ``prepare``; its CPU process type
(``MULTI_CPU``) has no FSDP and ignores those variables, so on CPU processes (gloo) this module makes
the same calls accelerate makes: torch's ``fully_shard`` on every decoder layer, then on the root.
Either way the loop trains a **training copy** and copies the trained weights back into the caller's
(unsharded) model at the end (``copy_back``), so a stage saves, merges and scores a plain module as it
does in one process. The copy costs one model of CPU memory; a model too large for that is a job for
DeepSpeed ZeRO-3 (configs/accelerate/zero3*.yaml).

Every function here is collective under sharding: all processes call it, as they all run the loop.
PPO also samples from its sharded policy and calls it outside the training forward: ``inside`` and
``Through`` route such calls through the root's forward, ``all_finished`` keeps the processes'
decoding loops in step, ``full_tensor`` and ``copy_whole_into`` save and restore sharded state (the EMA).
"""

from __future__ import annotations

import copy
import os
from collections.abc import Callable
from typing import Any

import torch

from instructrl.errors import ConfigError


def fsdp_requested() -> bool:
    """Did the launcher ask for FSDP (``accelerate launch`` with an FSDP config sets this)?"""
    return os.environ.get("ACCELERATE_USE_FSDP", "false").lower() == "true"


def shards_itself(accelerator) -> bool:
    """FSDP asked for on CPU processes, where accelerate does not shard: this module does."""
    from accelerate.utils import DistributedType

    return fsdp_requested() and accelerator.distributed_type == DistributedType.MULTI_CPU


def layer_classes(model: torch.nn.Module) -> set[str]:
    """The class names to shard one by one: ``FSDP_TRANSFORMER_CLS_TO_WRAP`` (comma-separated, as the
    config's ``fsdp_transformer_layer_cls_to_wrap``), else the model's own ``_no_split_modules``."""
    named = os.environ.get("FSDP_TRANSFORMER_CLS_TO_WRAP", "")
    if named.strip():
        return {name.strip() for name in named.split(",") if name.strip()}
    return {name for module in model.modules() for name in (getattr(module, "_no_split_modules", None) or [])}


def training_copy(model: torch.nn.Module, accelerator) -> torch.nn.Module:
    """The module the loop trains: ``model`` itself, or under FSDP a copy (sharded here on CPU
    processes, by accelerate's ``prepare`` on GPUs)."""
    from accelerate.utils import DistributedType

    if accelerator.distributed_type == DistributedType.FSDP:
        return copy.deepcopy(model)
    if not shards_itself(accelerator):
        return model
    from torch.distributed.fsdp import fully_shard

    classes = layer_classes(model)
    twin = copy.deepcopy(model)
    layers = [m for m in twin.modules() if type(m).__name__ in classes]
    if not layers:
        raise ConfigError(f"FSDP found no layer of class {sorted(classes) or '(none named)'} in the model",
                          "set fsdp_transformer_layer_cls_to_wrap in the accelerate config to the model's "
                          "decoder layer class, e.g. LlamaDecoderLayer")
    reshard = os.environ.get("FSDP_RESHARD_AFTER_FORWARD", "true").lower() == "true"
    for layer in layers:
        fully_shard(layer, reshard_after_forward=reshard)
    fully_shard(twin, reshard_after_forward=reshard)
    return twin


def is_sharded(model: torch.nn.Module) -> bool:
    from torch.distributed.tensor import DTensor

    return any(isinstance(p, DTensor) for p in model.parameters())


def model_state(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """The whole state dict with full (gathered) tensors, on every process."""
    if not is_sharded(model):
        return model.state_dict()
    from torch.distributed.checkpoint.state_dict import StateDictOptions, get_model_state_dict

    return get_model_state_dict(model, options=StateDictOptions(full_state_dict=True))


def optimizer_state(model: torch.nn.Module, optimizer) -> dict[str, Any]:
    """The optimiser's state to save: as is in one process or DDP, gathered to full tensors under FSDP."""
    if not is_sharded(model):
        return optimizer.state_dict()
    from torch.distributed.checkpoint.state_dict import StateDictOptions, get_optimizer_state_dict

    return get_optimizer_state_dict(model, optimizer, options=StateDictOptions(full_state_dict=True))


def load_optimizer_state(model: torch.nn.Module, optimizer, state: dict[str, Any]) -> None:
    if not is_sharded(model):
        optimizer.load_state_dict(state)
        return
    from torch.distributed.checkpoint.state_dict import StateDictOptions, set_optimizer_state_dict

    set_optimizer_state_dict(model, optimizer, state, options=StateDictOptions(full_state_dict=True))


def copy_back(trained: torch.nn.Module, model: torch.nn.Module) -> None:
    """Put the training copy's weights into the caller's model (nothing to do when they are one)."""
    if trained is not model:
        model.load_state_dict(model_state(trained))


# ---- PPO: a sharded actor-critic that also samples --------------------------------------------


def inside(model: torch.nn.Module, call: Callable[[torch.nn.Module], Any]) -> Any:
    """``call(model)`` for an unwrapped (not DDP-wrapped) model; for a sharded one, run inside its root's
    forward (which must accept ``call``, as ``train.actor_critic.ActorCritic`` does). FSDP 2 gathers the
    parameters that sit outside the sharded layers (embeddings, heads, final norms) in the root's
    forward hooks, so a submodule called on its own would compute with shards. Collective when sharded."""
    return model(call=call) if is_sharded(model) else call(model)


class Through:
    """Submodule ``name`` of a sharded ``root``, called through the root's forward (``inside``); its
    attributes (config, parameters, train/eval) are the submodule's. What a sampling loop calls for
    each token."""

    def __init__(self, root: torch.nn.Module, name: str):
        self._root, self._name = root, name

    def __call__(self, *args, **kwargs):
        return self._root(call=lambda root: root.get_submodule(self._name)(*args, **kwargs))

    def __getattr__(self, attribute: str):
        return getattr(self._root.get_submodule(self._name), attribute)


def all_finished(done: torch.Tensor) -> bool:
    """Whether every process's rows are done (``decode``'s ``finished``): a process whose rows have all
    ended keeps stepping until the others' have, since each forward pass of a sharded model gathers its
    weights from every process. Collective."""
    import torch.distributed as dist

    flag = done.all().to(torch.int32).reshape(1)
    dist.all_reduce(flag, op=dist.ReduceOp.MIN)
    return bool(flag.item())


def full_tensor(tensor: torch.Tensor) -> torch.Tensor:
    """A sharded tensor gathered whole (collective), or the tensor itself."""
    from torch.distributed.tensor import DTensor

    return tensor.full_tensor() if isinstance(tensor, DTensor) else tensor


def copy_whole_into(target: torch.Tensor, value: torch.Tensor) -> None:
    """``target`` ← ``value`` (a whole tensor); a sharded ``target`` takes its own shard of it."""
    from torch.distributed.tensor import DTensor, distribute_tensor

    with torch.no_grad():
        if isinstance(target, DTensor):
            value = distribute_tensor(value.to(target.device, target.dtype), target.device_mesh, target.placements)
        target.copy_(value)
