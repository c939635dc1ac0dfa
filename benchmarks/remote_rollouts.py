"""PPO rollout throughput: step 1 in-process vs on an engine (``generation.backend: remote``), one run.

Both sides time the product's own step 1, ``train.ppo.generate``, on the same LoRA policy (tiny
random model, or ``--model``), the same prompt batches, temperature 1 and the same answer budget:

* local: the merged sampling copy, refreshed from the policy, decodes the batch in this process;
* remote: each step saves the adapter, loads it on an ``instructrl serve --allow-runtime-lora``
  subprocess, sends one token-id completion per prompt and unloads the previous step's adapter, so
  the figure includes the adapter round trip.

The adapter changes between steps (noise added to its B matrices), as training would change it. A
warm-up step on each side is not timed. The same run also times ``instructrl data compare``'s sampling
(``train.compare.sample``: K answers per prompt at temperature 1) in-process and with
``--generation-url`` against the same server (chat completions of the base model). The last line is
one JSON object with every figure and the remote / local ratios.

    python benchmarks/remote_rollouts.py [--steps 4] [--batch 16] [--max-new-tokens 32] [--threads 1]
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from serve_throughput import free_port, stop, wait_ready  # noqa: E402

from evals.models import RemoteModel  # noqa: E402
from instructrl.config import LoraConfig, ModelConfig  # noqa: E402
from instructrl.data.loaders import load_records  # noqa: E402
from instructrl.data.schemas import Demonstration, EvalItem  # noqa: E402
from instructrl.models.loading import load_causal_lm, load_tokenizer  # noqa: E402
from instructrl.models.policy import Policy  # noqa: E402
from instructrl.remote import Endpoint, RemoteSpec  # noqa: E402
from train import actor_critic, ppo  # noqa: E402
from train.remote_rollout import RemoteSampler  # noqa: E402
from train.tuning import prepare_for_training  # noqa: E402


def cpu_name() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines() if Path("/proc/cpuinfo").exists() else []:
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


@torch.no_grad()
def nudge(policy, step: int) -> None:
    """Change the adapter as an optimiser step would."""
    generator = torch.Generator().manual_seed(step)
    for name, param in policy.named_parameters():
        if "lora_B" in name:
            param.add_(torch.randn(param.shape, generator=generator) * 0.02)


def timed(models: actor_critic.Models, policy, batches: list[list[str]], params: ppo.PPOParams) -> dict:
    ppo.generate(models, batches[0], params, policy, 0)  # warm-up: loads, first adapter, allocator
    samples = tokens = 0
    started = time.perf_counter()
    for step, prompts in enumerate(batches[1:], start=1):
        nudge(policy, step)
        out = ppo.generate(models, prompts, params, policy, step)
        samples += len(prompts)
        tokens += int(out.response_mask.sum())
    wall = time.perf_counter() - started
    return {"samples_per_s": samples / wall, "answer_tokens_per_s": tokens / wall, "wall_s": wall}


def timed_compare(model, items, k: int, max_new_tokens: int, batch: int) -> dict:
    from train.compare import sample

    sample(model, items[:2], k, max_new_tokens, seed=0, batch_size=batch)  # warm-up
    started = time.perf_counter()
    answers = sample(model, items, k, max_new_tokens, seed=1, batch_size=batch)
    wall = time.perf_counter() - started
    return {"answers_per_s": sum(len(a) for a in answers) / wall, "wall_s": wall}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="tiny-random")
    parser.add_argument("--steps", type=int, default=4, help="timed steps per side (plus one warm-up)")
    parser.add_argument("--batch", type=int, default=16, help="prompts per step")
    parser.add_argument("--max-new-tokens", type=int, default=32)
    parser.add_argument("--threads", type=int, default=1, help="torch threads, here and in the server")
    parser.add_argument("--compare-prompts", type=int, default=8, help="prompts for the data compare figure (K = 4)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    tokenizer = load_tokenizer(args.model)
    policy = prepare_for_training(load_causal_lm(args.model), ModelConfig(name=args.model, lora=LoraConfig(r=8)))
    records = load_records("builtin", Demonstration, split="train").records
    prompts = [d.prompt for d in records]
    batches = [[prompts[(s * args.batch + i) % len(prompts)] for i in range(args.batch)] for s in range(args.steps + 1)]
    params = ppo.PPOParams(max_new_tokens=args.max_new_tokens, max_prompt_tokens=64, temperature=1.0)
    models = actor_critic.Models(None, None, None, tokenizer, actor_critic.sampling_copy(policy, "float32"))
    local = timed(models, policy, batches, params)
    items = [EvalItem.from_demonstration(d) for d in records[:args.compare_prompts]]
    compare_local = timed_compare(Policy(load_causal_lm(args.model), tokenizer), items, 4, args.max_new_tokens,
                                  args.batch)

    port, work = free_port(), Path(tempfile.mkdtemp())
    url = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "instructrl.cli", "serve", "--model", args.model, "--no-registry",
               "--allow-runtime-lora", "--port", str(port), "--threads", str(args.threads), "--dtype", "float32",
               "--max-batch", str(args.batch), "--votes-db", str(work / "votes.sqlite")]
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_ready(url, server, "/ready")
        models.remote = RemoteSampler(Endpoint(RemoteSpec("base", f"{url}/v1"), retries=0), work / "adapters", seed=0)
        remote = timed(models, policy, batches, params)
        compare_remote = timed_compare(RemoteModel(args.model, f"{url}/v1", workers=args.batch), items, 4,
                                       args.max_new_tokens, args.batch)
    finally:
        stop(server)
    print(f"local  {local['samples_per_s']:.2f} samples/s ({local['answer_tokens_per_s']:.0f} answer tokens/s)")
    print(f"remote {remote['samples_per_s']:.2f} samples/s ({remote['answer_tokens_per_s']:.0f} answer tokens/s), "
          "adapter save/load/unload included")
    print(f"data compare: local {compare_local['answers_per_s']:.1f} answers/s, "
          f"remote {compare_remote['answers_per_s']:.1f} answers/s")
    print(json.dumps({"benchmark": "remote_rollouts", "model": args.model, "cpu": cpu_name(), "dtype": "float32",
                      "threads": args.threads, "batch": args.batch, "steps": args.steps,
                      "max_new_tokens": args.max_new_tokens, "local": local, "remote": remote,
                      "remote_over_local": remote["samples_per_s"] / local["samples_per_s"],
                      "compare": {"k": 4, "prompts": len(items), "local": compare_local, "remote": compare_remote,
                                  "remote_over_local": compare_remote["answers_per_s"] / compare_local["answers_per_s"]}}))


if __name__ == "__main__":
    main()
