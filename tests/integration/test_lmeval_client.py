"""lm-evaluation-harness as a real client of ``instructrl serve``: its ``local-completions`` model,
pointed at the server, scores the first TruthfulQA questions (MC1 / MC2, lm-eval's own task files) and
gets what its in-process ``hf`` model gets on the same weights. Needs lm-eval (skips without it)."""

from __future__ import annotations

import pytest

from tests.live_server import LiveServer

QUESTIONS = 8


@pytest.fixture
def served_real_model(tmp_path):
    from serve.app import create_app
    from serve.settings import Settings
    from serve.votes import VoteStore

    store = VoteStore(tmp_path / "votes.db")
    app = create_app(Settings(models=("smollm2-135m",), serve_registry=False, dtype="float32"), vote_store=store)
    with LiveServer(app) as server:
        yield f"{server.url}/v1/completions", app.state.pool.get("smollm2-135m").policy
    store.close()


@pytest.mark.slow
@pytest.mark.real_model
def test_lm_eval_local_completions_on_the_server_matches_its_hf_model(served_real_model, truthfulqa_csv, tmp_path):
    pytest.importorskip("lm_eval", reason="lm-eval is not installed (pip install -e '.[bench]')")
    import numpy as np
    from lm_eval.models.huggingface import HFLM
    from lm_eval.models.openai_completions import LocalCompletionsAPI
    from lm_eval.tasks import TaskManager

    from evals.lmeval_tasks import run_lmeval, write_lmeval_tasks
    from evals.truthfulqa import load_truthfulqa

    url, policy = served_real_model
    tasks = write_lmeval_tasks(load_truthfulqa(truthfulqa_csv, limit=QUESTIONS), tmp_path)
    manager = TaskManager(include_path=str(tmp_path))
    policy.tokenizer.save_pretrained(tmp_path / "tokenizer")  # the client tokenizes as the server does
    client = LocalCompletionsAPI(base_url=url, model="smollm2-135m", tokenizer=str(tmp_path / "tokenizer"),
                                 tokenizer_backend="huggingface", tokenized_requests=True, num_concurrent=1,
                                 max_retries=1, batch_size=4)
    served = run_lmeval(client, tasks, manager)
    in_process = run_lmeval(HFLM(pretrained=policy.model, tokenizer=policy.tokenizer, batch_size=4), tasks, manager)
    for metric in ("mc1", "mc2"):
        assert len(served[metric]) == QUESTIONS
        ours, theirs = float(np.mean(served[metric])), float(np.mean(in_process[metric]))
        print(f"{metric}: lm-eval local-completions on instructrl serve {ours:.4f}, lm-eval hf {theirs:.4f}")
        assert abs(ours - theirs) <= 0.005, (metric, ours, theirs)
        assert np.allclose(served[metric], in_process[metric], atol=0.01)  # question by question too
