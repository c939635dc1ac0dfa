"""Server settings: one dataclass holding every knob of ``instructrl serve`` (bind address, API keys,
request caps, batching, model memory cap, models, proxies, votes database). Validated on creation,
so a bad value fails at start-up with a one-line error rather than on the first request."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from instructrl.errors import ConfigError
from instructrl.models.loading import DTYPES


@dataclass
class Settings:
    host: str = "127.0.0.1"  # loopback unless told otherwise: exposing a model is a decision
    port: int = 8000
    api_keys: tuple[str, ...] = ()  # empty = no authentication
    models: tuple[str, ...] = ("smollm2-135m",)  # model specs served by name (plus registry checkpoints)
    serve_registry: bool = True  # also serve every policy checkpoint in the registry, loaded on first use
    proxies: dict[str, str] = field(default_factory=dict)  # name -> base URL ("http://host/v1#remote-model")
    proxy_api_key: str | None = None  # sent to every proxied endpoint as a bearer token
    votes_db: str | Path = "votes.sqlite"
    ui: bool = False  # mount the Gradio chat + arena at /ui
    allow_runtime_lora: bool = False  # POST /v1/load_lora_adapter and /v1/unload_lora_adapter (serve.adapters)
    # request caps
    max_body_bytes: int = 1 << 20
    max_tokens_cap: int = 2048
    default_max_tokens: int = 256  # chat requests that name no max_tokens
    max_n: int = 8
    max_prompt_tokens: int = 4096  # further limited by the model's context length
    max_stop: int = 4
    max_stop_chars: int = 128
    max_compare_models: int = 4
    request_timeout_s: float = 300.0
    shutdown_timeout_s: float = 30.0  # graceful shutdown: wait this long for in-flight requests
    # batching engine
    max_batch: int = 16  # rows decoded together per model
    max_queue: int = 64  # waiting requests per model before 429
    batch_wait_ms: float = 10.0  # how long an idle engine waits for company before starting a batch
    retry_after_s: int = 1
    # model pool
    memory_cap_gb: float = 8.0  # loaded local models (weights) above this evict the least recently used
    dtype: str = "auto"  # weights of local models; auto = bfloat16 where the hardware multiplies it natively

    def __post_init__(self) -> None:
        self.api_keys = tuple(self.api_keys)
        self.models = tuple(self.models)
        positive = ("max_body_bytes", "max_tokens_cap", "default_max_tokens", "max_n", "max_prompt_tokens",
                    "max_stop", "max_stop_chars", "max_batch", "max_queue", "retry_after_s")
        for name in positive:
            if int(getattr(self, name)) < 1:
                raise ConfigError(f"serve setting {name} = {getattr(self, name)} must be at least 1",
                                  f"pass a positive --{name.replace('_', '-')}")
        for name in ("request_timeout_s", "shutdown_timeout_s", "memory_cap_gb"):
            if float(getattr(self, name)) <= 0:
                raise ConfigError(f"serve setting {name} = {getattr(self, name)} must be positive",
                                  f"pass a positive --{name.replace('_', '-')}")
        if self.dtype not in DTYPES:
            raise ConfigError(f"dtype {self.dtype!r} is not one of {', '.join(DTYPES)}", "pass --dtype auto or float32")
        if self.batch_wait_ms < 0:
            raise ConfigError(f"batch_wait_ms = {self.batch_wait_ms} is negative", "use 0 or more milliseconds")
        if self.max_compare_models < 2:
            raise ConfigError("max_compare_models must be at least 2", "a comparison needs two models")
        if not 0 < self.port < 65536:
            raise ConfigError(f"port {self.port} is out of range", "use 1 to 65535")
        if any(not key for key in self.api_keys):
            raise ConfigError("an empty API key was given", "remove it or give a non-empty key")
        for name, url in self.proxies.items():
            if not name or not url.startswith(("http://", "https://")):
                raise ConfigError(f"proxy {name}={url} is not a NAME=http(s)://URL pair",
                                  "write it as NAME=http://host:port/v1 (optionally #remote-model)")
        clash = set(self.proxies) & set(self.models)
        if clash:
            raise ConfigError(f"{', '.join(sorted(clash))} is both a local model and a proxy",
                              "give the proxy another name")


def parse_proxy(text: str) -> tuple[str, str]:
    """``NAME=URL`` -> (name, url)."""
    name, sep, url = text.partition("=")
    if not sep or not name.strip() or not url.strip():
        raise ConfigError(f"--proxy {text!r} is not NAME=URL", "write it as NAME=http://host:port/v1")
    return name.strip(), url.strip()
