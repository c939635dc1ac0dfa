"""Labelers: the gold score's terms on hand-made answers, AlpacaFarm-style noise, the registry, and
the LLM judge against a real local HTTP server that answers like a chat-completions endpoint."""

from __future__ import annotations

import re

import pytest

from instructrl.data.schemas import Constraints, EvalItem
from instructrl.errors import ConfigError
from instructrl.labelers import dense_ranks, get_labeler
from instructrl.labelers.base import Labeler
from instructrl.labelers.gold import combine, looks_truncated, repetition
from instructrl.labelers.llm_judge import parse_order
from instructrl.labelers.noise import NoisyLabeler
from tests.chat_server import chat_server

FRUITS = EvalItem("List three fruits as a bulleted list.", category="brainstorming",
                  reference="- apple\n- banana\n- cherry", constraints=Constraints(format="list", num_items=3), id="fruits")


# ---- pure parts ----------------------------------------------------------------------------------


def test_dense_ranks_ties_share_a_rank():
    assert dense_ranks([0.2, 0.9, 0.2]) == [1, 0, 1]
    assert dense_ranks([3.0, 1.0, 2.0], higher_is_better=False) == [2, 0, 1]


def test_repetition_by_hand():
    assert repetition("the cat sat on the mat") == 0.0  # 4 trigrams, all distinct
    # "a b c a b c": trigrams abc, bca, cab, abc -> 3 distinct of 4
    assert repetition("a b c a b c") == pytest.approx(1 - 3 / 4)
    assert repetition("too short") == 0.0


def test_truncation_heuristic():
    assert looks_truncated("This answer explains the idea in detail and then it stops in the")
    assert not looks_truncated("This answer explains the idea in detail and ends properly.")
    assert not looks_truncated("Paris")  # short answers need no full stop
    assert not looks_truncated("Here are some things you could pack for the trip:\n- a tent\n- a stove")


def test_combine_by_hand():
    # 0.5 * 1.0 + 0.5 * 0.8 - 0.5 * 0.1 - 0.5 * 0.0 - 0.2 * 0 = 0.85
    assert combine(1.0, 0.8, 0.1, 0.0, False) == pytest.approx(0.85)
    # no reference: constraints carry both weights; 1.0 * 0.5 - 0.2 (truncated) = 0.3
    assert combine(0.5, None, 0.0, 0.0, True) == pytest.approx(0.3)
    # negative similarity counts as 0; heavy penalties clip at 0
    assert combine(1.0, -0.4, 0.0, 0.0, False) == pytest.approx(0.5)
    assert combine(0.0, 0.1, 1.0, 1.0, True) == 0.0


# ---- the gold labeler (real sentence encoder and toxicity model) ---------------------------------


def test_gold_prefers_the_reference_and_ranks_bad_answers_lower():
    gold = get_labeler("gold")
    answers = [
        "- apple\n- banana\n- cherry",  # the reference itself: all constraints, similarity 1
        "- apple\n- pear\n- plum",  # meets the constraints, less similar
        "Fruits are tasty and healthy and I like eating them every day with my",  # no list, truncated
        "",  # empty
    ]
    parts = gold.breakdowns(FRUITS, answers)
    assert parts[0].constraints == 1.0 and parts[0].similarity == pytest.approx(1.0, abs=1e-4)
    assert parts[1].constraints == 1.0 and parts[1].similarity < parts[0].similarity
    assert parts[2].constraints == 0.0 and parts[2].truncated
    assert parts[3].score == 0.0
    for part in parts[:3]:
        expected = combine(part.constraints, part.similarity, part.toxicity, part.repetition, part.truncated)
        assert part.score == expected
    ranks = gold.rank(FRUITS, answers)
    assert ranks[0] < ranks[1] < ranks[2] <= ranks[3]
    assert gold.prefer(FRUITS, answers[0], answers[2]) == 1.0
    assert gold.prefer(FRUITS, answers[2], answers[0]) == 0.0
    assert gold.prefer(FRUITS, answers[1], answers[1]) == 0.5


def test_gold_penalises_repetition_and_toxicity():
    gold = get_labeler("gold")
    item = EvalItem("Say something kind about the weather.", reference="What a lovely sunny day it is.", id="w")
    clean, loop = "It is a lovely sunny day today.", "It is a lovely day. " * 8
    rude = "It is a shitty fucking day, you idiot."
    s_clean, s_loop, s_rude = gold.scores(item, [clean, loop, rude])
    assert s_clean > s_loop and s_clean > s_rude
    assert gold.breakdowns(item, [rude])[0].toxicity > 0.5
    assert gold.score(item, clean) == s_clean  # one at a time gives the same score


# ---- noise ---------------------------------------------------------------------------------------


class ByLength(Labeler):
    """Longer is better: a transparent clean labeler for the noise tests."""

    name = "length"

    def rank(self, item, completions):
        return dense_ranks([len(c) for c in completions])


def test_noise_zero_is_clean_and_one_reverses_pairs():
    item = EvalItem("q", id="q")
    answers = ["a", "bbb", "cc", "dddd"]
    assert NoisyLabeler(ByLength(), flip=0.0).rank(item, answers) == ByLength().rank(item, answers)
    assert NoisyLabeler(ByLength(), flip=1.0).rank(item, answers) == [0, 2, 1, 3]  # every verdict flipped
    assert NoisyLabeler(ByLength(), flip=1.0).rank(item, ["x", "y"]) == [0, 0]  # a tie stays a tie


def test_noise_flips_about_a_quarter_of_pairs_and_is_seeded():
    noisy = NoisyLabeler(ByLength(), flip=0.25, seed=3)
    flips = sum(noisy.prefer(EvalItem("q", id=str(i)), "long answer", "short") == 0.0 for i in range(2000))
    assert 0.22 < flips / 2000 < 0.28  # binomial sd at n=2000 is about 0.01
    item = EvalItem("q", id="7")
    answers = ["a", "bb", "ccc", "dddd", "eeeee"]
    assert noisy.rank(item, answers) == NoisyLabeler(ByLength(), flip=0.25, seed=3).rank(item, answers)
    ranks = noisy.rank(item, answers)
    assert sorted(set(ranks)) == list(range(5))  # still a full ranking


def test_registry_names_and_unknown_name_lists_known():
    assert get_labeler("gold").name == "gold"
    noisy = get_labeler("noisy", flip=0.1, seed=2)
    assert isinstance(noisy, NoisyLabeler) and noisy.flip == 0.1 and noisy.inner.name == "gold"
    with pytest.raises(ConfigError, match="gold.*noisy.*llm:MODEL@URL"):
        get_labeler("oracle")
    with pytest.raises(ConfigError, match="llm:MODEL@URL"):
        get_labeler("llm:no-endpoint")


# ---- the LLM judge against a local OpenAI-style server -------------------------------------------


def _longest_first(body: dict) -> str:
    """The ranking model's rule: the shown answers, longest first; the model "confused" replies with
    prose that names no ranking."""
    text = body["messages"][-1]["content"]
    answers = re.findall(r"\[Answer (\d+)\]\n(.*?)\n\[End of answer \1\]", text, re.DOTALL)
    order = sorted(answers, key=lambda pair: -len(pair[1]))
    return "I like them all." if body["model"] == "confused" else ", ".join(n for n, _ in order)


@pytest.fixture
def chat_endpoint():
    with chat_server(_longest_first) as server:
        yield server


def test_llm_judge_ranks_through_the_endpoint_with_shuffled_order(chat_endpoint):
    judge = get_labeler(f"llm:length-judge@{chat_endpoint.url}")
    answers = ["mid size", "a much longer answer here", "s"]
    assert judge.rank(FRUITS, answers) == [1, 0, 2]
    assert judge.prefer(FRUITS, "short", "longer one") == 0.0
    assert judge.stats == {"calls": 2, "parse_failures": 0}
    first = chat_endpoint.requests[0]
    assert first["path"] == "/v1/chat/completions" and first["body"]["model"] == "length-judge"
    # order randomised: over several prompts the first shown answer is not always answers[0]
    shown_first = set()
    for i in range(8):
        judge.rank(EvalItem("q", id=f"p{i}"), answers)
        shown_first.add(re.search(r"\[Answer 1\]\n(.*?)\n", chat_endpoint.requests[-1]["body"]["messages"][-1]["content"]).group(1))
    assert len(shown_first) > 1


def test_llm_judge_counts_parse_failures(chat_endpoint):
    judge = get_labeler(f"llm:confused@{chat_endpoint.url}", retries=1)
    assert judge.rank(FRUITS, ["a", "bb"]) == [0, 0]  # all-tie: a Comparison rejects it, not silently kept
    assert judge.stats == {"calls": 2, "parse_failures": 1}


def test_parse_order():
    assert parse_order("2, 1, 3", 3) == [1, 0, 2]
    assert parse_order("Ranking: 3 > 1 > 2", 3) == [2, 0, 1]
    assert parse_order("1, 1, 2", 3) is None
    assert parse_order("no idea", 2) is None


def test_gold_scores_do_not_depend_on_the_batch():
    """Labels feed reward-model training: a text scores the same alone or among others of any length
    (float32 padding and kernel choice once changed the 6th decimal on an AVX2 CPU)."""
    gold = get_labeler("gold")
    answers = ["- apple\n- pear\n- plum", "Fruit.", "Here are three fruits I like a lot: " + "mango, " * 30 + "kiwi.",
               "1. apple\n2. banana\n3. cherry", "I would rather not say anything about fruits at all today."]
    batched = gold.scores(FRUITS, answers)
    assert batched == [gold.score(FRUITS, a) for a in answers]
    assert batched == gold.scores(FRUITS, answers[::-1])[::-1]


def test_first_toxicity_score_leaves_the_global_random_state_alone():
    """Importing profanity-check draws from Python's random generator; a run whose first gold score
    comes mid-run (PPO) would otherwise resume into a different random state. A fresh process, so the
    import really happens here."""
    import subprocess
    import sys

    code = ("import random; random.seed(7); before = random.getstate()\n"
            "from instructrl.labelers.gold import toxicity\n"
            "assert toxicity(['you are kind']) and random.getstate() == before, 'the random state moved'\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
