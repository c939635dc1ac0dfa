"""PPO rollout throughput: instructrl's PPO step vs TRL's experimental PPOTrainer, side by side.

Same policy model, same reward model (and a critic initialised from it on both sides), same prompts
cut to the same number of tokens, same batch, same answer length, one PPO epoch over one minibatch.
Reported: rollout samples per second over the timed steps (the first step of each side is a warm-up
and is not timed) and the time split of a step (generate / score / optimise). Ours is timed before and
again after the peer and the two runs are pooled, so a slow spell of the machine weighs on both sides.

ours      = the ``cpu`` preset's training choices (LoRA policy and critic, reference = adapters off; on
            a CPU with native bfloat16 the frozen weights are bfloat16, what trains stays float32)
ours-full = a full fine-tune like TRL's, float32 (printed for reference)
trl       = TRL's PPOTrainer, full fine-tune, timed in float32 and with ``bf16=True`` (mixed precision);
            the faster of the two is the peer

TRL 1.10 is installed with ``pip install --no-deps --target .cache/bench-trl trl==1.10.0`` on first use
(its dependencies are already in instructrl's environment) and runs in a subprocess.

    python benchmarks/ppo_vs_trl.py            # SmolLM2-135M, batch 8, 32-token answers, 3 timed steps
    python benchmarks/ppo_vs_trl.py --quick    # tiny random model, a minute
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
TRL_DIR = REPO / ".cache" / "bench-trl"
TRL_VERSION = "1.10.0"
PROMPTS = [
    "Write a haiku about autumn rain.", "Explain what a hash table is to a beginner.",
    "List three tips for staying focused while studying.", "Summarise the water cycle in two sentences.",
    "What is the capital of Australia, and why was it chosen?", "Give me a short recipe for pancakes.",
    "Translate 'good morning, how are you?' into French.", "Write a polite email declining a meeting invitation.",
    "Why is the sky blue? Answer briefly.", "Suggest a name for a bakery that sells only bread.",
    "Describe a cat to someone who has never seen one.", "What are the pros and cons of remote work?",
    "Write a limerick about a programmer.", "How do vaccines train the immune system?",
    "Give three synonyms for 'happy'.", "Explain recursion with a simple example.",
]


def prompt_texts(count: int) -> list[str]:
    return [PROMPTS[i % len(PROMPTS)] for i in range(count)]


# ---- ours --------------------------------------------------------------------------------------


def run_ours(model: str, rm_dir: str, args, full: bool) -> dict:
    import torch
    from accelerate import Accelerator

    from instructrl.config import resolve
    from train import actor_critic, ppo
    from train.loop import make_optimizer, make_scheduler

    overrides = [f"model.name={model}", f"ppo.reward_model={rm_dir}", f"run.batch_size={args.batch}",
                 f"run.micro_batch_size={args.batch}", f"ppo.max_new_tokens={args.response_length}",
                 f"ppo.max_prompt_tokens={args.prompt_tokens}", "ppo.minibatches=1", "ppo.ppo_epochs=1",
                 "ppo.temperature=1.0", "optim.warmup_steps=0"]
    if full:
        overrides += ["model.lora.r=0", "model.freeze_embeddings=false", "optim.lr=1e-6"]
    config = resolve(ppo.PPOConfig, "ppo", "cpu", overrides)
    torch.manual_seed(0)
    models = actor_critic.build_models(config)
    module = models.actor_critic
    optimizer = make_optimizer(list(module.parameters()), config.optim)
    scheduler = make_scheduler(optimizer, config.optim, args.steps + 1)
    accelerator = Accelerator(cpu=True)
    ema = ppo.PolicyEMA(module.policy, config.ppo.ema)
    prompts = prompt_texts(args.batch * (args.steps + 1))
    steps = []
    for step in range(args.steps + 1):
        batch = prompts[step * args.batch:(step + 1) * args.batch]
        began = time.perf_counter()
        metrics, _ = ppo.train_step(step, batch, models, module, optimizer, scheduler, accelerator, config,
                                    config.ppo.kl_coef, None, ema.update)
        steps.append({"total": time.perf_counter() - began, "generate": metrics["time/generate"],
                      "score": metrics["time/score"], "optimise": metrics["time/optimise"],
                      "length": metrics["response/length"]})
    return summarise(steps[1:], args.batch)


def pooled(first: dict, second: dict) -> dict:
    """Two timed runs of the same side as one: mean seconds per step (and per phase), samples/s from that."""
    out = {key: (first[key] + second[key]) / 2 for key in ("s_per_step", "generate_s", "score_s", "optimise_s")}
    out["samples_per_s"] = 2 / (1 / first["samples_per_s"] + 1 / second["samples_per_s"])
    out["runs_samples_per_s"] = [first["samples_per_s"], second["samples_per_s"]]
    return out


def summarise(steps: list[dict], batch: int) -> dict:
    total = sum(s["total"] for s in steps)
    out = {"samples_per_s": batch * len(steps) / total, "s_per_step": total / len(steps)}
    for key in ("generate", "score", "optimise"):
        out[f"{key}_s"] = sum(s[key] for s in steps) / len(steps)
    if all("length" in s for s in steps):
        out["answer_tokens"] = sum(s["length"] for s in steps) / len(steps)
    return out


# ---- TRL (runs in a subprocess with TRL on its path) -------------------------------------------


def ensure_trl() -> None:
    if (TRL_DIR / "trl" / "experimental" / "ppo").is_dir():
        return
    print(f"installing trl=={TRL_VERSION} into {TRL_DIR.relative_to(REPO)} (no dependencies: they are ours)")
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(TRL_DIR),
                    f"trl=={TRL_VERSION}"], check=True)


def run_trl(model_dir: str, rm_dir: str, args, bf16: bool) -> dict:
    ensure_trl()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(TRL_DIR), str(REPO), os.environ.get("PYTHONPATH", "")])}
    spec = json.dumps({"model": model_dir, "rm": rm_dir, "batch": args.batch, "steps": args.steps, "bf16": bf16,
                       "response_length": args.response_length, "prompt_tokens": args.prompt_tokens})
    done = subprocess.run([sys.executable, __file__, "--trl-worker", spec], env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"TRL run failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def trl_worker(spec: dict) -> None:
    import torch
    import trl
    from datasets import Dataset
    from transformers import (
        AutoModelForCausalLM,
        AutoModelForSequenceClassification,
        AutoTokenizer,
        TrainerCallback,
    )
    from trl.experimental.ppo import PPOConfig, PPOTrainer
    from trl.experimental.ppo import ppo_trainer as module

    from instructrl.chat import format_prompt

    timers = {"generate": 0.0, "score": 0.0}

    def timed(name, fn, when=lambda: True):
        def wrapper(*a, **k):
            if not when():
                return fn(*a, **k)
            began = time.perf_counter()
            try:
                return fn(*a, **k)
            finally:
                timers[name] += time.perf_counter() - began
        return wrapper

    # rollout-phase calls run under no_grad: generation, and the reference / value / reward passes
    module.batch_generation = timed("generate", module.batch_generation)
    module.get_reward = timed("score", module.get_reward, lambda: not torch.is_grad_enabled())
    module.forward = timed("score", module.forward, lambda: not torch.is_grad_enabled())

    steps: list[dict] = []

    class Clock(TrainerCallback):
        def on_train_begin(self, *a, **k):
            self.last = time.perf_counter()
            self.seen = dict(timers)

        def on_step_end(self, *a, **k):
            now = time.perf_counter()
            split = {key: timers[key] - self.seen[key] for key in timers}
            total = now - self.last
            steps.append({"total": total, **split, "optimise": total - sum(split.values())})
            self.last, self.seen = now, dict(timers)

    torch.manual_seed(0)
    tokenizer = AutoTokenizer.from_pretrained(spec["model"], padding_side="left")
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    count = spec["batch"] * (spec["steps"] + 1)
    ids = [tokenizer(format_prompt(tokenizer, p), add_special_tokens=False)["input_ids"][-spec["prompt_tokens"]:]
           for p in prompt_texts(count)]
    dataset = Dataset.from_dict({"input_ids": ids})
    policy = AutoModelForCausalLM.from_pretrained(spec["model"], dtype=torch.float32)
    ref = AutoModelForCausalLM.from_pretrained(spec["model"], dtype=torch.float32)
    reward = AutoModelForSequenceClassification.from_pretrained(spec["rm"], num_labels=1, dtype=torch.float32)
    value = AutoModelForSequenceClassification.from_pretrained(spec["rm"], num_labels=1, dtype=torch.float32)
    with tempfile.TemporaryDirectory() as out:
        config = PPOConfig(output_dir=out, per_device_train_batch_size=spec["batch"], gradient_accumulation_steps=1,
                           num_mini_batches=1, num_ppo_epochs=1, total_episodes=count,
                           response_length=spec["response_length"], temperature=1.0, learning_rate=1e-6,
                           kl_coef=0.02, missing_eos_penalty=1.0, stop_token="eos", num_sample_generations=0,
                           local_rollout_forward_batch_size=spec["batch"], report_to="none", save_strategy="no",
                           logging_steps=1, use_cpu=True, bf16=spec["bf16"], seed=0, dataloader_num_workers=0)
        trainer = PPOTrainer(args=config, processing_class=tokenizer, model=policy, ref_model=ref,
                             reward_model=reward, train_dataset=dataset, value_model=value, callbacks=[Clock()])
        trainer.train()
    result = summarise(steps[1:], spec["batch"])
    result["version"] = trl.__version__
    print(json.dumps(result))


# ---- main --------------------------------------------------------------------------------------


def line(name: str, r: dict) -> str:
    return (f"{name:10s} {r['samples_per_s']:.3f} samples/s  {r['s_per_step']:.2f} s/step  "
            f"(generate {r['generate_s']:.2f} s, score {r['score_s']:.2f} s, optimise {r['optimise_s']:.2f} s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="tiny random model, small batch: about a minute")
    parser.add_argument("--model", default=None, help="policy model spec (default smollm2-135m; tiny-random with --quick)")
    parser.add_argument("--steps", type=int, default=None, help="timed steps per side (after one warm-up step)")
    parser.add_argument("--batch", type=int, default=None)
    parser.add_argument("--response-length", type=int, default=None)
    parser.add_argument("--prompt-tokens", type=int, default=64)
    parser.add_argument("--skip-full", action="store_true", help="do not time our full fine-tune variant")
    parser.add_argument("--trl-worker", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.trl_worker:
        trl_worker(json.loads(args.trl_worker))
        return
    args.model = args.model or ("tiny-random" if args.quick else "smollm2-135m")
    args.steps = args.steps or (1 if args.quick else 3)
    args.batch = args.batch or (4 if args.quick else 8)
    args.response_length = args.response_length or (16 if args.quick else 32)

    import torch

    from instructrl.models.loading import resolve_model
    from instructrl.models.reward import RewardModel

    model_dir = resolve_model(args.model)
    with tempfile.TemporaryDirectory() as tmp:
        torch.manual_seed(0)
        rm_dir = str(Path(tmp) / "rm")
        RewardModel.load(args.model).save(rm_dir)  # one reward model (fresh head) for both sides
        print(f"model {args.model}, batch {args.batch}, prompts <= {args.prompt_tokens} tokens, "
              f"answers {args.response_length} tokens, 1 PPO epoch x 1 minibatch, {args.steps} timed steps, "
              f"{torch.get_num_threads()} threads")
        before = run_ours(args.model, rm_dir, args, full=False)
        print(line("ours", before), flush=True)
        full = None if args.quick or args.skip_full else run_ours(args.model, rm_dir, args, full=True)
        if full:
            print(line("ours-full", full), flush=True)
        peers = {}
        for bf16 in (False, True):
            peers["bf16" if bf16 else "float32"] = run = run_trl(model_dir, rm_dir, args, bf16)
            print(line(f"trl {run['version']} {'bf16' if bf16 else 'fp32'}", run), flush=True)
        # ours runs again after the peer, and the two runs are pooled: a slow or fast spell of a shared
        # machine then weighs on both sides rather than on whichever ran during it
        after = run_ours(args.model, rm_dir, args, full=False)
        print(line("ours again", after), flush=True)
        ours = pooled(before, after)
        peer_setting = max(peers, key=lambda k: peers[k]["samples_per_s"])
        peer = peers[peer_setting]
    ratio = ours["samples_per_s"] / peer["samples_per_s"]
    print(f"ratio (ours / trl): {ratio:.2f}x")
    result = {"bench": "ppo_vs_trl", "ours": round(ours["samples_per_s"], 4), "peer": round(peer["samples_per_s"], 4),
              "ratio": round(ratio, 3), "unit": "rollout samples/s", "higher_is_better": True,
              "model": args.model, "batch": args.batch, "response_tokens": args.response_length,
              "prompt_tokens": args.prompt_tokens, "timed_steps": args.steps,
              "ours_split_s": {k: round(ours[f"{k}_s"], 3) for k in ("generate", "score", "optimise")},
              "peer_split_s": {k: round(peer[f"{k}_s"], 3) for k in ("generate", "score", "optimise")},
              "ours_runs_samples_per_s": [round(v, 4) for v in ours["runs_samples_per_s"]],
              "ours_s_per_step": round(ours["s_per_step"], 3), "peer_s_per_step": round(peer["s_per_step"], 3),
              "peer_version": f"trl {peer['version']}", "peer_precision": peer_setting,
              "peer_samples_per_s_by_precision": {k: round(v["samples_per_s"], 4) for k, v in peers.items()}}
    if full:
        result["ours_full_samples_per_s"] = round(full["samples_per_s"], 4)
        result["ours_full_ratio"] = round(full["samples_per_s"] / peer["samples_per_s"], 3)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
