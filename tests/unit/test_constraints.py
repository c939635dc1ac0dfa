"""The constraint checks on hand-made texts; every count below is worked out by hand in a comment."""

from __future__ import annotations

import pytest

from instructrl.data.constraints import (
    check_constraints,
    constraint_score,
    contains_answer,
    count_items,
    count_sentences,
    count_words,
    list_items,
    normalize_answer,
    parse_json,
)
from instructrl.data.schemas import Constraints

# ---- counting words and sentences ----------------------------------------------------------------


@pytest.mark.parametrize("text, expected", [
    ("", 0),
    ("   \n\t ", 0),
    ("one", 1),
    ("It's a 3-day trip — fun!", 5),  # It's / a / 3-day / trip / fun! ; the lone dash has no letter or digit
    ("Hello,   world.\nSecond line here", 5),  # any whitespace separates tokens
    ("- apple\n- banana", 2),  # the bullet markers are not words
    ("... !!! -- ?", 0),  # punctuation alone is never a word
    ("e-mail me at a@b.com", 4),  # e-mail / me / at / a@b.com
])
def test_count_words(text, expected):
    assert count_words(text) == expected


@pytest.mark.parametrize("text, expected", [
    ("", 0),
    ("No end mark at all", 1),  # the end of the text ends the last sentence
    ("Hi. How are you?! Fine", 3),  # "Hi" / "How are you" (?! is one run) / "Fine"
    ("Pi is 3.14.", 1),  # the "." inside 3.14 is not followed by whitespace
    ("Visit example.com today. Thanks!", 2),
    ("Wait... what?", 2),  # "..." is one run
    ("He said \"Go.\" Then he left.", 2),  # a closing quote after the full stop still ends it
    ("Dr. Lee met Mrs. Park on St. John's Road.", 1),  # titles and abbreviations do not end a sentence
    ("Bring snacks, e.g. fruit. Then go.", 2),
    ("Ingredients\n- eggs\n- milk", 3),  # every line is its own sentence
    ("1. Whisk the eggs.\n2. Fry them.", 2),  # the "1." of a list marker does not end one
    ("1. Mix. Stir.", 2),  # but real full stops in a list line do
    ("First paragraph.\n\nSecond one.", 2),  # blank lines hold no letter or digit, so they add nothing
    ("!!! ...", 0),
])
def test_count_sentences(text, expected):
    assert count_sentences(text) == expected


# ---- lists ---------------------------------------------------------------------------------------

MIXED = "Here you go:\n- apple\n* banana\n• cherry\n1. one\n2) two\n  10. ten\n-nospace\n**bold**\n- \n3.5 is a number"


def test_list_items_bulleted_and_numbered_are_separate():
    # bullets: "- ", "* ", "• " with text after; "-nospace", "**bold**" and a bare "- " are not items
    assert list_items(MIXED, numbered=False) == ["apple", "banana", "cherry"]
    # numbered: "1. ", "2) " and indented "10. "; "3.5 is a number" has no space after the marker
    assert list_items(MIXED, numbered=True) == ["one", "two", "ten"]
    assert list_items("", numbered=False) == [] and list_items("", numbered=True) == []


def test_list_items_strip_marker_and_trailing_spaces():
    assert list_items("1.  Preheat the oven.   \n2. Mix", numbered=True) == ["Preheat the oven.", "Mix"]


def test_format_list_accepts_bullets_or_numbers():
    c = Constraints(format="list", num_items=3)
    assert check_constraints(c, "- a\n- b\n- c") == {"format": True, "num_items": True}
    assert check_constraints(c, "1. a\n2. b\n3. c") == {"format": True, "num_items": True}
    # an intro line does not count as an item; 2 bullets + 1 number = 3 list lines
    assert check_constraints(c, "Sure:\n- a\n- b\n1. c") == {"format": True, "num_items": True}
    assert check_constraints(c, "a, b and c") == {"format": False, "num_items": False}
    assert check_constraints(c, "- a\n- b") == {"format": True, "num_items": False}  # 2 items, not 3
    assert check_constraints(c, "- a\n- b\n- c\n- d") == {"format": True, "num_items": False}  # exactly, not at least


def test_format_numbered_list_refuses_bullets():
    c = Constraints(format="numbered_list", num_items=2)
    assert check_constraints(c, "1. a\n2. b") == {"format": True, "num_items": True}
    assert check_constraints(c, "1) a\n2) b") == {"format": True, "num_items": True}
    assert check_constraints(c, "- a\n- b") == {"format": False, "num_items": False}  # bullets are 0 numbered items
    assert check_constraints(c, "1. a\n- b\n2. c")["format"] is False  # any bullet line breaks it
    assert check_constraints(c, "Steps:\n1. a\n2. b\nEnjoy!") == {"format": True, "num_items": True}


def test_num_items_without_format_counts_every_list_line():
    c = Constraints(num_items=2)
    assert check_constraints(c, "- a\n1. b") == {"num_items": True}
    assert check_constraints(c, "a and b") == {"num_items": False}
    assert count_items(None, "") == 0


# ---- JSON ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("text, expected", [
    ('{"name": "Ada", "age": 36}', {"name": "Ada", "age": 36}),
    ("  [1, 2, 3]\n", [1, 2, 3]),
    ('```json\n{"a": 1}\n```', {"a": 1}),
    ('Here it is:\n```JSON\n["x"]\n```\nHope that helps!', ["x"]),  # prose around a fence is fine
    ('```\n{"a": [1, 2]}\n```', {"a": [1, 2]}),  # an untagged fence works too
    ('```json {"a": 1} ```', {"a": 1}),  # and one on a single line
    ("{}", {}),
])
def test_parse_json_accepts_objects_and_arrays(text, expected):
    assert parse_json(text) == expected


@pytest.mark.parametrize("text", [
    "", "3", '"just a string"', "null", "true",  # scalars are not objects or arrays
    "{name: 'Ada'}",  # not JSON
    'The answer is {"a": 1} as you see',  # unfenced JSON inside prose is not accepted
    "```json\n{broken\n```",
])
def test_parse_json_rejects(text):
    assert parse_json(text) is None


def test_format_json_and_its_item_count():
    c = Constraints(format="json", num_items=2)
    assert check_constraints(c, '{"name": "Ada", "age": 36}') == {"format": True, "num_items": True}  # 2 keys
    assert check_constraints(c, '```json\n["red", "blue"]\n```') == {"format": True, "num_items": True}  # 2 elements
    assert check_constraints(c, '["red", "blue", "green"]') == {"format": True, "num_items": False}
    assert check_constraints(c, "name: Ada, age: 36") == {"format": False, "num_items": False}


# ---- include, exclude, exact answers -------------------------------------------------------------


def test_must_include_is_a_case_insensitive_substring_of_every_phrase():
    c = Constraints(must_include=("River", "old bridge"))
    assert check_constraints(c, "The river ran under the OLD BRIDGE.") == {"must_include": True}
    assert check_constraints(c, "The riverbank by the old bridge.") == {"must_include": True}  # substring, by design
    assert check_constraints(c, "The river ran fast.") == {"must_include": False}  # one phrase missing fails it
    assert check_constraints(c, "") == {"must_include": False}


def test_must_exclude_is_a_case_insensitive_substring_of_any_phrase():
    c = Constraints(must_exclude=("very", "Stuff"))
    assert check_constraints(c, "It was quite good.") == {"must_exclude": True}
    assert check_constraints(c, "It was VERY good.") == {"must_exclude": False}
    assert check_constraints(c, "Every day.") == {"must_exclude": False}  # "very" inside "every" counts: substring rule
    assert check_constraints(c, "Some stuff.") == {"must_exclude": False}
    assert check_constraints(c, "") == {"must_exclude": True}


@pytest.mark.parametrize("answer, normalised", [
    ("Paris.", "paris"),
    ("  New   York City!  ", "new york city"),
    ('"Blue"', "blue"),
    ("1,200", "1200"),
    ("Bogotá", "bogota"),
    ("...", ""),
])
def test_normalize_answer(answer, normalised):
    assert normalize_answer(answer) == normalised


@pytest.mark.parametrize("text, answer, expected", [
    ("The capital of France is Paris.", "paris", True),  # case
    ("It is PARIS", "Paris.", True),  # the answer's trailing punctuation is dropped
    ("The answer is\n  New\tYork  City.", "New York City", True),  # whitespace runs collapse
    ("There are 1,440 minutes in a day.", "1440", True),  # thousands commas on either side
    ("There are 1440 minutes.", "1,440", True),
    ("It is Bogota.", "Bogotá", True),  # accents are ignored
    ("There are 8 planets.", "eight", True),  # small numbers as digits or words
    ("There are eight planets.", "8", True),
    ("She was eighteen.", "eight", False),
    ("The total is 112.", "12", False),  # not glued to other digits
    ("The total is 12.", "12", True),
    ("It is 3.5 metres.", "3", False),  # not part of a longer decimal
    ("It is 3.5 metres.", "5", False),
    ("It is 3.5 metres.", "3.5", True),
    ("A Parisian cafe.", "Paris", False),  # not glued to letters
    ("At 15:45 in 24-hour time.", "15:45", True),
    ("Anything at all", "   ", False),  # an empty answer is never found
])
def test_contains_answer(text, answer, expected):
    assert contains_answer(text, answer) is expected


def test_exact_answer_constraint():
    c = Constraints(exact_answer="Mount Everest")
    assert check_constraints(c, "The tallest is mount   everest, in Nepal.") == {"exact_answer": True}
    assert check_constraints(c, "The tallest is K2.") == {"exact_answer": False}


# ---- word and sentence limits, the score ---------------------------------------------------------


def test_word_and_sentence_limits_are_inclusive():
    text = "One two three. Four five."  # 5 words, 2 sentences
    assert check_constraints(Constraints(min_words=5, max_words=5), text) == {"min_words": True, "max_words": True}
    assert check_constraints(Constraints(min_words=6, max_words=4), text) == {"min_words": False, "max_words": False}
    assert check_constraints(Constraints(max_sentences=2), text) == {"max_sentences": True}
    assert check_constraints(Constraints(max_sentences=1), text) == {"max_sentences": False}
    assert check_constraints(Constraints(min_words=1), "") == {"min_words": False}
    assert check_constraints(Constraints(max_words=1, max_sentences=1), "") == {"max_words": True, "max_sentences": True}


def test_one_entry_per_set_constraint_and_the_score_is_their_mean():
    c = Constraints(max_words=10, format="list", num_items=2, must_include=("apple",), must_exclude=("pear",))
    text = "- Apple\n- Pear\n- Plum"  # 3 words (markers are not words), 3 items, contains "pear"
    verdicts = check_constraints(c, text)
    assert verdicts == {"max_words": True, "format": True, "num_items": False, "must_include": True,
                        "must_exclude": False}
    assert constraint_score(c, text) == pytest.approx(3 / 5)


def test_no_constraints_scores_one():
    assert check_constraints(None, "anything") == {}
    assert constraint_score(None, "anything") == 1.0
    assert constraint_score(Constraints(), "") == 1.0  # an empty Constraints sets nothing
