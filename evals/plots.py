"""The paper's plots as PNG files (matplotlib, Agg backend, no display needed).

- win rate against the baseline by model size, one line per model type, 95 % CI bars (Fig. 1);
- grouped bars with CI whiskers for everything else: win rate per prompt category, metadata
  checks (Fig. 4), TruthfulQA per prompt type (Fig. 6) and toxicity per instruction variant (Fig. 7).
Functions take plain numbers, so they draw the same whatever produced them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (the backend must be chosen first)

# Paper-like colours per model type; other types cycle through the default palette.
TYPE_COLOURS = {"GPT": "#d62728", "GPT-prompted": "#ff7f0e", "SFT": "#2ca02c", "PPO": "#1f77b4",
                "PPO-ptx": "#9467bd", "remote": "#7f7f7f", "other": "#8c564b"}
TYPE_ORDER = list(TYPE_COLOURS)
Bar = tuple[float, float, float]  # value, CI low, CI high (NaN when unknown)


def human_size(parameters: float) -> str:
    """135000000 -> '135M'; 1.3e9 -> '1.3B'."""
    for unit, scale in (("T", 1e12), ("B", 1e9), ("M", 1e6), ("K", 1e3)):
        if parameters >= scale:
            value = parameters / scale
            return f"{value:.0f}{unit}" if value >= 10 or value == int(value) else f"{value:.1f}{unit}"
    return str(int(parameters))


def _colour(kind: str, index: int) -> str:
    return TYPE_COLOURS.get(kind, f"C{index % 10}")


def _errors(values: Sequence[float], lows: Sequence[float], highs: Sequence[float]) -> list[list[float]]:
    """matplotlib's [below, above] error lengths; zero where an interval is unknown."""
    below = [0.0 if math.isnan(lo) or math.isnan(v) else max(v - lo, 0.0) for v, lo in zip(values, lows)]
    above = [0.0 if math.isnan(hi) or math.isnan(v) else max(hi - v, 0.0) for v, hi in zip(values, highs)]
    return [below, above]


def winrate_by_size(rows: Sequence[dict], baseline: str, path: str | Path, judge: str = "") -> Path:
    """Win rate vs the baseline (y) by parameter count (x, log scale), a line per model type.

    ``rows``: dicts with type, size, win_rate, ci, n. With a single size the types are drawn as
    points side by side (dodged), each with its CI bar."""
    path = Path(path)
    sized = [r for r in rows if r.get("size") and not math.isnan(r["win_rate"])]
    kinds = sorted({r["type"] for r in sized}, key=lambda k: TYPE_ORDER.index(k) if k in TYPE_ORDER else 99)
    sizes = sorted({r["size"] for r in sized})
    fig, ax = plt.subplots(figsize=(6.4, 4.6), dpi=110)
    for k, kind in enumerate(kinds):
        points = sorted((r for r in sized if r["type"] == kind), key=lambda r: r["size"])
        dodge = 10 ** ((k - (len(kinds) - 1) / 2) * 0.035)  # spread types apart so CI bars do not overlap
        xs = [r["size"] * dodge for r in points]
        ys = [r["win_rate"] for r in points]
        yerr = _errors(ys, [r["ci"][0] for r in points], [r["ci"][1] for r in points])
        ax.errorbar(xs, ys, yerr=yerr, marker="o", markersize=7, capsize=4, linewidth=2,
                    color=_colour(kind, k),
                    label=f"{kind}: {points[0]['name']} (n={points[0]['n']})" if len(points) == 1 else kind)
    ax.axhline(0.5, color="black", linestyle="--", linewidth=1, alpha=0.6)
    ax.set_xscale("log")
    if sizes:
        ax.set_xticks(sizes)
        ax.set_xticklabels([human_size(s) for s in sizes])
        ax.minorticks_off()
        ax.set_xlim(sizes[0] / 2.2, sizes[-1] * 2.2)
    ax.set_ylim(-0.03, 1.03)  # points at 0 or 1 stay visible
    ax.set_xlabel("Model size (parameters)")
    ax.set_ylabel(f"Win rate against {baseline}")
    ax.set_title("Win rate against the baseline" + (f"\n(judge: {judge}; ties count ½; 95% bootstrap CI)" if judge else ""),
                 fontsize=10)
    ax.grid(True, alpha=0.3)
    unsized = [r["name"] for r in rows if not r.get("size")]
    if unsized:
        ax.text(0.01, 0.01, "not shown (size unknown): " + ", ".join(unsized), transform=ax.transAxes, fontsize=7)
    if kinds:
        ax.legend(title="model type", fontsize=8, loc="best")
    return _save(fig, path)


def grouped_bars(path: str | Path, groups: Sequence[str], series: dict[str, Sequence[Bar]], title: str,
                 ylabel: str, ylim: tuple[float, float] | None = (0, 1), hline: float | None = None,
                 colours: dict[str, str] | None = None, group_notes: Sequence[str] | None = None) -> Path:
    """Bars for each group on the x axis, one bar per series, with CI whiskers."""
    path = Path(path)
    width = 0.8 / max(len(series), 1)
    fig, ax = plt.subplots(figsize=(max(7.6, 2.2 + 0.33 * len(groups) * max(len(series), 1)), 4.6), dpi=110)
    for s, (name, bars) in enumerate(series.items()):
        values = [b[0] for b in bars]
        xs = [g + (s - (len(series) - 1) / 2) * width for g in range(len(groups))]
        shown = [0.0 if math.isnan(v) else v for v in values]
        ax.bar(xs, shown, width * 0.95, label=name, color=(colours or {}).get(name, f"C{s % 10}"),
               yerr=_errors(values, [b[1] for b in bars], [b[2] for b in bars]), capsize=3,
               error_kw={"linewidth": 1})
    labels = list(groups) if not group_notes else [f"{g}\n{n}" for g, n in zip(groups, group_notes)]
    ax.set_xticks(range(len(groups)))
    ax.set_xticklabels(labels, rotation=30 if len(groups) > 5 else 0, ha="right" if len(groups) > 5 else "center",
                       fontsize=8)
    if hline is not None:
        ax.axhline(hline, color="black", linestyle="--", linewidth=1, alpha=0.6)
    if ylim:
        low, high = ylim
        ax.set_ylim(low - 0.03 * (high - low), high + 0.03 * (high - low))
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10)
    ax.grid(True, axis="y", alpha=0.3)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0)  # never over a bar
    return _save(fig, path)


def reward_vs_kl(path: str | Path, curves: dict[str, Sequence[dict[str, float]]],
                 colours: dict[str, str] | None = None) -> Path:
    """Reward over-optimisation (Gao et al. 2022): proxy (reward-model) and gold score of each run's
    held-out answers against √KL to the SFT policy, one line per run, one point per measurement."""
    path = Path(path)
    panels = [("proxy", "proxy reward (reward model)")]
    if any(p.get("gold") is not None for points in curves.values() for p in points):
        panels.append(("gold", "gold score"))
    fig, axes = plt.subplots(1, len(panels), figsize=(5.2 * len(panels), 4.2), dpi=110, squeeze=False)
    for ax, (key, label) in zip(axes[0], panels):
        for index, (name, points) in enumerate(curves.items()):
            shown = [p for p in points if p.get(key) is not None]
            ax.plot([p["sqrt_kl"] for p in shown], [p[key] for p in shown], "o-", markersize=4, label=name,
                    color=(colours or {}).get(name, f"C{index % 10}"))
        ax.set_xlabel("√KL(π_RL ‖ π_SFT), nats")
        ax.set_ylabel(label)
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle("Reward over-optimisation: held-out answers during PPO", fontsize=10)
    return _save(fig, path)


def _save(fig, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, format="png")
    plt.close(fig)
    return path
