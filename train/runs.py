"""What every stage does around its training loop: name the run, say what it will do, and write
the checkpoint from the main process only.

A run's default name is ``<stage>-<model>-<hash of config and data>``: the same command names the
same run, so running it again resumes an interrupted run or returns the finished checkpoint."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from instructrl.checkpoints import Card, Checkpoint, Registry
from instructrl.config import to_dict


@dataclass(frozen=True)
class RunIdentity:
    name: str
    run_dir: Path


def run_identity(stage: str, config, data_fingerprint: str) -> RunIdentity:
    settings = to_dict(config)
    run = settings.pop("run")
    # knobs that do not change the result stay out of the name
    for key in ("output", "run_dir", "resume", "threads", "eval_every", "save_every", "log_every"):
        run.pop(key, None)
    if run.get("mixed_precision") == "no":  # the default leaves names from before the setting unchanged
        run.pop("mixed_precision")
    # PPO's generation backend: where rollouts are sampled (the URL, key and folder do not change them)
    generation = settings.pop("generation", None)
    if generation is not None and generation["backend"] != "local":
        settings["generation"] = {"backend": generation["backend"]}
    digest = hashlib.sha256(json.dumps([settings, run, data_fingerprint], sort_keys=True, default=str).encode())
    model = Path(config.model.name).name.removesuffix(".gguf")
    name = config.run.output or f"{stage}-{model}-{digest.hexdigest()[:8]}"
    run_dir = Path(config.run.run_dir) if config.run.run_dir else Path("runs") / name
    return RunIdentity(name, run_dir)


def finished_run(registry: Registry, identity: RunIdentity) -> Checkpoint | None:
    """The checkpoint this run already wrote, checked against its card's content hash (a changed or
    cut-short file is refused, naming the checkpoint and the fix), or None when it has not finished."""
    if registry.find(identity.name) is None:
        return None
    done = registry.verify(identity.name)
    print(f"{identity.name} is already trained: {done.path}")
    return done


def start_run(run) -> float:
    """What every stage does first: CPU threads and the seed from ``run`` (a RunConfig); returns the
    start time for the card's wall time."""
    import random
    import time

    import torch

    if run.threads:
        torch.set_num_threads(run.threads)
    torch.manual_seed(run.seed)
    # the saved state restores Python's RNG too, so seed it: unseeded, two runs of one command started
    # from different states and anything drawing from `random` (a library, a future data sampler) differed
    random.seed(run.seed)
    return time.perf_counter()


def process_state():
    """accelerate's state of this process, created CPU-aware. The first call fixes it for the whole
    process: a plain ``PartialState()`` on a machine without CUDA settles on one process even under
    ``torchrun --nproc_per_node 2``, and every later ``Accelerator(cpu=True)`` then inherits that, so
    each process trained alone on all the data and all but one failed to write the checkpoint."""
    import torch
    from accelerate import PartialState

    return PartialState(cpu=not torch.cuda.is_available())


def announce(stage: str, identity: RunIdentity, lines: list[str]) -> None:
    state = process_state()
    if state.is_main_process:
        print(f"[{stage}] run {identity.name} (logs and resumable state in {identity.run_dir})")
        if state.num_processes > 1:
            print(f"[{stage}] {state.num_processes} processes ({state.distributed_type.value}), "
                  "the loss normalised over the global batch")
        for line in lines:
            print(f"[{stage}] {line}")


def write_checkpoint(registry: Registry, card: Card, save: Callable[[Path], None]) -> Checkpoint:
    """Write from the main process; the others wait and then read the same checkpoint."""
    state = process_state()
    checkpoint = registry.write(card, save) if state.is_main_process else None
    state.wait_for_everyone()
    return checkpoint or registry.get(card.name)
