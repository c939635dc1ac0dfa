"""Stage configs: one dataclass per stage, composed of small parts, resolved as
defaults < YAML preset < command-line ``key=value`` overrides, and saved with every checkpoint.

Presets live in ``configs/<stage>/<name>.yaml`` (``tiny`` for tests, ``cpu`` for the embedded
default, ``gpu`` as an example); a preset may also be a path to any YAML file.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import yaml

from instructrl.errors import ConfigError

C = TypeVar("C")
PRESET_DIR = Path(__file__).resolve().parent.parent / "configs"


# ---- the shared parts -------------------------------------------------------------------------


@dataclass
class LoraConfig:
    r: int = 0  # 0 = full fine-tune
    alpha: int = 16
    dropout: float = 0.0
    target_modules: list[str] = field(default_factory=lambda: ["q_proj", "k_proj", "v_proj", "o_proj"])

    def __post_init__(self) -> None:
        check(self.r >= 0, "lora.r", self.r, "0 (full fine-tune) or a positive rank")
        check(0 <= self.dropout < 1, "lora.dropout", self.dropout, "a value in [0, 1)")


@dataclass
class ModelConfig:
    name: str = "smollm2-135m"  # a built-in name, checkpoint name or stage, local dir, .gguf file or hub id
    # weights' dtype: float32 for weights an optimiser updates; a LoRA run may keep its frozen base in
    # bfloat16 ("auto" = bfloat16 where the hardware multiplies it natively, else float32)
    dtype: str = "float32"
    lora: LoraConfig = field(default_factory=LoraConfig)
    freeze_embeddings: bool = False
    gradient_checkpointing: bool = False
    dropout: float = 0.0  # attention dropout during training (the paper's SFT used 0.2)

    def __post_init__(self) -> None:
        check(self.dtype in ("auto", "float32", "bfloat16", "float16"), "model.dtype", self.dtype,
               "auto, float32, bfloat16 or float16")
        check(0 <= self.dropout < 1, "model.dropout", self.dropout, "a value in [0, 1)")


@dataclass
class DataConfig:
    train: str = "builtin"  # NAME_OR_PATH
    validation: str | None = None  # None: the validation split of `train`
    max_length: int = 512  # tokens per example (prompt + answer), longer ones are truncated
    limit: int | None = None  # use only the first N training records

    def __post_init__(self) -> None:
        check(self.max_length >= 8, "data.max_length", self.max_length, "at least 8 tokens")
        check(self.limit is None or self.limit > 0, "data.limit", self.limit, "a positive number or null")


@dataclass
class OptimConfig:
    lr: float = 1e-5
    weight_decay: float = 0.0
    betas: list[float] = field(default_factory=lambda: [0.9, 0.95])
    warmup_steps: int = 0
    min_lr_ratio: float = 0.1  # cosine decay to 10 % of the peak, as in the paper
    max_grad_norm: float = 1.0

    def __post_init__(self) -> None:
        check(0 < self.lr < 1, "optim.lr", self.lr, "a learning rate in (0, 1)")
        check(0 <= self.min_lr_ratio <= 1, "optim.min_lr_ratio", self.min_lr_ratio, "a value in [0, 1]")
        check(self.warmup_steps >= 0, "optim.warmup_steps", self.warmup_steps, "0 or more")
        check(len(self.betas) == 2 and all(0 <= b < 1 for b in self.betas), "optim.betas", self.betas,
               "two values in [0, 1)")


GENERATION_BACKENDS = ("local", "remote")


@dataclass
class GenerationConfig:
    """Where PPO's rollouts are sampled: in this process (local), or on an OpenAI-compatible engine with
    runtime LoRA adapters (remote: vLLM with VLLM_ALLOW_RUNTIME_LORA_UPDATING=True, or
    ``instructrl serve --allow-runtime-lora``) serving the same base model; see ``train.remote_rollout``."""

    backend: str = "local"
    url: str | None = None  # remote: the API root, e.g. http://gpu-host:8000/v1
    api_key_env: str = "OPENAI_API_KEY"  # remote: the environment variable holding the server's key, if any
    adapter_dir: str | None = None  # remote: where each step's adapter is saved for the server to load; a
    # folder both this process and the server can read (default: <run_dir>/adapters)
    timeout_s: float = 300.0  # remote: per request
    concurrency: int = 64  # remote: completion requests in flight at once (one per prompt)

    def __post_init__(self) -> None:
        check(self.backend in GENERATION_BACKENDS, "generation.backend", self.backend, "local or remote")
        if self.backend == "remote" and not (self.url or "").startswith(("http://", "https://")):
            raise ConfigError(f"generation.backend remote needs generation.url (got {self.url!r})",
                              "set generation.url=http://HOST:PORT/v1 (--generation-url), the engine's API root")
        check(self.timeout_s > 0, "generation.timeout_s", self.timeout_s, "a positive number of seconds")
        check(self.concurrency >= 1, "generation.concurrency", self.concurrency, "1 or more requests")


MIXED_PRECISION = ("no", "auto", "bf16")


@dataclass
class RunConfig:
    output: str | None = None  # checkpoint name in the registry (default: <stage>-<model>-<time>)
    run_dir: str | None = None  # logs and resumable state (default: runs/<output>)
    seed: int = 0
    epochs: float = 1.0
    max_steps: int | None = None  # optimiser steps; overrides epochs when set
    batch_size: int = 8  # examples per optimiser step, across processes and accumulation
    micro_batch_size: int = 8  # examples per forward pass
    eval_every: int = 50
    save_every: int = 100
    log_every: int = 1
    resume: bool = True  # continue from the latest state in run_dir if there is one
    threads: int | None = None  # torch CPU threads (default: torch's choice)
    # sft and rm: "bf16" computes forward and backward under bfloat16 autocast while the weights and the
    # optimiser stay float32 ("auto": bf16 where the hardware multiplies it natively, else no). PPO instead
    # keeps its frozen weights in model.dtype.
    mixed_precision: str = "no"

    def __post_init__(self) -> None:
        check(self.epochs > 0, "run.epochs", self.epochs, "a positive number")
        check(self.max_steps is None or self.max_steps > 0, "run.max_steps", self.max_steps, "positive or null")
        check(self.batch_size > 0 and self.micro_batch_size > 0, "run.batch_size", self.batch_size, "positive")
        check(self.batch_size % self.micro_batch_size == 0, "run.batch_size", self.batch_size,
               f"a multiple of run.micro_batch_size ({self.micro_batch_size})")
        check(self.eval_every > 0 and self.save_every > 0 and self.log_every > 0, "run.save_every",
               self.save_every, "positive step counts for eval_every, save_every and log_every")
        check(self.output is None or (self.output.strip() and not set("/\\").intersection(self.output)
                                      and self.output not in (".", "..")),
              "run.output", self.output, "a checkpoint name without slashes (it is saved under the registry root, "
              "$INSTRUCTRL_CHECKPOINTS or ./checkpoints)")
        if self.mixed_precision is False:  # YAML reads a bare `no` as false
            self.mixed_precision = "no"
        check(self.mixed_precision in MIXED_PRECISION, "run.mixed_precision", self.mixed_precision,
              f"one of {', '.join(MIXED_PRECISION)}")


def check(ok: bool, key: str, value: Any, expected: str) -> None:
    if not ok:
        raise ConfigError(f"{key} = {value!r} is out of range; expected {expected}", f"set {key}=<value>")


# ---- resolving: defaults < preset < overrides ----------------------------------------------------


def preset_names(stage: str) -> list[str]:
    return sorted(p.stem for p in (PRESET_DIR / stage).glob("*.yaml"))


def read_preset(stage: str, preset: str) -> dict[str, Any]:
    path = Path(preset)
    if not (path.suffix in (".yaml", ".yml") and path.exists()):
        path = PRESET_DIR / stage / f"{preset}.yaml"
    if not path.exists():
        raise ConfigError(f"unknown {stage} preset {preset!r}",
                          f"use one of {', '.join(preset_names(stage)) or '(none)'} or a path to a YAML file")
    data = yaml.safe_load(path.read_text()) or {}
    if not isinstance(data, dict):
        raise ConfigError(f"preset {path} is not a YAML mapping")
    return data


def parse_overrides(items: list[str]) -> dict[str, Any]:
    """``["optim.lr=1e-4", "run.epochs=2"]`` -> nested dict; values are parsed as YAML scalars."""
    result: dict[str, Any] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise ConfigError(f"override {item!r} is not key=value", "write it as section.key=value, e.g. optim.lr=1e-4")
        node = result
        *parents, leaf = key.strip().split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = _scalar(raw)
    return result


def _scalar(raw: str) -> Any:
    """A YAML scalar, with numbers such as 2e-4 (a string to YAML 1.1) read as numbers."""
    if not raw.strip():
        return None
    value = yaml.safe_load(raw)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return value
    return value


def merge(base: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in update.items():
        out[key] = merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def from_dict(cls: type[C], data: dict[str, Any], prefix: str = "") -> C:
    """Build a (nested) config dataclass; an unknown key names the known ones."""
    if not isinstance(data, dict):
        raise ConfigError(f"{prefix.rstrip('.') or 'config'} should be a mapping, got {data!r}")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = set(data) - set(fields)
    if unknown:
        key = sorted(unknown)[0]
        raise ConfigError(f"unknown config key '{prefix}{key}'", f"known keys here: {', '.join(fields)}")
    kwargs = {}
    for name, value in data.items():
        target = _dataclass_in(hints[name])
        if target:
            kwargs[name] = from_dict(target, value or {}, f"{prefix}{name}.")
        elif hints[name] is float and isinstance(value, (int, str)) and not isinstance(value, bool):
            kwargs[name] = _as_float(value, f"{prefix}{name}")
        else:
            kwargs[name] = value
    try:
        return cls(**kwargs)
    except TypeError as err:
        raise ConfigError(f"bad config for {prefix or cls.__name__}: {err}") from None


def _as_float(value: int | str, key: str) -> float:
    try:
        return float(value)
    except ValueError:
        raise ConfigError(f"{key} = {value!r} is not a number", f"set {key}=<number>") from None


def _dataclass_in(hint: Any) -> type | None:
    if dataclasses.is_dataclass(hint):
        return hint  # type: ignore[return-value]
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        return next((a for a in typing.get_args(hint) if dataclasses.is_dataclass(a)), None)  # type: ignore[misc]
    return None


def resolve(cls: type[C], stage: str, preset: str | None = None, overrides: list[str] | None = None) -> C:
    data = read_preset(stage, preset) if preset else {}
    return from_dict(cls, merge(data, parse_overrides(overrides or [])))


def to_dict(config: Any) -> dict[str, Any]:
    return dataclasses.asdict(config)
