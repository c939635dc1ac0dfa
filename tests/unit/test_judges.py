"""Judges: name registry, verdict parsing, an LLM judge against a real local OpenAI-style HTTP server,
human votes from an exported comparisons file, a reward-model judge on the tiny model, and the win-rate
plumbing (order randomisation, un-swapping, ties, counted failures) around them."""

from __future__ import annotations

import json
import re

import pytest

from evals.judges import Judge, LLMJudge, RewardJudge, VotesJudge, get_judge, parse_verdict
from evals.winrate import first_is_model, judge_pairs, metadata_checks, summarise, unsupported_share
from instructrl.data.schemas import Constraints, EvalItem
from instructrl.errors import ConfigError, InstructrlError
from tests.chat_server import chat_server

# ---- a real OpenAI-compatible chat endpoint with a deterministic rule -----------------------------

_SECTION = re.compile(r"## Output \(a\)\n\n(.*)\n\n## Output \(b\)\n\n(.*)\n\n## Your verdict", re.DOTALL)


def _longer_answer_rule(seen: list[tuple[str, str]]):
    """The judge model's rule: prefer the longer output; reply with chatter that names no output when
    the instruction contains "unclear" (a parse failure)."""

    def reply(body: dict) -> str:
        prompt = body["messages"][-1]["content"]
        first, second = _SECTION.search(prompt).groups()
        seen.append((first, second))
        if "unclear" in prompt.split("## Output (a)")[0]:
            return "Both answers have merits, hard to say."
        return "Output (a)" if len(first) >= len(second) else "Output (b)"

    return reply


SEEN: list[tuple[str, str]] = []


@pytest.fixture
def judge_server():
    SEEN.clear()
    with chat_server(_longer_answer_rule(SEEN)) as server:
        yield server.url


def _items(n: int, unclear: set[int] = frozenset()) -> list[EvalItem]:
    return [EvalItem(f"Question {i}" + (" (unclear)" if i in unclear else ""), category="open_qa" if i % 2 else "chat",
                     id=f"q{i}") for i in range(n)]


# ---- registry and parsing -------------------------------------------------------------------------


def test_unknown_judge_lists_the_known_ones():
    with pytest.raises(ConfigError) as err:
        get_judge("oracle")
    for name in ("gold", "rm:SPEC", "llm:MODEL@URL", "votes:PATH"):
        assert name in str(err.value)
    with pytest.raises(ConfigError, match="llm:MODEL@http"):
        get_judge("llm:gpt-4o")


@pytest.mark.parametrize("reply, outcome", [
    ("Output (a)", 1.0), ("Output (b)", 0.0), ("output (B)", 0.0), ("I prefer Output (a).", 1.0),
    ("b", 0.0), ("(a)", 1.0), ("Output (a) or Output (b)", None), ("", None), ("Neither is good.", None),
])
def test_parse_verdict(reply, outcome):
    assert parse_verdict(reply) == outcome


# ---- the LLM judge over HTTP ----------------------------------------------------------------------


def test_llm_judge_follows_the_servers_rule_and_unswaps_the_order(judge_server):
    judge = get_judge(f"llm:rule-judge@{judge_server}")
    assert isinstance(judge, LLMJudge) and judge.name == f"llm:rule-judge@{judge_server}"
    items = _items(16)
    model = [f"a long and detailed answer number {i}" for i in range(16)]
    baseline = [f"short {i}" for i in range(16)]
    outcomes = judge_pairs(judge, items, model, baseline, seed=0, model="m")
    # the server prefers the longer answer wherever it was shown: the model wins every prompt
    assert outcomes == [1.0] * 16
    # and it saw the model's answer in both positions (the order really was randomised)
    firsts = {first.startswith("a long") for first, _ in SEEN}
    assert firsts == {True, False}
    placed_first = [first_is_model(0, "m", item.id) for item in items]
    assert [f.startswith("a long") for f, _ in SEEN] == placed_first or \
        sorted(f.startswith("a long") for f, _ in SEEN) == sorted(placed_first)
    # the reverse comparison loses everywhere
    assert judge_pairs(judge, items, baseline, model, seed=0, model="m") == [0.0] * 16


def test_llm_judge_counts_parse_failures_and_does_not_drop_them(judge_server):
    judge = get_judge(f"llm:rule-judge@{judge_server}")
    items = _items(10, unclear={2, 5, 7})
    model = ["longer answer here"] * 10
    baseline = ["short"] * 9 + ["longer answer here"]  # the last pair is identical: a tie, no request
    outcomes = judge_pairs(judge, items, model, baseline, seed=3, model="m")
    assert [outcomes[i] for i in (2, 5, 7)] == [None, None, None]
    assert outcomes[9] == 0.5
    assert judge.failures["parse_failures"] == 3
    assert len(SEEN) == 9
    summary = summarise(outcomes, n_boot=200)
    # 6 wins + 1 tie judged; 3 without a verdict reported beside n
    assert summary["n"] == 7 and summary["no_verdict"] == 3
    assert summary["win_rate"] == pytest.approx(6.5 / 7)
    assert judge.describe()["failures"] == {"parse_failures": 3}


def test_llm_judge_reports_an_unreachable_endpoint():
    judge = LLMJudge("m", "http://127.0.0.1:9/v1", timeout=2, retries=0)
    with pytest.raises(InstructrlError, match="judge endpoint"):
        judge.judge(_items(1), ["a"], ["b"])


# ---- human votes ----------------------------------------------------------------------------------


def test_votes_judge_uses_majority_of_human_votes(tmp_path):
    rows = [
        {"prompt": "Question 0", "completions": ["good", "bad"], "ranking": [0, 1], "labeler": "human"},
        {"prompt": "Question 0", "completions": ["bad", "good"], "ranking": [0, 1], "labeler": "human"},
        {"prompt": "Question 0", "completions": ["good", "bad"], "ranking": [0, 1], "labeler": "human"},
        {"prompt": "Question 1", "completions": ["x", "y"], "ranking": [0, 1], "labeler": "human"},
        {"prompt": "Question 1", "completions": ["x", "y"], "ranking": [1, 0], "labeler": "human"},
        # machine labels are not human votes
        {"prompt": "Question 2", "completions": ["p", "q"], "ranking": [0, 1], "labeler": "gold"},
        # a K=3 human ranking gives votes on each of its pairs
        {"prompt": "Question 3", "completions": ["r1", "r2", "r3"], "ranking": [2, 0, 1], "labeler": "human"},
    ]
    path = tmp_path / "comparisons.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows))
    judge = get_judge(f"votes:{path}")
    assert isinstance(judge, VotesJudge) and judge.n_votes == 6
    items = _items(4)
    # 2 of 3 votes say good > bad; 1-1 split is a tie; no human vote on Q2; r2 ranked above r3
    assert judge.judge(items, ["good", "x", "p", "r3"], ["bad", "y", "q", "r2"]) == [1.0, 0.5, None, 0.0]
    assert judge.judge(items[:1], ["bad"], ["good"]) == [0.0]
    assert judge.failures["no_vote"] == 1


def test_votes_judge_needs_human_rows(tmp_path):
    path = tmp_path / "machine.jsonl"
    path.write_text(json.dumps({"prompt": "q", "completions": ["a", "b"], "ranking": [0, 1], "labeler": "gold"}))
    with pytest.raises(InstructrlError, match="human"):
        get_judge(f"votes:{path}")


# ---- reward-model and gold judges -----------------------------------------------------------------


def test_reward_judge_on_the_tiny_model_is_consistent():
    judge = get_judge("rm:tiny-random")
    assert isinstance(judge, RewardJudge) and judge.name == "rm:tiny-random"
    items = _items(4)
    a = ["alpha answer", "beta", "gamma gamma gamma", "delta"]
    b = ["something else", "beta!", "g", "another delta answer"]
    forward = judge.judge(items, a, b)
    backward = judge.judge(items, b, a)
    scores = judge.model.score([i.prompt for i in items] * 2, a + b)
    expected = [1.0 if scores[i] > scores[4 + i] else 0.0 if scores[i] < scores[4 + i] else 0.5 for i in range(4)]
    assert forward == expected
    assert [1.0 - x for x in forward] == backward
    # a fresh head is seeded, so a second judge built from the same spec agrees
    assert get_judge("rm:tiny-random").judge(items, a, b) == forward


def test_gold_judge_prefers_the_answer_that_follows_the_constraints():
    pytest.importorskip("instructrl.labelers.gold", reason="the gold labeler is not installed")
    judge = get_judge("gold")
    item = EvalItem("List three colours, one per bullet point.", category="brainstorming",
                    reference="- red\n- green\n- blue",
                    constraints=Constraints(format="list", num_items=3), id="c1")
    good, bad = "- red\n- green\n- blue", "I like many colours and could not choose only a few of them."
    assert judge.judge([item, item], [good, bad], [bad, good]) == [1.0, 0.0]


class _ShortestWins(Judge):
    """A deterministic judge with a real rule (shorter is better) for testing the plumbing."""

    name = "shortest"

    def judge(self, items, first, second):
        return [1.0 if len(a) < len(b) else 0.0 if len(a) > len(b) else 0.5 for a, b in zip(first, second)]


def test_judge_pairs_unswaps_for_every_coin():
    items = _items(40)
    model = ["m"] * 20 + ["model answer that is long"] * 20
    baseline = ["base answer"] * 40
    outcomes = judge_pairs(_ShortestWins(), items, model, baseline, seed=11, model="x")
    assert outcomes == [1.0] * 20 + [0.0] * 20
    coins = [first_is_model(11, "x", i.id) for i in items]
    assert 10 < sum(coins) < 30  # both orders occur
    assert coins == [first_is_model(11, "x", i.id) for i in items]  # and they are reproducible


def test_metadata_checks_by_hand():
    items = [
        EvalItem("Answer in at most 3 words.", constraints=Constraints(max_words=3), id="a"),
        EvalItem("Answer in at most 3 words.", constraints=Constraints(max_words=3), id="b"),
        EvalItem("Text: The bridge opened in 1932. Question: When did the bridge open?", category="closed_qa", id="c"),
        EvalItem("Text: Ada lives in Rome. Question: Where does Ada live?", category="closed_qa", id="d"),
        EvalItem("Say hi.", id="e"),
    ]
    answers = ["Yes indeed.", "This has far too many words.", "The bridge opened in 1932.",
               "Ada moved to Paris with her brother yesterday.", "hi"]
    checks = metadata_checks(items, answers)
    assert checks["follows_constraints"]["rate"] == 0.5 and checks["follows_constraints"]["n"] == 2
    assert checks["per_constraint"]["max_words"]["rate"] == 0.5
    # item c: content words bridge, opened, 1932 all appear in the input -> supported;
    # item d: ada (in input), moved, paris, brother, yesterday (not) -> 4/5 unsupported > ½
    assert unsupported_share(answers[2], items[2].prompt) == 0.0
    assert unsupported_share(answers[3], items[3].prompt) == pytest.approx(4 / 5)
    assert checks["closed_qa_unsupported"]["rate"] == 0.5 and checks["closed_qa_unsupported"]["n"] == 2
