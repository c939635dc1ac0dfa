"""Serving throughput: our server (continuous batching) vs one-request-at-a-time HF ``generate`` and
vs llama-cpp-python's OpenAI server on the same GGUF file, each hit by 16 concurrent clients.

All three use the embedded SmolLM2-135M-Instruct, the same fixed prompts, greedy decoding and the
same answer budget. Our server runs in ``--dtype`` (default auto: bfloat16 on a CPU with AMX or
AVX512-BF16); HF ``generate`` is timed in float32 and in that dtype, and the faster of the two is the
peer (one request at a time is memory-bound and gains little from bf16; a batch gains a lot). Generated tokens are counted the same way for every system (the answer text
re-tokenised with the model's tokenizer). Reported: tokens/s, p50/p95 request latency and time to
first token. The last line is one JSON object.

    python benchmarks/serve_throughput.py [--quick] [--clients 16] [--max-tokens 64] [--threads 2]
        [--dtype auto] [--llamacpp-python PATH]   # a Python with llama-cpp-python[server] (default: this one)

The llama.cpp peer is compiled at install time: ``pip install "llama-cpp-python[server]"`` in any virtualenv,
passed with ``--llamacpp-python``. A native build can die with SIGILL on CPUs whose AMX / AVX512 state the
kernel does not enable; ``CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON"``
builds a portable AVX2 one.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

MODEL = "smollm2-135m"
TOPICS = ["the sea", "mountains", "coffee", "cats", "trains", "rain", "music", "libraries", "gardens", "stars",
          "bread", "rivers", "winter", "bicycles", "bees", "clocks", "bridges", "volcanoes", "tea", "owls",
          "deserts", "lighthouses", "chess", "honey", "forests", "snow", "kites", "maps", "islands", "lanterns",
          "whales", "markets"]
TASKS = ["Write a short paragraph about {}.", "Give three facts about {}.",
         "Explain to a child why people like {}.", "Write a four-line poem about {}."]


def prompts(count: int) -> list[str]:
    return [TASKS[i % len(TASKS)].format(TOPICS[i % len(TOPICS)]) for i in range(count)]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


# ---- clients -----------------------------------------------------------------------------------


async def one_request(http: httpx.AsyncClient, url: str, model: str, prompt: str, max_tokens: int) -> dict:
    body = {"model": model, "messages": [{"role": "user", "content": prompt}], "max_tokens": max_tokens,
            "temperature": 0, "stream": True}
    start = time.perf_counter()
    first, pieces = None, []
    async with http.stream("POST", f"{url}/v1/chat/completions", json=body) as response:
        response.raise_for_status()
        async for line in response.aiter_lines():
            if not line.startswith("data: ") or line == "data: [DONE]":
                continue
            payload = json.loads(line[6:])
            if "error" in payload:
                raise RuntimeError(payload["error"])
            for choice in payload.get("choices", []):
                content = (choice.get("delta") or {}).get("content")
                if content:
                    first = first or time.perf_counter()
                    pieces.append(content)
    end = time.perf_counter()
    return {"text": "".join(pieces), "latency": end - start, "ttft": (first or end) - start}


async def hammer(url: str, model: str, items: list[str], clients: int, max_tokens: int) -> tuple[list[dict], float]:
    """``clients`` concurrent clients, each sending its share of ``items`` one after another."""
    shares = [items[i::clients] for i in range(clients)]
    results: list[dict] = []

    async def client(share: list[str]) -> None:
        async with httpx.AsyncClient(timeout=httpx.Timeout(900.0)) as http:
            for prompt in share:
                results.append(await one_request(http, url, model, prompt, max_tokens))

    start = time.perf_counter()
    await asyncio.gather(*(client(share) for share in shares))
    return results, time.perf_counter() - start


def summarise(name: str, results: list[dict], wall: float, tokenizer) -> dict:
    tokens = sum(len(tokenizer(r["text"], add_special_tokens=False)["input_ids"]) for r in results)
    latencies, ttfts = [r["latency"] for r in results], [r["ttft"] for r in results]
    summary = {"tokens": tokens, "wall_s": round(wall, 2), "tokens_per_s": round(tokens / wall, 2),
               "p50_latency_s": round(percentile(latencies, 0.5), 3), "p95_latency_s": round(percentile(latencies, 0.95), 3),
               "p50_ttft_s": round(percentile(ttfts, 0.5), 3), "p95_ttft_s": round(percentile(ttfts, 0.95), 3)}
    print(f"{name}: {len(results)} requests, {tokens} tokens in {wall:.1f} s = {summary['tokens_per_s']} tokens/s; "
          f"latency p50 {summary['p50_latency_s']} s p95 {summary['p95_latency_s']} s; "
          f"first token p50 {summary['p50_ttft_s']} s p95 {summary['p95_ttft_s']} s", flush=True)
    return summary


# ---- servers -----------------------------------------------------------------------------------


def wait_ready(url: str, process: subprocess.Popen, path: str, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with code {process.returncode}")
        try:
            if httpx.get(f"{url}{path}", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"the server at {url} did not become ready in {timeout:.0f} s")


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        process.kill()


def run_ours(args, items: list[str], tokenizer) -> dict:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    votes = Path(tempfile.mkdtemp()) / "votes.sqlite"
    command = [sys.executable, "-m", "instructrl.cli", "serve", "--model", MODEL, "--no-registry", "--port", str(port),
               "--threads", str(args.threads), "--max-batch", str(args.clients), "--votes-db", str(votes),
               "--dtype", args.dtype]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_ready(url, process, "/ready")
        asyncio.run(hammer(url, MODEL, items[:1], 1, 4))  # load the model before timing
        results, wall = asyncio.run(hammer(url, MODEL, items, args.clients, args.max_tokens))
    finally:
        stop(process)
    return summarise(f"ours (instructrl serve --dtype {args.dtype}, {args.clients} concurrent clients)", results, wall,
                     tokenizer)


def llamacpp_python(args) -> str | None:
    candidate = args.llamacpp_python or sys.executable
    probe = subprocess.run([candidate, "-c", "import llama_cpp.server"], capture_output=True)
    return candidate if probe.returncode == 0 else None


def run_llamacpp(args, items: list[str], tokenizer) -> tuple[dict | None, str | None]:
    """The peer's summary, or None and the reason it could not be measured."""
    from instructrl.models.loading import embedded_gguf

    python = llamacpp_python(args)
    if python is None:
        reason = "llama-cpp-python[server] is not installed for this Python"
        print(f"{reason} (pip install 'llama-cpp-python[server]', or pass --llamacpp-python PATH): "
              "the llama.cpp peer figure is null", flush=True)
        return None, reason
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    command = [python, "-m", "llama_cpp.server", "--model", str(embedded_gguf(MODEL)), "--model_alias", MODEL,
               "--host", "127.0.0.1", "--port", str(port), "--n_threads", str(args.threads), "--n_ctx", "2048",
               # by default a new request interrupts the one streaming: queue them instead, so every
               # client gets its whole answer (the server runs one request at a time either way)
               "--interrupt_requests", "False"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_ready(url, process, "/v1/models")
        asyncio.run(hammer(url, MODEL, items[:1], 1, 4))
        results, wall = asyncio.run(hammer(url, MODEL, items, args.clients, args.max_tokens))
    except (httpx.HTTPError, RuntimeError) as err:
        # e.g. a native build that dies with SIGILL on this CPU: report it, never a made-up figure
        time.sleep(1)
        reason = f"the llama-cpp-python server failed ({type(err).__name__}: {err}; exit code {process.poll()})"
        print(f"{reason}: the llama.cpp peer figure is null", flush=True)
        return None, reason
    finally:
        stop(process)
    name = f"llama-cpp-python server (same GGUF, {args.clients} concurrent clients)"
    return summarise(name, results, wall, tokenizer), None


def run_hf_best(policies: dict, items: list[str], max_tokens: int, batch: int) -> dict:
    """``run_hf`` in each dtype; the fastest is the peer's figure (each dtype's figure is kept too)."""
    runs = {dtype: run_hf(policy, items, max_tokens, batch, dtype) for dtype, policy in policies.items()}
    best = max(runs, key=lambda dtype: runs[dtype]["tokens_per_s"])
    return {**runs[best], "dtype": best, "by_dtype": {d: r["tokens_per_s"] for d, r in runs.items()}}


def run_hf(policy, items: list[str], max_tokens: int, batch: int, dtype: str) -> dict:
    from instructrl.models.policy import SamplingParams

    params = SamplingParams(max_new_tokens=max_tokens)
    policy.generate(items[:1], SamplingParams(max_new_tokens=4), batch_size=1)  # warm up
    start = time.perf_counter()
    generations = policy.generate(items, params, batch_size=batch)
    wall = time.perf_counter() - start
    tokens = sum(len(g.token_ids) for g in generations)
    name = "HF generate, one request at a time" if batch == 1 else f"HF generate, static batch of {batch}"
    name += f" ({dtype})"
    print(f"{name}: {len(items)} requests, {tokens} tokens in {wall:.1f} s = {tokens / wall:.2f} tokens/s", flush=True)
    return {"tokens": tokens, "wall_s": round(wall, 2), "tokens_per_s": round(tokens / wall, 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one request per client; about a minute")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2, help="CPU threads for every system")
    parser.add_argument("--requests-per-client", type=int, default=None)
    parser.add_argument("--dtype", default="auto", help="our server's weights (HF generate is timed in this and float32)")
    parser.add_argument("--llamacpp-python", default=os.environ.get("INSTRUCTRL_LLAMACPP_PYTHON"),
                        help="a Python interpreter with llama-cpp-python[server] installed")
    args = parser.parse_args()
    per_client = args.requests_per_client or (1 if args.quick else 4)
    items = prompts(args.clients * per_client)

    import torch

    from instructrl.models.loading import torch_dtype
    from instructrl.models.policy import Policy

    torch.set_num_threads(args.threads)
    dtypes = dict.fromkeys(["float32", str(torch_dtype(args.dtype)).removeprefix("torch.")])
    policies = {dtype: Policy.load(MODEL, dtype=dtype) for dtype in dtypes}
    policy = policies["float32"]
    print(f"{MODEL}: {args.clients} clients x {per_client} requests, greedy, max_tokens {args.max_tokens}, "
          f"{args.threads} threads per system", flush=True)
    hf_items = items[: 2 if args.quick else 8]
    hf = run_hf_best(policies, hf_items, args.max_tokens, batch=1)
    static = None if args.quick else run_hf_best(policies, items[: args.clients], args.max_tokens, batch=args.clients)
    ours = run_ours(args, items, policy.tokenizer)
    llama, llama_problem = run_llamacpp(args, items, policy.tokenizer)
    ratio = ours["tokens_per_s"] / hf["tokens_per_s"]
    llama_ratio = ours["tokens_per_s"] / llama["tokens_per_s"] if llama else None
    print(f"ours / HF one at a time: {ratio:.2f}x (goal >= 7.0); ours / llama-cpp-python server: "
          f"{f'{llama_ratio:.2f}x' if llama_ratio else 'n/a'} (goal >= 2.0)", flush=True)
    print(json.dumps({
        "bench": "serve_throughput", "ours": ours["tokens_per_s"], "peer": hf["tokens_per_s"], "ratio": round(ratio, 2),
        "unit": "generated tokens/s", "higher_is_better": True,
        "llamacpp": llama["tokens_per_s"] if llama else None,
        "llamacpp_ratio": round(llama_ratio, 2) if llama_ratio else None, "llamacpp_problem": llama_problem,
        "peer_dtype": hf["dtype"], "hf_one_at_a_time_by_dtype": hf["by_dtype"], "ours_dtype": args.dtype,
        "hf_static_batch": static["tokens_per_s"] if static else None,
        "hf_static_batch_by_dtype": static["by_dtype"] if static else None,
        "p50_latency_s": ours["p50_latency_s"], "p95_latency_s": ours["p95_latency_s"],
        "p50_ttft_s": ours["p50_ttft_s"], "p95_ttft_s": ours["p95_ttft_s"],
        "llamacpp_p50_latency_s": llama["p50_latency_s"] if llama else None,
        "llamacpp_p95_latency_s": llama["p95_latency_s"] if llama else None,
        "llamacpp_p50_ttft_s": llama["p50_ttft_s"] if llama else None,
        "llamacpp_p95_ttft_s": llama["p95_ttft_s"] if llama else None,
        "clients": args.clients, "requests": len(items), "max_tokens": args.max_tokens, "threads": args.threads,
        "model": MODEL, "quick": args.quick,
    }))


if __name__ == "__main__":
    main()
