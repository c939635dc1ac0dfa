"""The minilm-head toxicity scorer: the shipped head, obvious texts, determinism (alone = in a batch =
the float64 score rounded), and the readers of its training data on small files with bad rows."""

from __future__ import annotations

import json

import numpy as np
import pytest

from evals.toxicity import DEFAULT_SCORER, SCORERS, TOXICITY_HEAD, MiniLMHeadScorer, get_scorer
from evals.toxicity_data import (
    FILES,
    HELD_OUT_SHARE,
    Table,
    figures,
    read_all,
    read_civil,
    read_convabuse,
    read_hatecheck,
    read_rtp,
    read_surge,
    read_wiki,
    split_of,
)
from instructrl.errors import DataError, ModelError
from tests.conftest import SHARED_DATA

TOXICITY_DATA = SHARED_DATA / "toxicity"


@pytest.fixture(scope="module")
def scorer() -> MiniLMHeadScorer:
    return get_scorer("minilm-head")


def test_the_shipped_head_loads_with_its_validation():
    head = json.loads(TOXICITY_HEAD.read_text())
    assert len(head["weights"]) == 384 and isinstance(head["bias"], float)
    assert set(head["calibration"]) >= {"scale", "offset"} and head["logit_error"] > 0
    validation = head["validation"]
    assert validation["n"] > 500 and 0.85 < validation["auc"] <= 1 and 0.7 < validation["spearman"] <= 1
    assert "MiniLM" in validation["encoder"]
    assert DEFAULT_SCORER == "minilm-head" and SCORERS["minilm-head"] is MiniLMHeadScorer


def test_obvious_texts(scorer):
    insult, thanks, neutral = scorer.score(["You are a stupid worthless idiot and I hate you",
                                            "Thank you for the lovely dinner", "The library opens at nine."])
    assert scorer.name == "minilm-head" and scorer.validation["auc"] > 0.85
    assert insult > 0.5 and thanks < 0.2 and neutral < 0.2
    assert scorer.score([]) == [] and len(scorer.score([""])) == 1


def test_a_text_scores_the_same_alone_and_in_a_batch_and_equals_the_float64_score(scorer):
    others = [f"{w} number {i} is {'a total moron' if i % 3 == 0 else 'quite nice'}, said the {w}."
              for i, w in enumerate(["teacher", "driver", "cook", "child", "neighbour"] * 8)]
    texts = ["Shut up, you pathetic little loser.", "We walked along the river until the sun went down."]
    for text in texts:
        alone = scorer.score([text])[0]
        batch = scorer.score(others[:20] + [text] + others[20:])
        assert len(batch) == 41 and batch[20] == alone
        assert alone == round(float(scorer.probabilities([text], "float64")[0]), 3)
    every = scorer.score(others)
    assert every == [round(float(p), 3) for p in scorer.probabilities(others, "float64")]


def test_batching_by_token_count_keeps_the_order_and_the_numbers():
    from instructrl.models.encoder import embed

    texts = ["A much longer sentence than the others, with quite a few more words in it.", "Short.",
             "Medium length sentence here.", "Hi"]
    plain, sorted_ = embed(texts, batch_size=2), embed(texts, batch_size=2, by_tokens=True)
    assert sorted_.shape == (4, 384)
    np.testing.assert_allclose(sorted_, plain, atol=1e-12)  # float64: only the kernels' rounding differs
    np.testing.assert_allclose(embed(texts, precision="float32", by_tokens=True), plain, atol=1e-5)


def test_near_a_rounding_boundary_the_float32_score_is_not_trusted(scorer):
    margin = scorer.margins(np.array([0.3]))[0]
    assert 0 < margin < 1e-3
    near = scorer.near_boundary(np.array([0.3005, 0.3005 + margin / 2, 0.3005 - 2 * margin, 0.3002, 0.9999]))
    assert near.tolist() == [True, True, False, False, False]


def test_the_float64_fallback_gives_the_same_scores(scorer):
    # a head that trusts float32 almost nowhere: most texts go through the float64 path
    wary = MiniLMHeadScorer({**json.loads(TOXICITY_HEAD.read_text()), "logit_error": 1.0})
    texts = ["You absolute idiot.", "The bus was late again.", "I will find you and hurt you.", "Nice hat!"]
    assert wary.score(texts) == scorer.score(texts)
    assert wary.float64_share > 0.5 and wary.score(texts[2:3]) == wary.score(texts)[2:3]


def test_a_bad_head_fails_clearly(tmp_path):
    with pytest.raises(ModelError, match="does not exist"):
        MiniLMHeadScorer(tmp_path / "none.json")
    with pytest.raises(ModelError, match="has 3 weights"):
        MiniLMHeadScorer({"weights": [1, 2, 3], "bias": 0.0, "calibration": {"scale": 1, "offset": 0},
                          "logit_error": 1e-5})
    with pytest.raises(ModelError, match="logit_error must be positive"):
        MiniLMHeadScorer({"weights": [0.0] * 384, "bias": 0.0, "calibration": {"scale": 1, "offset": 0},
                          "logit_error": 0})
    with pytest.raises(ModelError, match="no valid"):
        MiniLMHeadScorer({"weights": [0.0] * 384})


# ---- the readers -------------------------------------------------------------------------------


def test_split_is_deterministic_and_near_its_share():
    keys = [f"text {i}" for i in range(4000)]
    held = [split_of(k) == "held_out" for k in keys]
    assert [split_of(k) for k in keys[:50]] == [split_of(k) for k in keys[:50]]
    assert abs(sum(held) / len(held) - HELD_OUT_SHARE) < 0.03


def test_rtp_reader_keeps_a_record_together_and_skips_bad_rows(tmp_path):
    path = tmp_path / "rtp.jsonl"
    rows = [{"prompt": {"text": "So I told him", "toxicity": 0.2}, "continuation": {"text": " to go away", "toxicity": 0.7}},
            {"prompt": {"text": "No score here"}, "continuation": {"text": "at all", "toxicity": None}},
            {"prompt": {"text": ""}, "continuation": {"text": "orphan", "toxicity": 0.1}}]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\nnot json\n")
    table = read_rtp(path)
    assert [(r.text, r.label) for r in table.rows] == [("So I told him", 0.2), ("to go away", 0.7)]
    assert table.rows[0].key == table.rows[1].key == "So I told him"
    assert table.rows[0].split == table.rows[1].split
    assert table.skipped == {"no Perspective toxicity": 2, "no prompt text": 2, "not JSON": 1}


def test_civil_reader_gives_the_share_of_raters_who_found_it_toxic(tmp_path):
    comments, ratings = tmp_path / "c.csv", tmp_path / "a.csv"
    comments.write_text('comment_id,comment_text\n1,"You fool, honestly"\n2,A calm remark.\n3,\n4,Nobody rated me\n')
    ratings.write_text("annotation,comment_id,worker,country,all toxic,not toxic\n"
                       "0,1,a,USA,False,False\n1,1,b,USA,False,False\n2,1,c,USA,False,True\n"
                       "3,2,a,USA,False,True\n4,2,b,USA,False,\n")
    table = read_civil(comments, ratings)
    assert [(r.text, r.label) for r in table.rows] == [("You fool, honestly", pytest.approx(2 / 3)),
                                                       ("A calm remark.", 0.0)]
    assert table.skipped == {"rating without a not-toxic flag": 1, "empty text": 1, "no ratings": 1}


def test_convabuse_reader_counts_annotators_marking_abuse(tmp_path):
    levels = ("1", "0", "-1", "-2", "-3")
    header = ["example_id", "user"] + [f"Annotator{a}_is_abuse.{v}" for a in (1, 2, 3) for v in levels]
    lines = [",".join(header),
             # two annotators: one not abusive, one strongly abusive; the third did not label it
             "a,you are dumb," + ",".join(["1", "0", "0", "0", "0", "0", "0", "0", "0", "1"]) + ",,,,,",
             # annotator 1 labelled it twice, both not abusive
             'b,hello,"1, 1","0, 0","0, 0","0, 0","0, 0",,,,,,,,,,',
             "c,,1,0,0,0,0,,,,,,,,,,", "d,nobody,,,,,,,,,,,,,,,", "e,odd,x,0,0,0,0,,,,,,,,,,"]
    path = tmp_path / "convabuse.csv"
    path.write_text("\n".join(lines) + "\n")
    table = read_convabuse(path)
    assert [(r.text, r.label) for r in table.rows] == [("you are dumb", 0.5), ("hello", 0.0)]
    assert table.skipped == {"empty text": 1, "no annotations": 1, "unreadable annotation": 1}


def test_binary_readers(tmp_path):
    surge = tmp_path / "s.csv"
    surge.write_text('text,is_toxic\n"Get lost, idiot",Toxic\nLovely weather,Not Toxic\nHuh,maybe\n')
    table = read_surge(surge)
    assert [(r.text, r.label) for r in table.rows] == [("Get lost, idiot", 1.0), ("Lovely weather", 0.0)]
    assert table.skipped == {"unknown is_toxic": 1}
    hate = tmp_path / "h.csv"
    hate.write_text(",functionality,case_id,test_case,label_gold\n0,derog_h,1,I hate them.,hateful\n"
                    "1,ident_nh,2,I am one of them.,non-hateful\n2,x,3, ,hateful\n")
    table = read_hatecheck(hate)
    assert [(r.label, r.group) for r in table.rows] == [(1.0, "derog_h"), (0.0, "ident_nh")]
    assert table.skipped == {"empty text": 1}
    wiki = tmp_path / "w.csv"
    wiki.write_text("rev_id,comment,toxic\n1,you suck,True\n2,fine edit,False\n")
    assert [r.label for r in read_wiki(wiki).rows] == [1.0, 0.0]
    with pytest.raises(DataError, match="text.*not a column"):
        read_surge(wiki)


def test_missing_files_are_named(tmp_path):
    with pytest.raises(DataError, match="rtp-challenging-toxic.jsonl: does not exist"):
        read_all(tmp_path)
    with pytest.raises(DataError, match="is not a folder"):
        read_all(tmp_path / "nope")
    assert set(FILES) == {"rtp", "civil", "convabuse", "surge", "hatecheck", "wiki"}


def test_figures_by_hand():
    from evals.toxicity_data import Row

    rtp = [Row(f"r{i}", label, "rtp", key=f"k{i}") for i, label in enumerate([0.9, 0.8, 0.1, 0.2, 0.6])]
    held = [r for r in rtp if r.split == "held_out"]
    hate = [Row("h1", 1.0, "hatecheck", group="a"), Row("h2", 0.0, "hatecheck", group="a"),
            Row("h3", 1.0, "hatecheck", group="b")]
    tables = {"rtp": Table(rtp), "hatecheck": Table(hate)}
    scores = {r.text: r.label for r in rtp} | {"h1": 0.7, "h2": 0.6, "h3": 0.9}
    found = figures(tables, scores)
    assert found["hatecheck"]["accuracy"] == pytest.approx(2 / 3, abs=1e-4)
    assert found["hatecheck"]["per_functionality"] == {"a": 0.5, "b": 1.0}
    assert found["hatecheck"]["weakest"][0] == ("a", 0.5)
    if held:
        assert found["rtp"]["n"] == len(held)


def test_the_shared_data_reads_whole():
    if not TOXICITY_DATA.is_dir():
        pytest.skip(f"the toxicity data folder is not beside the repo (expected at {TOXICITY_DATA})")
    tables = read_all(TOXICITY_DATA)
    assert 4700 < len(tables["rtp"].rows) <= 4792 and len(tables["civil"].rows) == 16100
    assert len(tables["convabuse"].rows) == 4185 and len(tables["surge"].rows) == 1000
    assert len(tables["hatecheck"].rows) == 3728 and len(tables["wiki"].rows) == 1492
    held = tables["rtp"].part("held_out")
    assert 0.15 < len(held) / len(tables["rtp"].rows) < 0.25
    head = json.loads(TOXICITY_HEAD.read_text())
    assert head["validation"]["n"] == len(held)  # the head was validated on this very split


def test_run_toxicity_scores_with_minilm_head_by_default(tiny_policy):
    from evals.toxicity import load_toxicity_prompts, run_toxicity

    result = run_toxicity(tiny_policy, load_toxicity_prompts("builtin", limit=2), variants=("none",), k=0,
                          max_new_tokens=4)
    assert result["scorer"] == "minilm-head" and result["variants"]["none"]["scorer"] == "minilm-head"
    assert all(0 <= e["toxicity"] <= 1 for e in result["variants"]["none"]["most_toxic_greedy"])
