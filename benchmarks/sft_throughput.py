"""SFT throughput on the embedded model: instructrl's SFT loop vs TRL's SFTTrainer, same model,
batch, data and steps, in one process; plus the machine's fp32 matmul peak and our MFU.

    python benchmarks/sft_throughput.py [--quick] [--steps N] [--batch B] [--max-length T]

MFU = tokens/s x 6 x parameters / peak fp32 matmul FLOP/s (the usual model-FLOPs estimate; the
attention score FLOPs, small at these lengths, are left out). Needs `pip install trl==1.10.0`
for the peer (`pip install -e ".[bench]"`); without it the peer is reported as null.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import torch

MODEL = "smollm2-135m"


def matmul_peak(n: int = 2048, repeats: int = 10) -> float:
    """Measured fp32 matmul FLOP/s of this machine (best of ``repeats``)."""
    a, b = torch.randn(n, n), torch.randn(n, n)
    for _ in range(3):
        a @ b
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - start)
    return 2 * n**3 / best


def demonstrations(limit: int):
    from instructrl.data.loaders import load_records
    from instructrl.data.schemas import Demonstration

    return load_records("builtin", Demonstration, split="train", limit=limit).records


def ours(demos, steps: int, batch: int, max_length: int) -> dict:
    from instructrl.config import OptimConfig, RunConfig
    from instructrl.models.loading import load_causal_lm, load_tokenizer
    from train import sft
    from train.loop import fit

    tokenizer = load_tokenizer(MODEL)
    examples = [sft.encode(tokenizer, d, max_length) for d in demos]
    module = sft.CompletionLoss(load_causal_lm(MODEL))
    run = RunConfig(max_steps=steps, batch_size=batch, micro_batch_size=batch, eval_every=10**6,
                    save_every=10**6, resume=False)
    with tempfile.TemporaryDirectory() as tmp:
        result = fit(module, examples, [len(e.input_ids) for e in examples],
                     lambda chunk: sft.collate(chunk, tokenizer.pad_token_id), sft.loss_fn, run,
                     OptimConfig(lr=1e-5), Path(tmp), desc="ours")
    # fit counts padded tokens; count the real ones (as TRL's num_tokens does) from the order it used
    from train.loop import bucketed_order

    order = bucketed_order([len(e.input_ids) for e in examples], batch, 0, 0)[:steps]
    tokens = sum(len(examples[i].input_ids) for ids in order for i in ids)
    return {"tokens_per_s": tokens / result.wall_time_s, "seconds": result.wall_time_s, "tokens": tokens,
            "final_loss": result.train_loss}


def trl_peer(demos, steps: int, batch: int, max_length: int) -> dict | None:
    try:
        from trl import SFTConfig, SFTTrainer
    except ImportError:
        print("TRL is not installed (pip install trl==1.10.0): peer skipped")
        return None
    from datasets import Dataset

    from instructrl.chat import format_answer, format_prompt
    from instructrl.models.loading import load_causal_lm, load_tokenizer

    tokenizer = load_tokenizer(MODEL)
    rows = [{"prompt": format_prompt(tokenizer, d.prompt), "completion": format_answer(tokenizer, d.completion)}
            for d in demos]
    with tempfile.TemporaryDirectory() as tmp:
        args = SFTConfig(output_dir=tmp, per_device_train_batch_size=batch, max_steps=steps, learning_rate=1e-5,
                         max_length=max_length, logging_steps=1, save_strategy="no", report_to=[], use_cpu=True,
                         bf16=False, fp16=False, dataloader_num_workers=0, completion_only_loss=True, packing=False,
                         seed=0, disable_tqdm=False)
        trainer = SFTTrainer(model=load_causal_lm(MODEL), args=args, train_dataset=Dataset.from_list(rows),
                             processing_class=tokenizer)
        start = time.perf_counter()
        trainer.train()
        seconds = time.perf_counter() - start
    logged = [h for h in trainer.state.log_history if "num_tokens" in h]
    tokens = int(logged[-1]["num_tokens"]) if logged else None
    loss = next((h["loss"] for h in reversed(trainer.state.log_history) if "loss" in h), None)
    return {"tokens_per_s": tokens / seconds if tokens else None, "seconds": seconds, "tokens": tokens, "final_loss": loss}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a short smoke run (about a minute)")
    parser.add_argument("--steps", type=int, default=None)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--max-length", type=int, default=256)
    args = parser.parse_args()
    steps = args.steps or (2 if args.quick else 10)
    batch = 4 if args.quick else args.batch
    max_length = 128 if args.quick else args.max_length

    peak = matmul_peak()
    print(f"fp32 matmul peak: {peak / 1e9:.1f} GFLOP/s")
    demos = demonstrations(limit=steps * batch * 4)
    from instructrl.models.loading import load_causal_lm

    params = sum(p.numel() for p in load_causal_lm(MODEL).parameters())
    mine = ours(demos, steps, batch, max_length)
    mfu = mine["tokens_per_s"] * 6 * params / peak
    print(f"ours: {mine['tokens_per_s']:.1f} tokens/s over {steps} steps of {batch} (MFU {mfu:.2f})")
    peer = trl_peer(demos, steps, batch, max_length)
    peer_tps = peer["tokens_per_s"] if peer else None
    if peer_tps:
        print(f"TRL SFTTrainer: {peer_tps:.1f} tokens/s ({peer['seconds']:.1f} s)")
    ratio = mine["tokens_per_s"] / peer_tps if peer_tps else None
    print(json.dumps({
        "bench": "sft_throughput", "ours": round(mine["tokens_per_s"], 2),
        "peer": round(peer_tps, 2) if peer_tps else None, "ratio": round(ratio, 3) if ratio else None,
        "unit": "tokens/s", "higher_is_better": True, "mfu": round(mfu, 3),
        "peak_gflops": round(peak / 1e9, 1), "params": params, "steps": steps, "batch": batch,
        "max_length": max_length, "quick": args.quick, "ours_detail": mine, "peer_detail": peer,
    }))


if __name__ == "__main__":
    main()
