"""How tests start a stage in N CPU processes: torch's own launcher, which ``accelerate launch`` runs
under the hood for multi-process jobs. (``accelerate launch --cpu --num_processes 2`` starts one
process on a machine without GPUs, so a test written with it compares one process with itself.)"""

from __future__ import annotations

import sys


def cpu_processes(n: int) -> list[str]:
    """The command prefix that runs ``-m MODULE ...`` in ``n`` processes on this machine."""
    return [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", str(n)]
