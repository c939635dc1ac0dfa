"""The pretraining text of PPO: PPO-ptx's mix of language-modelling sequences into every optimiser step
(Ouyang et al. 2022, eq. 2, the γ_ptx term) and the held-out pretraining loss that measures the
alignment tax, for plain PPO too.

``Pretraining`` holds both, built once per run; its ``enabled`` (γ_ptx > 0: ``ptx_enabled``) is the one
switch between PPO and PPO-ptx. The pure functions it calls (the step's draw, the processes' shares,
the per-chunk NLL) stand on their own below it.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch
from torch import nn

from instructrl.data.loaders import load_records
from instructrl.data.schemas import PretrainText
from instructrl.errors import ConfigError, InstructrlError
from train.actor_critic import lm_token_logprobs
from train.loop import pad_right

if TYPE_CHECKING:
    from train.ppo import PPOParams

TAX_FILE = "alignment_tax"  # held-out pretraining NLL per chunk, [sum, tokens], of SFT and the released policy
Batch = tuple[torch.Tensor, torch.Tensor]  # right-padded token ids and attention mask, [N, L] each


def ptx_enabled(params: PPOParams) -> bool:
    """PPO-ptx (a pretraining term in the loss) rather than plain PPO."""
    return params.ptx_coef > 0


@dataclass(frozen=True)
class Pretraining:
    """A run's pretraining sequences: the training ones drawn into each step (PPO-ptx only) and the
    held-out ones whose loss is the alignment tax (whenever the corpus is there)."""

    enabled: bool  # PPO-ptx; when off, ``chunks`` is empty and ``step_batch`` gives None
    chunks: list[list[int]]  # training sequences of at most ptx_max_length tokens
    held_out: list[list[int]]  # held-out sequences (empty: no alignment-tax measurement)
    count: int  # sequences per optimiser step, the whole step's (``ptx_shares`` deals them out)
    seed: int
    pad_id: int

    @classmethod
    def build(cls, params: PPOParams, tokenizer, documents: tuple[list[PretrainText], list[PretrainText]],
              episodes: int, seed: int) -> Pretraining:
        """From ``pretrain_documents(params)``, tokenized; ``episodes``: RL episodes per optimiser step."""
        train, held_out = documents
        on = ptx_enabled(params)
        return cls(on, pretrain_chunks(tokenizer, train, params.ptx_max_length) if on else [],
                   pretrain_chunks(tokenizer, held_out, params.ptx_max_length), ptx_sequences(params, episodes),
                   seed, tokenizer.pad_token_id)

    def step_batch(self, step: int, device) -> Batch | None:
        """The pretraining sequences of optimiser step ``step`` (None for plain PPO), the same on every process."""
        if not self.enabled:
            return None
        return ptx_batch(self.chunks, step, self.count, self.seed, self.pad_id, device)

    def held_out_loss(self, policy: nn.Module) -> tuple[list[tuple[float, int]], float | None]:
        """``policy``'s held-out pretraining NLL: per chunk ([sum, tokens], see ``pretrain_nll``) and per
        token (None without held-out text)."""
        per_chunk = pretrain_nll(policy, self.held_out, self.pad_id) if self.held_out else []
        return per_chunk, pretrain_loss(per_chunk)


def pretrain_documents(params: PPOParams) -> tuple[list[PretrainText], list[PretrainText]]:
    """Training documents for the ptx term (only for PPO-ptx) and held-out ones for the alignment tax
    (also for plain PPO when the corpus is available, so both stages report the same measurement)."""
    on = ptx_enabled(params)
    try:
        train = load_records(params.ptx_data, PretrainText, split="train").records if on else []
        held_out = load_records(params.ptx_data, PretrainText, split="validation", limit=params.ptx_eval_docs).records
    except InstructrlError:
        if on:
            raise
        return [], []  # plain PPO without the corpus: no alignment-tax measurement
    if on and not train:
        raise ConfigError(f"ppo.ptx_data {params.ptx_data!r} has no training documents",
                          "point ppo.ptx_data at a corpus of {'text': ...} rows")
    return train, held_out


def pretrain_chunks(tokenizer, docs: list[PretrainText], length: int) -> list[list[int]]:
    """Each document cut into pieces of at most ``length`` tokens, end token appended to its last piece."""
    chunks = []
    for doc in docs:
        ids = tokenizer(doc.text, add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id]
        chunks.extend(ids[i:i + length] for i in range(0, len(ids), length) if len(ids[i:i + length]) > 1)
    return chunks


def ptx_sequences(params: PPOParams, episodes: int) -> int:
    """Pretraining sequences per optimiser step for ``episodes`` RL episodes (at least one for PPO-ptx)."""
    if not ptx_enabled(params):
        return 0
    return max(1, round(params.ptx_per_episode * episodes))


def ptx_batch(chunks: list[list[int]], step: int, count: int, seed: int, pad_id: int, device) -> Batch | None:
    """The pretraining sequences of step ``step`` (a fixed function of step and seed) or None: the
    whole step's, the same on every process (``ptx_shares`` deals them out)."""
    if not chunks or count == 0:
        return None
    rng = random.Random(seed * 7_919 + step)
    return pad_right([chunks[rng.randrange(len(chunks))] for _ in range(count)], pad_id, device)


def ptx_shares(ptx: Batch | None, minibatches: int, rank: int = 0, world: int = 1) -> list[Batch | None] | None:
    """This process's part of each optimiser step's pretraining sequences (None for a step with none).

    Sequence g of the step's batch goes to minibatch g mod ``minibatches``, whatever the process count,
    and a minibatch's sequences are dealt out over the processes in turn. Every process gets as many
    rows (one left short takes filler rows with nothing to predict): a forward pass of a sharded model
    is collective, so all processes must run the ptx pass, with the same number of layers' calls."""
    if ptx is None:
        return None
    ids, mask = ptx
    shares: list[Batch | None] = []
    for minibatch in range(minibatches):
        rows = torch.arange(ids.shape[0])[minibatch::minibatches]
        if not len(rows):
            shares.append(None)
            continue
        mine, width = rows[rank::world], -(-len(rows) // world)
        part_ids, part_mask = ids[mine], mask[mine]
        if len(mine) < width:  # filler: one attended token (no fully masked row), no target
            filler = mask.new_zeros((width - len(mine), mask.shape[1]))
            filler[:, 0] = 1
            part_ids = torch.cat([part_ids, ids.new_zeros(filler.shape)])
            part_mask = torch.cat([part_mask, filler])
        shares.append((part_ids, part_mask))
    return shares


@torch.no_grad()
def pretrain_nll(policy: nn.Module, chunks: list[list[int]], pad_id: int, batch: int = 8) -> list[tuple[float, int]]:
    """Per held-out pretraining chunk: its summed NLL and its predicted-token count. Their ratio is the
    loss per token; the alignment tax shows as its rise over SFT (``pretrain_loss``)."""
    device = next(policy.parameters()).device
    out: list[tuple[float, int]] = []
    for start in range(0, len(chunks), batch):
        ids, mask = pad_right(chunks[start:start + batch], pad_id, device)
        logprobs = lm_token_logprobs(policy, ids, mask) * mask[:, 1:]
        out.extend(zip((-logprobs.sum(dim=1)).tolist(), mask[:, 1:].sum(dim=1).tolist()))
    return out


def pretrain_loss(per_chunk: list[tuple[float, int]]) -> float | None:
    """Mean NLL per token over the chunks of ``pretrain_nll`` (None without any)."""
    if not per_chunk:
        return None
    return sum(nll for nll, _ in per_chunk) / max(sum(tokens for _, tokens in per_chunk), 1)
