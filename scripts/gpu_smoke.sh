#!/usr/bin/env bash
# GPU smoke test (about 8 minutes on one modern GPU): SFT of the embedded SmolLM2-135M under DeepSpeed
# ZeRO-2, a small comparison set and reward model, then a few PPO steps; prints tokens/s, samples/s and
# the peak GPU memory of each stage as JSON lines.
#
#   bash scripts/gpu_smoke.sh             # on a machine with a CUDA GPU (needs: pip install deepspeed)
#   bash scripts/gpu_smoke.sh --dry-run   # anywhere: check the accelerate configs and stage presets parse
#
# Without a CUDA GPU the script says so, runs the dry run and exits 0. Work goes to $SMOKE_DIR
# (default: a fresh temporary folder); set SMOKE_GPUS to use more than one GPU.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-$( [ -x .venv/bin/python ] && echo .venv/bin/python || echo python3 )}
OUT=${SMOKE_DIR:-$(mktemp -d -t instructrl-smoke-XXXX)}
GPUS=${SMOKE_GPUS:-1}
export INSTRUCTRL_CHECKPOINTS="$OUT/checkpoints"

# The settings of each stage: small, so that the whole script fits its budget.
SFT=(--preset cpu --set model.dtype=bfloat16 --set run.mixed_precision=bf16 --set run.max_steps=30
     --set run.batch_size=$((8 * GPUS)) --set run.micro_batch_size=8 --set run.run_dir="$OUT/runs/sft" --output sft)
COMPARE=(--model sft --k 4 --limit 64 --max-new-tokens 64 --batch-size 64 --out "$OUT/comparisons.jsonl")
RM=(--preset cpu --data "$OUT/comparisons.jsonl" --set run.max_steps=8 --set run.batch_size=$((8 * GPUS))
    --set run.micro_batch_size=8 --set run.run_dir="$OUT/runs/rm" --output rm)
PPO=(--preset cpu --set model.dtype=bfloat16 --set run.max_steps=5 --set run.batch_size=$((16 * GPUS))
     --set run.micro_batch_size=16 --set ppo.gold_every=0 --set run.run_dir="$OUT/runs/ppo" --output ppo)

dry_run() {
  "$PY" - <<'PY'
from pathlib import Path

from accelerate.commands.config.config_args import load_config_from_file

for path in sorted(Path("configs/accelerate").glob("*.yaml")):
    config = load_config_from_file(str(path))
    print(f"ok  {path}: {config.distributed_type.value}")
PY
  "$PY" -m instructrl.cli train sft "${SFT[@]}" --print-config > /dev/null && echo "ok  train sft settings"
  "$PY" -m instructrl.cli train rm "${RM[@]}" --print-config > /dev/null && echo "ok  train rm settings"
  "$PY" -m instructrl.cli train ppo "${PPO[@]}" --print-config > /dev/null && echo "ok  train ppo settings"
  for stage in sft rm ppo; do
    "$PY" -m instructrl.cli train "$stage" --preset gpu --print-config > /dev/null && echo "ok  $stage gpu preset"
  done
}

if [ "${1:-}" = "--dry-run" ] || ! "$PY" -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)"; then
  [ "${1:-}" = "--dry-run" ] || echo "no CUDA GPU here: dry run only (the configs and settings are checked, nothing is trained)"
  dry_run
  exit 0
fi
"$PY" -c "import deepspeed" 2>/dev/null || { echo "error: DeepSpeed is not installed; pip install deepspeed" >&2; exit 2; }

# the peak GPU memory of a command: nvidia-smi sampled every 200 ms in the background
peak_of() {
  local log="$OUT/$1.mem"; shift
  nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits -lms 200 > "$log" &
  local watcher=$!
  "$@"
  kill "$watcher"
}
mkdir -p "$OUT"
peak_of sft accelerate launch --config_file configs/accelerate/zero2.yaml --num_processes "$GPUS" \
  -m instructrl.cli train sft "${SFT[@]}"
peak_of compare "$PY" -m instructrl.cli data compare "${COMPARE[@]}"
peak_of rm accelerate launch --config_file configs/accelerate/ddp.yaml --num_processes "$GPUS" \
  -m instructrl.cli train rm "${RM[@]}"
peak_of ppo accelerate launch --config_file configs/accelerate/ddp.yaml --num_processes "$GPUS" \
  -m instructrl.cli train ppo "${PPO[@]}"

"$PY" - "$OUT" $((16 * GPUS)) <<'PY'
import json
import sys
from pathlib import Path

out, batch = Path(sys.argv[1]), int(sys.argv[2])  # batch: PPO's run.batch_size above


def metrics(stage):
    path = out / "runs" / stage / "metrics.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def peak_gib(stage):
    used = [int(v) for v in (out / f"{stage}.mem").read_text().split() if v.isdigit()]
    return round(max(used, default=0) / 1024, 2)


sft = [m for m in metrics("sft") if "train/tokens_per_s" in m]
rm = [m for m in metrics("rm") if "train/tokens_per_s" in m]
ppo = [m for m in metrics("ppo") if "time/generate" in m]
print(json.dumps({"stage": "sft", "zero": 2, "tokens_per_s": sft[-1]["train/tokens_per_s"] if sft else None,
                  "peak_gpu_gib": peak_gib("sft")}))
print(json.dumps({"stage": "rm", "tokens_per_s": rm[-1]["train/tokens_per_s"] if rm else None,
                  "peak_gpu_gib": peak_gib("rm")}))
steps = ppo[1:] or ppo  # the first step includes warm-up
seconds = sum(m["time/generate"] + m["time/score"] + m["time/optimise"] for m in steps)
generate = sum(m["time/generate"] for m in steps)
print(json.dumps({"stage": "ppo", "steps": len(ppo), "batch_size": batch,
                  "samples_per_s_generate": round(len(steps) * batch / generate, 2) if generate else None,
                  "episodes_per_s": round(len(steps) * batch / seconds, 2) if seconds else None,
                  "peak_gpu_gib": peak_gib("ppo")}))
PY
