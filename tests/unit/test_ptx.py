"""The pretraining text of PPO as one object: PPO-ptx's per-step draw and the alignment-tax loss behind
one ``enabled`` switch, and the same numbers as its pure functions."""

from __future__ import annotations

import json
import random

import pytest
import torch

from instructrl.errors import InstructrlError
from instructrl.models.loading import load_causal_lm, load_tokenizer
from train.loop import pad_right
from train.ppo import PPOParams
from train.ptx import (
    Pretraining,
    pretrain_chunks,
    pretrain_documents,
    pretrain_loss,
    pretrain_nll,
    ptx_batch,
    ptx_enabled,
    ptx_shares,
)


@pytest.fixture(scope="module")
def tokenizer():
    return load_tokenizer("tiny-random")


@pytest.fixture
def corpus(tmp_path):
    path = tmp_path / "pretrain.jsonl"
    path.write_text("".join(json.dumps({"id": f"p{i}", "text": f"Document {i}. " + "The river runs to the sea. " * 3})
                            + "\n" for i in range(40)))
    return str(path)


def _pretraining(params: PPOParams, tokenizer, episodes: int = 8, seed: int = 3) -> Pretraining:
    return Pretraining.build(params, tokenizer, pretrain_documents(params), episodes, seed)


def test_plain_ppo_draws_no_pretraining_but_still_measures_the_alignment_tax(corpus, tokenizer):
    params = PPOParams(ptx_coef=0.0, ptx_data=corpus, ptx_max_length=16)
    pretraining = _pretraining(params, tokenizer)
    assert not pretraining.enabled and not ptx_enabled(params)
    assert pretraining.chunks == [] and pretraining.count == 0
    assert all(pretraining.step_batch(step, "cpu") is None for step in range(3))
    _, held_out = pretrain_documents(params)
    assert held_out and pretraining.held_out == pretrain_chunks(tokenizer, held_out, 16)
    lm = load_causal_lm("tiny-random")
    per_chunk, loss = pretraining.held_out_loss(lm)
    assert per_chunk == pretrain_nll(lm, pretraining.held_out, tokenizer.pad_token_id)
    assert loss == pytest.approx(sum(n for n, _ in per_chunk) / sum(t for _, t in per_chunk)) and loss > 0


def test_without_the_corpus_plain_ppo_has_no_held_out_loss_and_ppo_ptx_fails(tmp_path, tokenizer):
    missing = str(tmp_path / "absent.jsonl")
    pretraining = _pretraining(PPOParams(ptx_coef=0.0, ptx_data=missing), tokenizer)
    assert pretraining.held_out == [] and pretraining.held_out_loss(None) == ([], None)  # no forward pass
    assert pretrain_loss([]) is None
    with pytest.raises(InstructrlError):
        pretrain_documents(PPOParams(ptx_coef=27.8, ptx_data=missing))


def test_ppo_ptx_draws_the_step_batch_of_the_pure_functions(corpus, tokenizer):
    params = PPOParams(ptx_coef=27.8, ptx_per_episode=0.5, ptx_data=corpus, ptx_max_length=16)
    pretraining = _pretraining(params, tokenizer, episodes=8, seed=3)
    train, _ = pretrain_documents(params)
    chunks = pretrain_chunks(tokenizer, train, 16)
    assert pretraining.enabled and pretraining.chunks == chunks and pretraining.count == 4  # 0.5 x 8 episodes
    pad = tokenizer.pad_token_id
    ids, mask = pretraining.step_batch(5, "cpu")
    expected = ptx_batch(chunks, 5, 4, 3, pad, "cpu")
    assert torch.equal(ids, expected[0]) and torch.equal(mask, expected[1])
    rng = random.Random(3 * 7_919 + 5)  # by hand: step 5 of seed 3 draws its 4 chunks from this generator
    by_hand = pad_right([chunks[rng.randrange(len(chunks))] for _ in range(4)], pad, "cpu")
    assert torch.equal(ids, by_hand[0]) and torch.equal(mask, by_hand[1])
    assert not torch.equal(pretraining.step_batch(6, "cpu")[0], ids)  # another step, another draw
    shares = ptx_shares(pretraining.step_batch(5, "cpu"), 2)
    assert [share[0].tolist() for share in shares] == [ids[0::2].tolist(), ids[1::2].tolist()]
