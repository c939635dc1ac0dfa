"""Sampling from a sharded policy when one process's answers end before the other's: run in 2 CPU
processes with FSDP's variables (``tests/launch.py``) by tests/integration/test_ppo_stage.py.

    python -m torch.distributed.run --standalone --nproc_per_node 2 -m tests.fsdp_sampling OUT_DIR

Every forward pass of the sharded model gathers each layer's weights from both processes, so both
must run the same number of them. Process 0's end token is the first token its answers choose (both
of its answers end at once), process 1's is one its answers never choose (they run the whole budget):
decoding with ``train.sharding.all_finished`` keeps process 0 stepping (on padding) until process 1 is
done. Each process writes ``rank<N>.json``: its forward count and whether its answers equal those of
its own unsharded copy of the policy."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import torch
from torch import nn

BUDGET = 6  # new tokens


def main(out: Path) -> None:
    from accelerate import Accelerator

    from instructrl.chat import format_prompt
    from instructrl.models.decoding import decode
    from instructrl.models.loading import load_causal_lm, load_tokenizer
    from train import sharding
    from train.actor_critic import ActorCritic, ValueHead
    from train.rollout import encode_prompts

    accelerator = Accelerator(cpu=True)
    rank = accelerator.process_index
    tokenizer = load_tokenizer("tiny-random")
    policy = load_causal_lm("tiny-random")
    module = ActorCritic(policy, ValueHead(None, nn.Linear(policy.config.hidden_size, 1)), 1.0)
    questions = ["Say one.", "Say one."] if rank == 0 else ["Count to three.", "Name a colour."]
    enc = encode_prompts(tokenizer, [format_prompt(tokenizer, q) for q in questions], 64, "cpu")
    prompt_length = enc["input_ids"].shape[1]
    pad = tokenizer.pad_token_id

    def answers(model, eos: int, finished=None) -> torch.Tensor:
        return decode(model, enc["input_ids"], enc["attention_mask"], BUDGET, eos_token_id=eos, pad_token_id=pad,
                      finished=finished)[:, prompt_length:]

    free = answers(policy, eos=-1)  # greedy, never ending: the whole budget
    unused = next(t for t in range(len(tokenizer)) if t != pad and t not in free.tolist()[0] + free.tolist()[1])
    eos = int(free[0, 0]) if rank == 0 else unused
    alone = answers(policy, eos)  # this process's unsharded copy: process 0 stops after one token
    sharded = sharding.training_copy(module, accelerator)
    assert sharding.is_sharded(sharded)
    forwards = []
    sharded.register_forward_hook(lambda *_: forwards.append(1))
    together = answers(sharding.Through(sharded, "policy"), eos, sharding.all_finished)
    width = alone.shape[1]
    same = torch.equal(together[:, :width], alone) and bool((together[:, width:] == pad).all())
    (out / f"rank{rank}.json").write_text(json.dumps({"forwards": len(forwards), "alone_tokens": width,
                                                      "tokens": together.shape[1], "same": same}))


if __name__ == "__main__":
    main(Path(sys.argv[1]))
