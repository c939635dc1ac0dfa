from __future__ import annotations

import pytest

from instructrl.data.schemas import Comparison, Constraints, Demonstration, EvalItem, PretrainText, Where
from instructrl.errors import DataError

W = Where("data.jsonl", 7)


def test_demonstration_accepts_common_layouts():
    plain = Demonstration.from_row({"prompt": "Say hi", "completion": "Hi!", "category": "chat"}, W)
    alpaca = Demonstration.from_row({"instruction": "Add", "input": "2 and 3", "output": "5"}, W)
    chat = Demonstration.from_row({"messages": [{"role": "user", "content": "Hi"},
                                                {"role": "assistant", "content": "Hello"}]}, W)
    assert (plain.prompt, plain.completion, plain.category) == ("Say hi", "Hi!", "chat")
    assert alpaca.prompt == "Add\n\n2 and 3" and alpaca.completion == "5"
    assert chat.prompt == [{"role": "user", "content": "Hi"}] and chat.completion == "Hello"
    assert plain.id and plain.id == Demonstration.from_row(plain.to_row(), W).id


@pytest.mark.parametrize("row, field", [
    ({"prompt": "", "completion": "x"}, "prompt"),
    ({"prompt": "q", "completion": "  "}, "completion"),
    ({"prompt": [{"role": "wizard", "content": "x"}], "completion": "y"}, "prompt[0].role"),
    ({"prompt": [{"role": "assistant", "content": "x"}], "completion": "y"}, "prompt"),
    ({"prompt": "q", "completion": "a", "constraints": {"max_words": -1}}, "constraints.max_words"),
    ({"prompt": "q", "completion": "a", "constraints": {"format": "yaml"}}, "constraints.format"),
    ({"prompt": "q", "completion": "a", "constraints": {"colour": "red"}}, "constraints.colour"),
])
def test_bad_demonstration_rows_name_file_line_and_field(row, field):
    with pytest.raises(DataError) as err:
        Demonstration.from_row(row, W)
    assert err.value.field == field and err.value.line == 7
    assert str(err.value).startswith("data.jsonl:7: field")


def test_unknown_columns_list_what_was_expected():
    with pytest.raises(DataError, match="expected prompt \\+ completion"):
        Demonstration.from_row({"question": "q"}, W)


def test_constraints_round_trip():
    row = {"max_words": 40, "format": "list", "num_items": 3, "must_include": ["river"]}
    constraints = Constraints.from_row(row, W)
    assert constraints.must_include == ("river",)
    assert constraints.to_row() == row


def test_comparison_pairs_drop_ties():
    comparison = Comparison.from_row({"prompt": "q", "completions": ["a", "b", "c"], "ranking": [0, 1, 1]}, W)
    assert comparison.pairs() == [(0, 1), (0, 2)]


@pytest.mark.parametrize("row, message", [
    ({"prompt": "q", "completions": ["a"], "ranking": [0]}, "at least 2"),
    ({"prompt": "q", "completions": ["a", "a"], "ranking": [0, 1]}, "duplicate"),
    ({"prompt": "q", "completions": ["a", "b"], "ranking": [0]}, "one integer rank per answer"),
    ({"prompt": "q", "completions": ["a", "b"], "ranking": [1, 1]}, "equal"),
    ({"prompt": " ", "completions": ["a", "b"], "ranking": [0, 1]}, "empty"),
])
def test_bad_comparisons_are_rejected_with_reason(row, message):
    with pytest.raises(DataError, match=message):
        Comparison.from_row(row, W)


def test_hh_dialogue_becomes_prompt_and_two_ranked_answers():
    shared = "\n\nHuman: How do I bake bread?\n\nAssistant: With flour.\n\nHuman: And then?"
    row = {"chosen": shared + "\n\nAssistant: Knead and bake it.", "rejected": shared + "\n\nAssistant: No idea."}
    comparison = Comparison.from_row(row, W)
    assert comparison.prompt == [
        {"role": "user", "content": "How do I bake bread?"},
        {"role": "assistant", "content": "With flour."},
        {"role": "user", "content": "And then?"},
    ]
    assert comparison.completions == ("Knead and bake it.", "No idea.")
    assert comparison.ranking == (0, 1) and comparison.source == "hh-rlhf"


def test_hh_rows_that_diverge_before_the_last_turn_are_rejected():
    row = {"chosen": "\n\nHuman: A\n\nAssistant: x", "rejected": "\n\nHuman: B\n\nAssistant: y"}
    with pytest.raises(DataError, match="does not share"):
        Comparison.from_row(row, W)


def test_pretrain_and_eval_items():
    assert PretrainText.from_row({"text": "Some prose."}, W).text == "Some prose."
    with pytest.raises(DataError):
        PretrainText.from_row({"text": ""}, W)
    demo = Demonstration.from_row({"prompt": "q", "completion": "a", "category": "open_qa"}, W)
    item = EvalItem.from_demonstration(demo)
    assert (item.prompt, item.reference, item.category, item.id) == ("q", "a", "open_qa", demo.id)


@pytest.mark.parametrize("row", [
    {"prompt": "q", "completion": "a", "constraints": {"must_include": 5}},
    {"messages": ["hi", "there"]},
])
def test_wrong_types_are_data_errors_not_crashes(row):
    with pytest.raises(DataError):
        Demonstration.from_row(row, W)


def test_empty_constraints_round_trip():
    demo = Demonstration("q", "a", constraints=Constraints(), id="d1")
    assert Demonstration.from_row(demo.to_row(), W).to_row() == demo.to_row()
