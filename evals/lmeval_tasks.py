"""lm-evaluation-harness's own TruthfulQA MC1 / MC2 tasks, run offline on a local set of questions.

lm-eval reads TruthfulQA from the hub. ``write_lmeval_tasks`` writes the questions as a JSON file and two
task files that include lm-eval's installed ``truthfulqa_mc1`` / ``truthfulqa_mc2`` definitions
unchanged, swapping only the dataset; ``run_lmeval`` runs them on any lm-eval model (its in-process
``hf`` model, or ``local-completions`` pointed at ``instructrl serve``) and returns per-question scores.
Used by the TruthfulQA benchmark (lm-eval as the peer) and by the test that lm-eval, as a client of the
server, gets the numbers its in-process model gets. Needs ``lm-eval`` (``pip install -e '.[bench]'``).
"""

from __future__ import annotations

import json
from pathlib import Path


def write_lmeval_tasks(items, folder: Path, tag: str = "") -> dict[str, str]:
    """A local JSON copy of ``items`` and two task YAMLs that include lm-eval's own TruthfulQA MC task
    files, swapping only the dataset. Returns {our metric name: lm-eval task name}."""
    import lm_eval

    data = folder / f"truthfulqa_mc{tag}.json"
    data.write_text(json.dumps([item.to_row() for item in items]))
    installed = Path(lm_eval.__file__).parent / "tasks" / "truthfulqa"
    tasks = {}
    for metric in ("mc1", "mc2"):
        name = f"instructrl_truthfulqa_{metric}{tag}"
        (folder / f"{name}.yaml").write_text(
            f"include: {installed / f'truthfulqa_{metric}.yaml'}\n"
            f"task: {name}\n"
            "tag: []\n"
            "dataset_path: json\n"
            "dataset_name: null\n"
            "dataset_kwargs:\n"
            f"  data_files:\n    validation: {data}\n")
        tasks[metric] = name
    return tasks


def run_lmeval(model, tasks: dict[str, str], manager) -> dict[str, list[float]]:
    """Per-question scores from lm-eval's evaluator for each task."""
    from lm_eval import simple_evaluate

    out = simple_evaluate(model=model, tasks=list(tasks.values()), task_manager=manager,
                          log_samples=True, num_fewshot=0, bootstrap_iters=0)
    per_question = {}
    for metric, task in tasks.items():
        samples = sorted(out["samples"][task], key=lambda s: s["doc_id"])
        per_question[metric] = [float(s["acc"]) for s in samples]
    return per_question
