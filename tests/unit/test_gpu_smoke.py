"""The GPU smoke script's dry run: what CI can check of it on a machine without a GPU."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[2]


def test_gpu_smoke_dry_run_checks_every_config_and_exits_zero():
    flags = ["--dry-run"] if torch.cuda.is_available() else []  # without a GPU the plain call is the dry run
    done = subprocess.run(["bash", str(ROOT / "scripts" / "gpu_smoke.sh"), *flags], capture_output=True, text=True,
                          timeout=300, env={"PATH": str(Path(sys.executable).parent) + ":/usr/bin:/bin",
                                            "PYTHON": sys.executable})
    assert done.returncode == 0, done.stderr[-2000:]
    lines = done.stdout.splitlines()
    if not flags:
        assert lines[0].startswith("no CUDA GPU here: dry run only")
    configs = sorted(p.name for p in (ROOT / "configs" / "accelerate").glob("*.yaml"))
    assert [line.split()[1].rsplit("/", 1)[-1].rstrip(":") for line in lines if "configs/accelerate" in line] == configs
    for what in ("train sft settings", "train rm settings", "train ppo settings", "ppo gpu preset"):
        assert f"ok  {what}" in lines
