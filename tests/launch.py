"""How tests start a stage in N CPU processes: torch's own launcher, which ``accelerate launch`` runs
under the hood for multi-process jobs. (``accelerate launch --cpu --num_processes 2`` starts one
process on a machine without GPUs, so a test written with it compares one process with itself.)"""

from __future__ import annotations

import sys
from pathlib import Path


def cpu_processes(n: int) -> list[str]:
    """The command prefix that runs ``-m MODULE ...`` in ``n`` processes on this machine."""
    return [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", str(n)]


def fsdp_env() -> dict[str, str]:
    """What ``accelerate launch --config_file configs/accelerate/fsdp.yaml`` puts in the environment of
    each process (the variables train.sharding reads), taken from that shipped config."""
    import yaml

    config = yaml.safe_load((Path(__file__).resolve().parents[1] / "configs" / "accelerate" / "fsdp.yaml").read_text())
    fsdp = config["fsdp_config"]
    return {"ACCELERATE_USE_FSDP": "true", "FSDP_VERSION": str(fsdp["fsdp_version"]),
            "FSDP_TRANSFORMER_CLS_TO_WRAP": fsdp["fsdp_transformer_layer_cls_to_wrap"],
            "FSDP_RESHARD_AFTER_FORWARD": str(fsdp["fsdp_reshard_after_forward"]).lower()}
