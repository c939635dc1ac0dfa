"""Reward-model training: instructrl's rm stage vs TRL's ``RewardTrainer`` on identical data and steps.

Data: the shared Anthropic HH-RLHF harmless file, split 80/20 with a fixed seed; pairs whose
chat-formatted sequences exceed --max-length tokens are left out for both sides (TRL would filter
them, ours would truncate), so both train on exactly the same token ids. Both start from the same
initial reward model (SmolLM2-135M + a fresh scalar head, saved once), freeze the embeddings, use
AdamW (betas 0.9/0.95, no weight decay), cosine decay to 10 % after the same warm-up, gradient
clipping at 1.0, the same batch size and micro-batch size, one pass over the same examples, and
read the reward at the same final token. Tokens/s counts the real (unpadded) tokens of the
examples trained on, over the wall time of the training call (model loading excluded), fp32 CPU.

TRL runs as a subprocess in a separate virtualenv under .cache/bench-venv (created on first use
with ``pip install --no-deps trl==1.10.0`` on top of this environment's packages).

    python benchmarks/rm_vs_trl.py --quick     # about 1-2 minutes
    python benchmarks/rm_vs_trl.py             # the full measurement (16 steps of 8 pairs, 192 tokens)
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
HH_FILE = REPO.parent / "shared" / "data" / "hh-rlhf" / "harmless-base-dev.jsonl.gz"
PEER_VENV = REPO / ".cache" / "bench-venv"
TRL_VERSION = "1.10.0"
PAD_FOR_PEER = "<|endoftext|>"  # not the end-of-answer token, so TRL's pooling reads the same final token


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a few steps at a short max length (smoke)")
    parser.add_argument("--data", default=str(HH_FILE), help="hh-rlhf style comparisons file")
    parser.add_argument("--model", default="smollm2-135m")
    parser.add_argument("--steps", type=int, default=None)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--micro-batch-size", type=int, default=4)
    parser.add_argument("--max-length", type=int, default=None)
    parser.add_argument("--lr", type=float, default=1e-4)
    parser.add_argument("--warmup", type=int, default=0, help="warm-up steps (0: both schedules start at the peak)")
    parser.add_argument("--eval-pairs", type=int, default=None, help="held-out pairs scored (default: all that fit)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--skip-peer", action="store_true", help="measure ours only")
    parser.add_argument("--peer-worker", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.quick:
        args.steps = args.steps or 2
        args.max_length = args.max_length or 128
        args.eval_pairs = args.eval_pairs or 32
    args.steps = args.steps or 16
    args.max_length = args.max_length or 192
    args.eval_pairs = args.eval_pairs or 300
    return args


# ---- shared data preparation ------------------------------------------------------------------


def prepare(args, tokenizer, workdir: Path):
    """Token ids of (chosen, rejected) for train and held-out pairs, identical for both sides."""
    from instructrl.data.loaders import load_records
    from instructrl.data.schemas import Comparison
    from train.reward import encode

    loaded = load_records(args.data, Comparison, skip_bad_rows=True)
    print(f"data: {len(loaded.records)} comparisons from {Path(args.data).name}; dropped {len(loaded.rejected)} "
          f"malformed rows" + (f" (first: {loaded.rejected[0]})" if loaded.rejected else ""))
    records = list(loaded.records)
    random.Random(args.seed).shuffle(records)
    cut = int(0.8 * len(records))
    split = {"train": records[:cut], "heldout": records[cut:]}
    encoded = {}
    for name, rows in split.items():
        examples = [encode(tokenizer, c, 10**9) for c in rows]
        fits = [e for e in examples if max(len(a) for a in e.answers) <= args.max_length]
        encoded[name] = fits
        print(f"{name}: {len(rows)} pairs, {len(fits)} fit in {args.max_length} tokens")
    need = args.steps * args.batch_size
    if len(encoded["train"]) < need:
        raise SystemExit(f"only {len(encoded['train'])} training pairs fit; lower --steps or raise --max-length")
    return encoded["train"][:need], encoded["heldout"][:args.eval_pairs]


# ---- ours -------------------------------------------------------------------------------------------


def run_ours(args, init_dir: Path, train, heldout, workdir: Path) -> dict:
    import torch

    from instructrl.config import ModelConfig, OptimConfig, RunConfig
    from instructrl.models.reward import RewardModel
    from train.loop import fit
    from train.reward import collate, eval_batches, evaluate, loss_fn
    from train.tuning import prepare_for_training

    torch.manual_seed(args.seed)
    reward = RewardModel.load(str(init_dir))
    prepare_for_training(reward.model, ModelConfig(name=str(init_dir), freeze_embeddings=True))
    pad = reward.tokenizer.pad_token_id
    run = RunConfig(max_steps=args.steps, batch_size=args.batch_size, micro_batch_size=args.micro_batch_size,
                    eval_every=10**6, save_every=10**6, log_every=1, seed=args.seed, resume=False)
    optim = OptimConfig(lr=args.lr, warmup_steps=args.warmup, betas=[0.9, 0.95], weight_decay=0.0, min_lr_ratio=0.1)
    start = time.perf_counter()
    result = fit(reward, train, [max(len(a) for a in e.answers) for e in train], lambda chunk: collate(chunk, pad),
                 loss_fn, run, optim, workdir / "ours-run", desc="ours")
    seconds = time.perf_counter() - start
    reward.eval()
    stats = evaluate(reward, eval_batches(heldout, args.micro_batch_size * 2, pad))
    return {"seconds": seconds, "steps": result.steps, "train_loss": result.train_loss,
            "correct": round(stats["accuracy"] * stats["pairs"]), "pairs": int(stats["pairs"])}


# ---- TRL (in its own virtualenv) ------------------------------------------------------------------


def peer_python() -> Path | None:
    """The benchmark's virtualenv with TRL, created on first use; None (with a printed reason) if it fails."""
    python = PEER_VENV / "bin" / "python"
    check = [str(python), "-c", f"import trl; assert trl.__version__ == '{TRL_VERSION}'"]
    if python.exists() and subprocess.run(check, capture_output=True).returncode == 0:
        return python
    print(f"creating {PEER_VENV.relative_to(REPO)} with trl=={TRL_VERSION} ...")
    try:
        subprocess.run([sys.executable, "-m", "venv", str(PEER_VENV)], check=True)
        site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                              check=True, capture_output=True, text=True).stdout.strip()
        parent = subprocess.run([sys.executable, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                                check=True, capture_output=True, text=True).stdout.strip()
        Path(site, "_instructrl_parent.pth").write_text(parent + "\n")  # reuse torch etc. from this environment
        subprocess.run([str(python), "-m", "pip", "install", "-q", "--no-deps", f"trl=={TRL_VERSION}"], check=True)
        subprocess.run(check, check=True)
    except (subprocess.CalledProcessError, OSError) as err:
        print(f"TRL is unavailable ({err}); measuring ours only")
        return None
    return python


def run_peer(args, init_dir: Path, train, heldout, workdir: Path) -> dict | None:
    python = peer_python()
    if python is None:
        return None
    job = workdir / "peer-job.json"
    job.write_text(json.dumps({
        "init_dir": str(init_dir), "out": str(workdir / "peer-result.json"), "run_dir": str(workdir / "peer-run"),
        "steps": args.steps, "batch_size": args.batch_size, "micro_batch_size": args.micro_batch_size,
        "lr": args.lr, "warmup": args.warmup, "threads": args.threads, "seed": args.seed, "max_length": args.max_length,
        "train": [[list(e.answers[0]), list(e.answers[1])] for e in train],
        "heldout": [[list(e.answers[0]), list(e.answers[1])] for e in heldout],
    }))
    env = {**os.environ, "OMP_NUM_THREADS": str(args.threads), "TOKENIZERS_PARALLELISM": "false"}
    done = subprocess.run([str(python), __file__, "--peer-worker", str(job)], env=env)
    if done.returncode != 0:
        print(f"the TRL run failed (exit {done.returncode}); see its output above")
        return None
    return json.loads((workdir / "peer-result.json").read_text())


def peer_worker(job_path: str) -> None:
    """Runs inside the TRL virtualenv: train with RewardTrainer, then score the held-out pairs."""
    import torch
    from datasets import Dataset
    from transformers import AutoModelForSequenceClassification, AutoTokenizer
    from trl import RewardConfig, RewardTrainer

    job = json.loads(Path(job_path).read_text())
    torch.set_num_threads(job["threads"])
    torch.manual_seed(job["seed"])
    tokenizer = AutoTokenizer.from_pretrained(job["init_dir"])
    tokenizer.pad_token = PAD_FOR_PEER
    model = AutoModelForSequenceClassification.from_pretrained(job["init_dir"], num_labels=1, dtype=torch.float32)
    model.config.pad_token_id = tokenizer.pad_token_id
    model.get_input_embeddings().weight.requires_grad_(False)
    data = Dataset.from_list([{"chosen_ids": c, "rejected_ids": r} for c, r in job["train"]])
    config = RewardConfig(
        output_dir=job["run_dir"], max_steps=job["steps"], per_device_train_batch_size=job["micro_batch_size"],
        gradient_accumulation_steps=job["batch_size"] // job["micro_batch_size"], learning_rate=job["lr"],
        lr_scheduler_type="cosine_with_min_lr", lr_scheduler_kwargs={"min_lr_rate": 0.1}, warmup_steps=job["warmup"],
        adam_beta1=0.9, adam_beta2=0.95, weight_decay=0.0, max_grad_norm=1.0, max_length=job["max_length"],
        use_cpu=True, bf16=False, fp16=False, report_to="none", save_strategy="no", logging_steps=1,
        dataloader_num_workers=0, seed=job["seed"], pad_token=PAD_FOR_PEER, disable_dropout=True,
    )
    trainer = RewardTrainer(model=model, args=config, train_dataset=data, processing_class=tokenizer)
    start = time.perf_counter()
    output = trainer.train()
    seconds = time.perf_counter() - start
    model.eval()
    correct = 0
    with torch.no_grad():
        for chosen, rejected in job["heldout"]:
            width = max(len(chosen), len(rejected))
            ids = torch.full((2, width), tokenizer.pad_token_id)
            mask = torch.zeros((2, width), dtype=torch.long)
            for row, seq in enumerate((chosen, rejected)):
                ids[row, :len(seq)], mask[row, :len(seq)] = torch.tensor(seq), 1
            scores = model(input_ids=ids, attention_mask=mask).logits.squeeze(-1)
            correct += int(scores[0] > scores[1])
    Path(job["out"]).write_text(json.dumps({"seconds": seconds, "steps": output.global_step,
                                            "train_loss": output.training_loss, "correct": correct,
                                            "pairs": len(job["heldout"])}))


# ---- main ---------------------------------------------------------------------------------------


def main() -> None:
    args = parse_args()
    if args.peer_worker:
        peer_worker(args.peer_worker)
        return
    sys.path.insert(0, str(REPO))
    import torch

    from instructrl.models.reward import RewardModel
    from train.reward import accuracy_stats

    torch.set_num_threads(args.threads)
    workdir = Path(tempfile.mkdtemp(prefix="rm-bench-", dir=REPO / ".cache" if (REPO / ".cache").is_dir() else None))
    init_dir = workdir / "init"
    torch.manual_seed(args.seed)
    initial = RewardModel.load(args.model)  # the backbone + a fresh head, saved once so both start identical
    initial.save(init_dir)
    train, heldout = prepare(args, initial.tokenizer, workdir)
    del initial
    tokens = sum(len(a) for e in train for a in e.answers)
    print(f"training both on {len(train)} pairs ({tokens} tokens), {args.steps} steps of {args.batch_size}, "
          f"max length {args.max_length}, lr {args.lr}; {len(heldout)} held-out pairs; {args.threads} threads")

    ours = run_ours(args, init_dir, train, heldout, workdir)
    ours_stats = accuracy_stats(ours["correct"], ours["pairs"])
    ours_tps = tokens / ours["seconds"]
    print(f"ours: {ours['seconds']:.1f} s, {ours_tps:.1f} tokens/s, final loss {ours['train_loss']:.4f}, held-out "
          f"accuracy {ours_stats['accuracy']:.3f} (95 % CI {ours_stats['accuracy_ci_low']:.3f}-"
          f"{ours_stats['accuracy_ci_high']:.3f}, p = {ours_stats['p_value']:.3g} vs 50 %)")
    peer = None if args.skip_peer else run_peer(args, init_dir, train, heldout, workdir)
    result = {"bench": "rm_vs_trl", "ours": round(ours_tps, 2), "peer": None, "ratio": None, "unit": "tokens/s",
              "higher_is_better": True, "accuracy": round(ours_stats["accuracy"], 4),
              "accuracy_ci95": [round(ours_stats["accuracy_ci_low"], 4), round(ours_stats["accuracy_ci_high"], 4)],
              "p_value": ours_stats["p_value"], "heldout_pairs": ours["pairs"], "peer_accuracy": None,
              "train_pairs": len(train), "steps": args.steps, "max_length": args.max_length, "tokens": tokens,
              "ours_seconds": round(ours["seconds"], 2), "quick": args.quick, "peer_name": f"trl=={TRL_VERSION} RewardTrainer"}
    if peer is not None:
        peer_stats = accuracy_stats(peer["correct"], peer["pairs"])
        peer_tps = tokens / peer["seconds"]
        print(f"TRL:  {peer['seconds']:.1f} s, {peer_tps:.1f} tokens/s, final loss {peer['train_loss']:.4f}, held-out "
              f"accuracy {peer_stats['accuracy']:.3f} (p = {peer_stats['p_value']:.3g})")
        print(f"ratio (ours / TRL tokens/s): {ours_tps / peer_tps:.2f}")
        result.update(peer=round(peer_tps, 2), ratio=round(ours_tps / peer_tps, 3),
                      peer_accuracy=round(peer_stats["accuracy"], 4), peer_p_value=peer_stats["p_value"],
                      peer_seconds=round(peer["seconds"], 2))
    import shutil

    shutil.rmtree(workdir, ignore_errors=True)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
