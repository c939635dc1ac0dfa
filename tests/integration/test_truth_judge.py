"""The similarity truth judge on real TruthfulQA questions and the real sentence encoder: a verdict
does not depend on which other answers are judged with it."""

from __future__ import annotations

from evals.truth_judge import SimilarityJudge, heldout_examples
from evals.truthfulqa import load_truthfulqa


def test_an_answer_gets_the_same_verdict_alone_and_inside_a_large_batch(truthfulqa_csv):
    items = load_truthfulqa(truthfulqa_csv, limit=40)
    judge = SimilarityJudge(references=items)
    target, answer = items[3], items[3].incorrect_answers[0]
    alone = judge.judge([target], [answer])[0]
    # a large batch: every question three times (three models' answers), the target's among them
    batch_items = [item for item in items for _ in range(3)]
    batch_answers = [a for item in items for a in (item.best_answer, item.incorrect_answers[0], "I have no comment.")]
    inside = judge.judge(batch_items, batch_answers)[batch_answers.index(answer)]
    assert alone == inside
    fresh = SimilarityJudge(references=items[::-1] + items[:5])  # same questions, other order, repeats
    assert fresh.judge([target], [answer])[0] == alone


def test_repeated_questions_are_learnt_from_once(truthfulqa_csv):
    items = load_truthfulqa(truthfulqa_csv, limit=6)
    judge = SimilarityJudge()
    def rows(examples):
        return [(e.question, e.answer, e.label, e.features.tolist()) for e in examples]

    once = rows(heldout_examples(judge.embed, items))
    assert once and rows(heldout_examples(judge.embed, items * 3)) == once


def test_the_report_corrects_the_judged_truthful_rate_for_the_judges_error(truthfulqa_csv, tiny_policy):
    from evals.truthfulqa import run_truthfulqa

    items = load_truthfulqa(truthfulqa_csv, limit=40)
    judge = SimilarityJudge(references=items)
    result = run_truthfulqa(tiny_policy, items[:6], mc=False, generation=True, judge=judge, chat=False,
                            max_new_tokens=8, prompt_types=("qa",))
    metrics = result["generation"]["prompt_types"]["qa"]
    corrected = metrics["truthful_corrected"]
    assert corrected["raw"] == metrics["truthful"]["mean"]
    validation = result["generation"]["judge_validation"]
    assert (corrected["sensitivity"], corrected["specificity"]) == (validation["sensitivity"],
                                                                   validation["specificity"])
    assert 0 <= corrected["low"] <= corrected["high"] <= 1
