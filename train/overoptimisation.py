"""The reward over-optimisation curve of a PPO run (Gao et al. 2022): at fixed steps the policy answers
a fixed set of held-out prompts greedily, and the reward model (the proxy) and the gold labeler score
the answers. Its points, against √KL and against step, are saved as ``overoptimisation.json`` and
``.png`` in the run folder and the checkpoint.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import TYPE_CHECKING

import torch
from torch import nn

from instructrl.chat import format_prompt
from instructrl.data.schemas import EvalItem
from train.actor_critic import Models, sampling_model
from train.rollout import sample

if TYPE_CHECKING:
    from train.ppo import PPOParams

CURVE_FILE = "overoptimisation"
MEASURED = ("proxy", "gold")  # what a point measures, beside its step, KL and √KL


def gold_labeler(params: PPOParams):
    """The labeler that gives the curve's gold scores (None: the proxy reward only)."""
    if not params.gold_labeler or not params.gold_prompts:
        return None
    from instructrl.labelers import get_labeler

    return get_labeler(params.gold_labeler)


def curve_point(step: int, kl: float, policy: nn.Module, models: Models, items: list[EvalItem], params: PPOParams,
                labeler) -> dict[str, float]:
    """One point of the curve: the step, the policy's KL to SFT then (nats per answer) and ``measure_gold``."""
    return {"step": step, "kl": kl, "sqrt_kl": math.sqrt(max(kl, 0.0)),
            **measure_gold(policy, models, items, params, labeler)}


def curve_ends(points: list[dict[str, float]]) -> dict[str, float]:
    """The first and last points' measurements, as ``proxy_start`` ... ``gold_end`` (for the card)."""
    return {**{f"{k}_start": v for k, v in (points[0].items() if points else []) if k in MEASURED},
            **{f"{k}_end": v for k, v in (points[-1].items() if points else []) if k in MEASURED}}


@torch.no_grad()
def measure_gold(policy: nn.Module, models: Models, items: list[EvalItem], params: PPOParams, labeler) -> dict[str, float]:
    """Greedy answers to the fixed held-out prompts: mean proxy (RM) reward and mean gold score."""
    if not items:
        return {}
    texts = [format_prompt(models.tokenizer, i.prompt) for i in items]
    answers: list[str] = []
    sampler = sampling_model(models, policy)
    for start in range(0, len(texts), 16):
        answers.extend(sample(sampler, models.tokenizer, texts[start:start + 16], params.max_prompt_tokens,
                              params.max_new_tokens, 0.0).texts)
    proxy = models.reward.score([i.prompt for i in items], [a or " " for a in answers])
    out = {"proxy": sum(proxy) / len(proxy)}
    if labeler is not None:
        gold = [labeler.score(item, answer) for item, answer in zip(items, answers)]
        out["gold"] = sum(gold) / len(gold)
    return out


def draw_curve(points: list[dict[str, float]], path: Path) -> None:
    """Proxy vs gold reward against √KL and against step (Gao et al. 2022 plot both)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for ax, x_key, label in ((axes[0], "sqrt_kl", "√KL(π_RL ‖ π_SFT), nats"), (axes[1], "step", "PPO step")):
        xs = [p[x_key] for p in points]
        ax.plot(xs, [p["proxy"] for p in points], "o-", label="proxy (reward model)")
        if all("gold" in p for p in points):
            twin = ax.twinx()
            twin.plot(xs, [p["gold"] for p in points], "s--", color="tab:orange", label="gold labeler")
            twin.set_ylabel("gold score")
            twin.legend(loc="lower right")
        ax.set_xlabel(label)
        ax.set_ylabel("proxy reward")
        ax.legend(loc="upper left")
    fig.suptitle("Reward over-optimisation: proxy vs gold on held-out prompts")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def write_curve(points: list[dict[str, float]], folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{CURVE_FILE}.json").write_text(json.dumps(points, indent=1))
    if points:
        draw_curve(points, folder / f"{CURVE_FILE}.png")
