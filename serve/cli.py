"""``instructrl serve``: run the OpenAI-compatible server (and optionally the Gradio UI) with uvicorn."""

from __future__ import annotations

import argparse
import os

from instructrl.errors import ConfigError
from instructrl.models.loading import DTYPES
from serve.settings import Settings, parse_proxy

DEFAULTS = Settings()


D = " (default: %(default)s)"  # every flag's help ends with its default


def add_verb(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", action="append", dest="models", metavar="NAME",
                        help="a model to serve (tiny-random, smollm2-135m, a checkpoint name or stage alias, a "
                             "directory, a .gguf file); repeat for several (default: smollm2-135m, or none "
                             "when --proxy is given)")
    parser.add_argument("--proxy", action="append", default=[], metavar="NAME=URL",
                        help="serve a remote OpenAI-compatible endpoint under NAME, e.g. "
                             "vllm=http://gpu-box:8000/v1#meta-llama/Llama-3.1-8B-Instruct (after # : the "
                             "remote model name, else NAME); repeatable (default: none)")
    parser.add_argument("--proxy-api-key", default=None, help="bearer token sent to proxied endpoints" + D)
    parser.add_argument("--host", default=DEFAULTS.host,
                        help="address to bind (127.0.0.1: only this machine; 0.0.0.0 exposes it)" + D)
    parser.add_argument("--port", type=int, default=DEFAULTS.port, help="port to listen on" + D)
    parser.add_argument("--api-key", action="append", dest="api_keys", default=[], metavar="KEY",
                        help="require 'Authorization: Bearer KEY' on every route but /health (repeatable; "
                             "the INSTRUCTRL_API_KEYS environment variable adds comma-separated keys) "
                             "(default: none, no authentication)")
    parser.add_argument("--votes-db", default=str(DEFAULTS.votes_db), help="SQLite file for comparisons and votes" + D)
    parser.add_argument("--allow-runtime-lora", action="store_true",
                        default=os.environ.get("VLLM_ALLOW_RUNTIME_LORA_UPDATING", "").lower() in ("1", "true"),
                        help="let clients load and unload PEFT LoRA adapters at run time, as vLLM's "
                             "/v1/load_lora_adapter and /v1/unload_lora_adapter (also on when "
                             "VLLM_ALLOW_RUNTIME_LORA_UPDATING=True) (default: off)")
    parser.add_argument("--ui", action="store_true", help="mount the Gradio chat and arena at /ui" + D)
    parser.add_argument("--no-registry", action="store_true",
                        help="serve only the --model names, not every policy checkpoint in the registry" + D)
    parser.add_argument("--max-tokens-cap", type=int, default=DEFAULTS.max_tokens_cap,
                        help="largest max_tokens a request may ask for" + D)
    parser.add_argument("--max-n", type=int, default=DEFAULTS.max_n, help="most answers (n) per request" + D)
    parser.add_argument("--max-prompt-tokens", type=int, default=DEFAULTS.max_prompt_tokens,
                        help="longest prompt in tokens (also limited by the model's context)" + D)
    parser.add_argument("--max-body-bytes", type=int, default=DEFAULTS.max_body_bytes,
                        help="largest request body" + D)
    parser.add_argument("--max-batch", type=int, default=DEFAULTS.max_batch, help="rows decoded together per model" + D)
    parser.add_argument("--max-queue", type=int, default=DEFAULTS.max_queue,
                        help="waiting requests per model before answering 429" + D)
    parser.add_argument("--batch-wait-ms", type=float, default=DEFAULTS.batch_wait_ms,
                        help="how long an idle model waits for company before starting a batch" + D)
    parser.add_argument("--request-timeout", type=float, default=DEFAULTS.request_timeout_s, metavar="SECONDS",
                        help="a request running longer is cancelled (504)" + D)
    parser.add_argument("--shutdown-timeout", type=float, default=DEFAULTS.shutdown_timeout_s, metavar="SECONDS",
                        help="on SIGINT/SIGTERM, wait this long for in-flight requests" + D)
    parser.add_argument("--memory-cap-gb", type=float, default=DEFAULTS.memory_cap_gb,
                        help="loaded model weights above this evict the least recently used model" + D)
    parser.add_argument("--threads", type=int, default=None,
                        help="torch CPU threads (default: torch's choice)")
    parser.add_argument("--dtype", choices=DTYPES, default=DEFAULTS.dtype,
                        help="weights of local models (auto: bfloat16 on GPUs and on CPUs with AMX or "
                             "AVX512-BF16, where decoding a batch is about twice as fast; float32 elsewhere)" + D)
    parser.set_defaults(func=run)


def settings_from_args(args: argparse.Namespace) -> Settings:
    keys = [*args.api_keys, *(k.strip() for k in os.environ.get("INSTRUCTRL_API_KEYS", "").split(",") if k.strip())]
    proxies = dict(parse_proxy(text) for text in args.proxy)
    models = tuple(args.models) if args.models else (() if proxies else DEFAULTS.models)
    return Settings(
        host=args.host, port=args.port, api_keys=tuple(keys), models=models, serve_registry=not args.no_registry,
        proxies=proxies, proxy_api_key=args.proxy_api_key, votes_db=args.votes_db, ui=args.ui,
        allow_runtime_lora=args.allow_runtime_lora,
        max_tokens_cap=args.max_tokens_cap, max_n=args.max_n, max_prompt_tokens=args.max_prompt_tokens,
        max_body_bytes=args.max_body_bytes, max_batch=args.max_batch, max_queue=args.max_queue,
        batch_wait_ms=args.batch_wait_ms, request_timeout_s=args.request_timeout,
        shutdown_timeout_s=args.shutdown_timeout, memory_cap_gb=args.memory_cap_gb, dtype=args.dtype,
    )


def run(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    if args.threads is not None:
        if args.threads < 1:
            raise ConfigError(f"--threads {args.threads} must be at least 1", "pass a positive thread count")
        import torch

        torch.set_num_threads(args.threads)
    import uvicorn

    from serve.app import create_app

    app = create_app(settings)
    where = f"http://{settings.host}:{settings.port}"
    key_note = "; the UI signs in with it as the password" if settings.ui else ""
    print(f"serving {', '.join(app.state.pool.names()) or '(no models)'} at {where}/v1"
          f"{f' and the UI at {where}/ui' if settings.ui else ''}"
          f"{f' (API key required{key_note})' if settings.api_keys else ''}", flush=True)
    uvicorn.run(app, host=settings.host, port=settings.port, log_level="info",
                timeout_graceful_shutdown=int(settings.shutdown_timeout_s))
    return 0
