"""The remote rollout sampler's pure parts: per-request seeds, answer checks, and rollouts built from
returned token ids (prompt left padded, answer right padded and masked up to its end token)."""

from __future__ import annotations

import pytest
import torch

from instructrl.errors import ModelError
from instructrl.models.tiny import build_tiny_tokenizer
from instructrl.remote import TokenReply
from train.remote_rollout import adapter_name, checked_answer, row_seed
from train.rollout import encode_prompts, prompt_rows, samples_from_answers


def test_each_request_of_a_run_has_its_own_seed():
    seeds = {row_seed(seed, step, row) for seed in range(3) for step in range(50) for row in range(64)}
    assert len(seeds) == 3 * 50 * 64
    assert row_seed(1, 2, 3) == row_seed(1, 2, 3) and adapter_name(7) == "ppo-step-7"


def test_an_answer_ends_with_the_end_token_or_uses_its_budget():
    assert checked_answer(TokenReply((5, 6, 2), "stop"), eos_id=2, max_new_tokens=8) == (5, 6, 2)
    assert checked_answer(TokenReply((5, 6, 7), "length"), eos_id=2, max_new_tokens=3) == (5, 6, 7)
    with pytest.raises(ModelError, match="without the end token"):
        checked_answer(TokenReply((5, 6), "stop"), eos_id=2, max_new_tokens=8)  # e.g. a stop sequence
    with pytest.raises(ModelError, match="past the end token"):
        checked_answer(TokenReply((5, 2, 6), "length"), eos_id=2, max_new_tokens=3)


def test_samples_from_returned_token_ids():
    tokenizer = build_tiny_tokenizer()
    eos, pad = tokenizer.eos_token_id, tokenizer.pad_token_id
    enc = encode_prompts(tokenizer, ["ab", "abcd"], 64, "cpu")
    assert prompt_rows(enc) == [tokenizer("ab")["input_ids"], tokenizer("abcd")["input_ids"]]
    x, y = tokenizer("x")["input_ids"][0], tokenizer("y")["input_ids"][0]
    samples = samples_from_answers(tokenizer, enc, [(x, eos), (y, y, x)])
    assert samples.prompt_length == 4 and samples.sequences.shape == (2, 7)
    assert samples.sequences[0].tolist() == [pad, pad, *prompt_rows(enc)[0], x, eos, pad]
    assert samples.response_mask.tolist() == [[1, 1, 0], [1, 1, 1]]
    assert samples.ended.tolist() == [True, False] and samples.texts == ("x", "yyx")
    assert samples.attention_mask[0].tolist() == [0, 0, 1, 1, 1, 1, 0]
    assert torch.equal(samples.position_ids[0, 2:5], torch.tensor([0, 1, 2]))
