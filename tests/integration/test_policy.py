"""The shared model interface on the tiny random model (and once on the real embedded one)."""

from __future__ import annotations

import pytest
import torch

from instructrl.chat import format_answer, format_prompt
from instructrl.errors import ConfigError
from instructrl.models.answers import cut_at_stop
from instructrl.models.policy import SamplingParams


def _full_forward_logprob(policy, prompt: str, continuation: str) -> float:
    tok = policy.tokenizer
    prompt_ids = tok(prompt, add_special_tokens=False)["input_ids"]
    ids = tok(prompt + continuation, add_special_tokens=False)["input_ids"]
    with torch.no_grad():
        logp = torch.log_softmax(policy.model(torch.tensor([ids])).logits[0].float(), -1)
    return sum(float(logp[t - 1, ids[t]]) for t in range(len(prompt_ids), len(ids)))


def test_logprobs_with_shared_prefix_cache_equal_a_plain_forward_pass(tiny_policy):
    prompts = ["Q: what is red?\nA:", "Q: what is red?\nA:", "Q: what is red?\nA:", "Other prompt"]
    continuations = [" a colour", " blue", " a fruit that is long", " and more"]
    scores = tiny_policy.logprobs(prompts, continuations, batch_size=2)
    expected = [_full_forward_logprob(tiny_policy, p, c) for p, c in zip(prompts, continuations)]
    assert scores == pytest.approx(expected, abs=1e-4)


def test_greedy_generation_is_deterministic_and_batch_independent(tiny_policy):
    params = SamplingParams(max_new_tokens=12)
    prompts = ["hello", "a much longer prompt about rivers and lakes", "hi"]
    together = tiny_policy.generate(prompts, params, batch_size=3)
    alone = [tiny_policy.generate([p], params)[0] for p in prompts]
    assert [g.text for g in together] == [g.text for g in alone]
    assert all(g.finish_reason in ("stop", "length") and len(g.token_ids) <= 12 for g in together)


def test_greedy_answer_matches_manual_argmax_decoding(tiny_policy):
    tok = tiny_policy.tokenizer
    ids = tok(tiny_policy.format("hello"), add_special_tokens=False, return_tensors="pt")["input_ids"]
    new = []
    with torch.no_grad():
        for _ in range(6):
            nxt = int(tiny_policy.model(ids).logits[0, -1].argmax())
            if nxt == tok.eos_token_id:
                break
            new.append(nxt)
            ids = torch.cat([ids, torch.tensor([[nxt]])], 1)
    assert list(tiny_policy.generate(["hello"], SamplingParams(max_new_tokens=6))[0].token_ids) == new


def test_sampling_with_a_seed_repeats(tiny_policy):
    params = SamplingParams(max_new_tokens=10, temperature=1.0, top_p=0.9, seed=7)
    first = tiny_policy.generate(["tell me"] * 3, params)
    again = tiny_policy.generate(["tell me"] * 3, params)
    assert [g.text for g in first] == [g.text for g in again]
    other = tiny_policy.generate(["tell me"] * 3, SamplingParams(max_new_tokens=10, temperature=1.0, seed=8))
    assert [g.text for g in first] != [g.text for g in other]


def test_stop_sequences_cut_the_answer(tiny_policy):
    free = tiny_policy.generate(["x"], SamplingParams(max_new_tokens=20))[0].text
    assert len(free) >= 4
    stop = free[2:4]
    cut = tiny_policy.generate(["x"], SamplingParams(max_new_tokens=20, stop=(stop,)))[0]
    assert cut.finish_reason == "stop" and stop not in cut.text and free.startswith(cut.text)
    assert cut_at_stop("abc\nde", ["\n", "c"]) == ("ab", True)


@pytest.mark.parametrize("kwargs", [{"max_new_tokens": 0}, {"temperature": -1}, {"top_p": 0}, {"stop": ("",)}])
def test_absurd_sampling_parameters_are_rejected(kwargs):
    with pytest.raises(ConfigError):
        SamplingParams(**kwargs)


def test_chat_format_is_shared_and_ends_answers_with_eos(tiny_policy):
    tok = tiny_policy.tokenizer
    text = format_prompt(tok, [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}])
    assert text == "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n"
    assert format_answer(tok, " Hello ") == "Hello<|im_end|>"
    assert tiny_policy.format("Hi") == format_prompt(tok, "Hi")


def test_plain_format_without_a_chat_template(tiny_policy):
    import copy

    tok = copy.deepcopy(tiny_policy.tokenizer)
    tok.chat_template = None
    assert format_prompt(tok, "Hi") == "User: Hi\n\nAssistant:"
    assert format_answer(tok, "Hello") == " Hello<|im_end|>"


def test_save_then_load_gives_the_same_model(tiny_policy, tmp_path):
    from instructrl.models.policy import Policy

    tiny_policy.save(tmp_path / "copy")
    again = Policy.load(str(tmp_path / "copy"))
    params = SamplingParams(max_new_tokens=8)
    assert again.generate(["hey"], params)[0].text == tiny_policy.generate(["hey"], params)[0].text


@pytest.mark.real_model
def test_real_embedded_model_answers_and_scores(real_policy):
    answer = real_policy.generate(["What is the capital of France?"], SamplingParams(max_new_tokens=16))[0]
    assert "Paris" in answer.text
    good, bad = real_policy.logprobs(["The capital of France is"] * 2, [" Paris", " Banana"])
    assert good > bad
