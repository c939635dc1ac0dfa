"""The shared decoding loop: its sampler against hand-computed distributions, and its output against
transformers' ``generate`` on the tiny random model."""

from __future__ import annotations

import pytest
import torch

from instructrl.models.decoding import decode, next_tokens


def _frequencies(logits: torch.Tensor, draws: int, **kwargs) -> torch.Tensor:
    generator = torch.Generator().manual_seed(0)
    chosen = next_tokens(logits.expand(draws, -1), generator=generator, **kwargs)
    return torch.bincount(chosen, minlength=logits.shape[-1]).float() / draws


def test_greedy_is_the_argmax_of_each_row():
    logits = torch.tensor([[0.1, 2.0, -1.0], [3.0, 0.0, 2.9]])
    assert next_tokens(logits, temperature=0.0).tolist() == [1, 0]


def test_sampling_follows_the_softmax_at_the_temperature():
    probs = torch.tensor([0.5, 0.3, 0.2, 0.0])
    logits = torch.log(probs.clamp(min=1e-30))[None]
    freq = _frequencies(logits, 40_000, temperature=1.0)
    assert freq.tolist() == pytest.approx([0.5, 0.3, 0.2, 0.0], abs=0.01)
    assert freq[3] == 0  # a token of zero mass is never drawn
    # temperature 2 on log-probs takes square roots: 0.5^.5, 0.3^.5, 0.2^.5 normalised = 0.42, 0.32, 0.26
    hot = _frequencies(logits, 40_000, temperature=2.0)
    assert hot[:3].tolist() == pytest.approx([0.4192, 0.3247, 0.2651], abs=0.01)


def test_top_p_keeps_the_smallest_nucleus_and_renormalises():
    logits = torch.log(torch.tensor([[0.2, 0.5, 0.3]]))
    # sorted 0.5, 0.3, 0.2: mass before each is 0, 0.5, 0.8; top_p 0.6 keeps 0.5 and 0.3 -> 5/8 and 3/8
    freq = _frequencies(logits, 40_000, temperature=1.0, top_p=0.6)
    assert freq.tolist() == pytest.approx([0.0, 0.625, 0.375], abs=0.01)
    assert _frequencies(logits, 1_000, temperature=1.0, top_p=0.1).tolist() == [0.0, 1.0, 0.0]


def test_greedy_decode_equals_transformers_generate(tiny_policy):
    from transformers import GenerationConfig

    tok, model = tiny_policy.tokenizer, tiny_policy.model
    tok.padding_side = "left"
    enc = tok(["hello there", "a much longer prompt about rivers", "x"], return_tensors="pt", padding=True,
              add_special_tokens=False)
    ours = decode(model, enc["input_ids"], enc["attention_mask"], 14, eos_token_id=tok.eos_token_id,
                  pad_token_id=tok.pad_token_id)
    config = GenerationConfig(max_new_tokens=14, do_sample=False, pad_token_id=tok.pad_token_id,
                              eos_token_id=tok.eos_token_id)
    theirs = model.generate(**enc, generation_config=config)
    assert torch.equal(ours, theirs[:, :ours.shape[1]])


def test_rows_are_padded_after_their_end_token_and_stop_ends_rows_early(tiny_policy):
    tok, model = tiny_policy.tokenizer, tiny_policy.model
    tok.padding_side = "left"
    enc = tok(["hello there", "x"], return_tensors="pt", padding=True, add_special_tokens=False)
    free = decode(model, enc["input_ids"], enc["attention_mask"], 8, eos_token_id=tok.eos_token_id,
                  pad_token_id=tok.pad_token_id)
    answer = free[:, enc["input_ids"].shape[1]:]
    # call the second generated token of row 0 the end token: that row ends there, the other runs on
    eos = int(answer[0, 1])
    pad = eos + 1 if eos + 1 < len(tok) else eos - 1
    ended = decode(model, enc["input_ids"], enc["attention_mask"], 8, eos_token_id=eos, pad_token_id=pad)
    row = ended[0, enc["input_ids"].shape[1]:].tolist()
    first_end = row.index(eos)
    assert first_end <= 1 and row[first_end + 1:] == [pad] * (len(row) - first_end - 1)
    # a stop criterion that fires after three tokens ends every row there
    stopped = decode(model, enc["input_ids"], enc["attention_mask"], 8, eos_token_id=tok.eos_token_id,
                     pad_token_id=tok.pad_token_id, stop=lambda new: torch.full((new.shape[0],), new.shape[1] >= 3))
    assert stopped.shape[1] == enc["input_ids"].shape[1] + 3
