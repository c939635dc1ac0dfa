"""Where an answer ends (``instructrl.models.answers``), on a tokenizer whose every token is one letter."""

from __future__ import annotations

from instructrl.models.answers import answer_end, cut_at_stop, finish_reason

EOS = 0


class Letters:
    """Token t is the letter chr(ord('a') + t - 1); 0 is the end token (special: never text)."""

    eos_token_id = EOS

    def decode(self, ids, skip_special_tokens: bool = True) -> str:
        return "".join("<e>" if t == EOS and not skip_special_tokens else chr(96 + t) for t in ids
                       if t != EOS or not skip_special_tokens)


def test_the_end_token_ends_the_answer_and_is_not_part_of_it():
    end = answer_end(Letters(), [1, 2, EOS, 3, EOS])
    assert (end.token_ids, end.text, end.ended, end.stopped, end.reason) == ((1, 2), "ab", True, False, "stop")


def test_a_stop_sequence_cuts_the_text_before_it():
    end = answer_end(Letters(), [1, 2, 3, 4, 5], stops=("cd", "e"))
    assert (end.text, end.ended, end.stopped, end.reason) == ("ab", False, True, "stop")
    assert end.token_ids == (1, 2, 3, 4, 5)  # the tokens sampled: the caller decides what to keep
    assert cut_at_stop("abc\nde", ["\n", "c"]) == ("ab", True)


def test_the_budget_gives_length_and_an_open_answer_has_no_reason():
    going = answer_end(Letters(), [1, 2, 3])
    assert going.reason is None
    assert finish_reason(going, 3, 4) is None
    assert finish_reason(going, 4, 4) == "length"
    assert finish_reason(answer_end(Letters(), [1, EOS]), 2, 2) == "stop"  # the end token wins over the budget
