"""Labelers: who ranks K answers to a prompt (``Labeler.rank``; 0 = best, equal = tie).

    get_labeler("gold")                      deterministic gold rules for the embedded instruction set
    get_labeler("noisy", flip=0.25)          the gold labeler with AlpacaFarm-style flips (training data)
    get_labeler("noisy:llm:M@URL")           noise around any other labeler
    get_labeler("llm:MODEL@URL")             an OpenAI-compatible chat endpoint as judge

Imports stay lazy: the sentence encoder and the toxicity model load on first use.
"""

from __future__ import annotations

from typing import Any

from instructrl.errors import ConfigError
from instructrl.labelers.base import Labeler, dense_ranks

KNOWN = {
    "gold": "deterministic constraints + reference similarity + penalties (instructrl.labelers.gold)",
    "noisy": "another labeler with each pairwise decision flipped (default: gold, flip 0.25); 'noisy:NAME'",
    "llm:MODEL@URL": "an OpenAI-compatible chat-completions endpoint ranks the answers",
}


def get_labeler(name: str, **opts: Any) -> Labeler:
    """A labeler by name (see the module doc); ``opts`` go to its constructor (e.g. flip, seed, api_key)."""
    if name == "gold":
        from instructrl.labelers.gold import GoldLabeler

        return GoldLabeler(**opts)
    if name == "noisy" or name.startswith("noisy:"):
        from instructrl.labelers.noise import NoisyLabeler

        inner = name.partition(":")[2] or "gold"
        noise_opts = {k: opts.pop(k) for k in ("flip", "seed") if k in opts}
        return NoisyLabeler(get_labeler(inner, **opts), **noise_opts)
    if name.startswith("llm:"):
        from instructrl.labelers.llm_judge import LLMLabeler
        from instructrl.remote import parse_remote

        remote = parse_remote(name, "llm")
        return LLMLabeler(remote.model, remote.url, **opts)
    raise ConfigError(f"unknown labeler {name!r}", "use one of: " + "; ".join(f"{k} ({v})" for k, v in KNOWN.items()))


__all__ = ["Labeler", "dense_ranks", "get_labeler", "KNOWN"]
