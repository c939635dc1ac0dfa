"""The embedded data sets: loaded through the normal loader, shaped like the paper's prompt mix, every
demonstration meets its own constraints, and the generator reproduces the committed files exactly."""

from __future__ import annotations

from collections import Counter

import pytest

from instructrl.data.constraints import constraint_score, contains_answer, count_words
from instructrl.data.loaders import BUILTIN_SOURCES, SPLITS, load_records
from instructrl.data.schemas import CATEGORY_SHARES, FORMATS, Demonstration, PretrainText, prompt_text
from tools.builtin_data import INSTRUCTIONS_FILE, PRETRAIN_FILE, write_all


@pytest.fixture(scope="module")
def demos() -> list[Demonstration]:
    return load_records("builtin", Demonstration).records


@pytest.fixture(scope="module")
def texts() -> list[PretrainText]:
    return load_records("builtin-pretrain", PretrainText).records


def test_instruction_set_size_and_unique_ids_and_prompts(demos):
    assert len(demos) >= 650
    assert len({d.id for d in demos}) == len(demos)
    assert len({repr(d.prompt) for d in demos}) == len(demos)


def test_categories_follow_the_paper_shares(demos):
    counts = Counter(d.category for d in demos)
    assert set(counts) == set(CATEGORY_SHARES)
    for category, share in CATEGORY_SHARES.items():
        assert abs(counts[category] / len(demos) - share) < 0.02, category


def test_every_demonstration_meets_its_own_constraints(demos):
    failures = [d.id for d in demos if constraint_score(d.constraints, d.completion) != 1.0]
    assert not failures


def test_completions_are_short(demos):
    words = [count_words(d.completion) for d in demos]
    assert max(words) <= 150
    assert sum(15 <= w <= 90 for w in words) / len(words) > 0.5  # mostly 15-90 words


def test_most_rows_carry_a_varied_mix_of_constraints(demos):
    constrained = [d.constraints for d in demos if d.constraints]
    assert len(constrained) / len(demos) >= 0.5
    fields = Counter(name for c in constrained for name, value in c.to_row().items())
    for name in ("max_words", "max_sentences", "format", "num_items", "must_include", "must_exclude", "exact_answer"):
        assert fields[name] >= 20, name
    formats = Counter(c.format for c in constrained if c.format)
    assert set(formats) == set(FORMATS)


def test_chat_rows_are_conversations_ending_with_a_user_turn(demos):
    chats = [d for d in demos if d.category == "chat"]
    assert chats and all(isinstance(d.prompt, list) and d.prompt[-1]["role"] == "user" for d in chats)
    assert all(isinstance(d.prompt, str) for d in demos if d.category != "chat")


def test_closed_tasks_carry_their_source_text(demos):
    # closed QA and extraction ask about text given in the prompt, so the expected answer is in it
    for d in demos:
        if d.category in ("closed_qa", "extraction"):
            assert d.constraints is not None, d.id
            if d.constraints.exact_answer:
                assert contains_answer(prompt_text(d.prompt), d.constraints.exact_answer), d.id
            for phrase in d.constraints.must_include:
                if not phrase.startswith('"'):  # JSON keys are asked for, not quoted from the text
                    assert phrase.casefold() in prompt_text(d.prompt).casefold(), d.id


def test_pretrain_corpus(texts):
    assert len(texts) >= 400
    assert len({t.id for t in texts}) == len(texts)
    assert len({t.text for t in texts}) == len(texts)
    assert all(60 <= count_words(t.text) <= 200 for t in texts)


@pytest.mark.parametrize("source, schema", [("builtin", Demonstration), ("builtin-pretrain", PretrainText)])
def test_splits_are_non_empty_disjoint_and_complete(source, schema):
    every = {r.id for r in load_records(source, schema).records}
    parts = {split: {r.id for r in load_records(source, schema, split=split).records} for split in SPLITS}
    assert all(parts.values())
    assert sum(len(ids) for ids in parts.values()) == len(every)
    assert set().union(*parts.values()) == every


def test_generator_reproduces_the_committed_files(tmp_path):
    counts = write_all(tmp_path)
    assert counts == {INSTRUCTIONS_FILE: len(BUILTIN_SOURCES["builtin"].read_text(encoding="utf-8").splitlines()),
                      PRETRAIN_FILE: len(BUILTIN_SOURCES["builtin-pretrain"].read_text(encoding="utf-8").splitlines())}
    assert (tmp_path / INSTRUCTIONS_FILE).read_bytes() == BUILTIN_SOURCES["builtin"].read_bytes()
    assert (tmp_path / PRETRAIN_FILE).read_bytes() == BUILTIN_SOURCES["builtin-pretrain"].read_bytes()
