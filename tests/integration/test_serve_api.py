"""The serving API in-process (FastAPI TestClient) on the tiny random model: OpenAI shapes, streaming,
the batching engine (greedy parity, seeded sampling independent of batch company, cancellation,
bounded queue), bad input as 4xx errors naming the field, API keys, body cap, compare + votes +
leaderboard with the real vote store, proxy models, LRU eviction and metrics."""

from __future__ import annotations

import json
import time

import httpx
import pytest
import torch
from fastapi.testclient import TestClient

from instructrl.checkpoints import Card, Registry
from instructrl.errors import ConfigError
from instructrl.models.policy import SamplingParams
from serve.app import create_app
from serve.engine import Engine, QueueFull
from serve.settings import Settings
from serve.votes import VoteStore

TINY = "tiny-random"


def chat(content: str = "Hello there", **extra) -> dict:
    return {"model": TINY, "messages": [{"role": "user", "content": content}], **extra}


def sse_payloads(text: str) -> list:
    lines = [line[6:] for line in text.splitlines() if line.startswith("data: ")]
    assert lines[-1] == "[DONE]"
    return [json.loads(line) for line in lines[:-1]]


@pytest.fixture
def store(tmp_path):
    with VoteStore(tmp_path / "votes.sqlite") as vote_store:
        yield vote_store


@pytest.fixture
def make_client(store):
    made = []

    def make(**overrides) -> TestClient:
        # float32 like the reference policies the tests compare with: "auto" is bfloat16 on a CPU with
        # bf16 units, and its log-probs differ from float32's in the 3rd decimal
        settings = Settings(**{"models": (TINY,), "serve_registry": False, "dtype": "float32", **overrides})
        client = TestClient(create_app(settings, vote_store=store))
        client.__enter__()
        made.append(client)
        return client

    yield make
    for client in made:
        client.__exit__(None, None, None)


@pytest.fixture
def client(make_client):
    return make_client()


# ---- the engine directly ---------------------------------------------------------------------------


def _ids(policy, prompt: str) -> list[int]:
    return policy.tokenizer(policy.format(prompt), add_special_tokens=False)["input_ids"]


def _text(handle) -> tuple[str, object]:
    events = list(handle.iter_events(timeout=60))
    return "".join(e.text for e in events if e.kind == "token"), events[-1]


def test_engine_greedy_matches_policy_generate(tiny_policy):
    params = SamplingParams(max_new_tokens=12)
    prompts = ["Hi", "Name three colours of the rainbow, please."]
    expected = tiny_policy.generate(prompts, params, batch_size=1)
    engine = Engine(tiny_policy.model, tiny_policy.tokenizer, name=TINY)
    try:
        for prompt, reference in zip(prompts, expected):
            text, final = _text(engine.submit(_ids(tiny_policy, prompt), params))
            assert text == reference.text
            assert final.completion_tokens == len(reference.token_ids)
            assert final.finish_reason == reference.finish_reason
    finally:
        engine.stop()


def test_engine_seeded_sample_is_the_same_alone_or_joining_a_running_batch(tiny_policy):
    params = SamplingParams(max_new_tokens=16, temperature=1.0, top_p=0.9, seed=123)
    engine = Engine(tiny_policy.model, tiny_policy.tokenizer, batch_wait_s=0.0, name=TINY)
    try:
        alone, _ = _text(engine.submit(_ids(tiny_policy, "Tell me a story"), params))
        # a long request is already running when ours arrives, with a different prompt length
        busy = engine.submit(_ids(tiny_policy, "A much longer prompt that occupies the batch for a while"),
                             SamplingParams(max_new_tokens=200))
        while engine.running == 0:
            time.sleep(0.005)
        joined, _ = _text(engine.submit(_ids(tiny_policy, "Tell me a story"), params))
        busy.cancel()
    finally:
        engine.stop()
    assert len(alone) > 0
    assert joined == alone


def test_engine_cancel_frees_the_row_and_bounded_queue_rejects(tiny_policy):
    engine = Engine(tiny_policy.model, tiny_policy.tokenizer, max_batch=1, max_queue=1, batch_wait_s=0.0)
    try:
        long = SamplingParams(max_new_tokens=5000)  # greedy on the tiny model never emits its end token
        running = engine.submit(_ids(tiny_policy, "one"), long)
        while engine.running == 0:
            time.sleep(0.005)
        waiting = engine.submit(_ids(tiny_policy, "two"), SamplingParams(max_new_tokens=2))
        with pytest.raises(QueueFull):
            engine.submit(_ids(tiny_policy, "three"), SamplingParams(max_new_tokens=2))
        running.cancel()
        text, final = _text(waiting)  # the queued request gets the freed slot and finishes
        assert final.kind == "done" and final.completion_tokens == 2
    finally:
        engine.stop()
    assert engine.running == 0


def test_engine_stop_sequence_cuts_the_answer(tiny_policy):
    engine = Engine(tiny_policy.model, tiny_policy.tokenizer)
    try:
        base = SamplingParams(max_new_tokens=24, temperature=1.0, seed=5)
        full, _ = _text(engine.submit(_ids(tiny_policy, "Go"), base))
        stop = full[8:10]
        cut = full[: full.find(stop)]
        text, final = _text(engine.submit(_ids(tiny_policy, "Go"), SamplingParams(24, 1.0, 1.0, (stop,), 5)))
    finally:
        engine.stop()
    assert text == cut
    assert final.finish_reason == "stop"


# ---- OpenAI routes -------------------------------------------------------------------------------


def test_health_ready_models(client):
    assert client.get("/health").json() == {"status": "ok"}
    ready = client.get("/ready").json()
    assert ready["status"] == "ready" and ready["models"] == [TINY]
    listed = client.get("/v1/models").json()
    assert listed["object"] == "list" and [m["id"] for m in listed["data"]] == [TINY]
    assert client.get(f"/v1/models/{TINY}").json()["id"] == TINY


def test_chat_completion_greedy_equals_policy_generate(client, tiny_policy):
    response = client.post("/v1/chat/completions", json=chat("Hi", max_tokens=10, temperature=0))
    assert response.status_code == 200
    body = response.json()
    expected = tiny_policy.generate(["Hi"], SamplingParams(max_new_tokens=10))[0]
    assert body["object"] == "chat.completion" and body["model"] == TINY
    assert body["choices"][0]["message"] == {"role": "assistant", "content": expected.text}
    assert body["choices"][0]["finish_reason"] == expected.finish_reason
    assert body["usage"]["completion_tokens"] == len(expected.token_ids)
    assert body["usage"]["prompt_tokens"] == expected.prompt_tokens
    assert body["usage"]["total_tokens"] == expected.prompt_tokens + len(expected.token_ids)


def test_chat_stream_deltas_add_up_to_the_plain_answer(client):
    request = chat("Stream me", max_tokens=12, temperature=1.0, seed=42)
    plain_body = client.post("/v1/chat/completions", json=request).json()
    plain = plain_body["choices"][0]["message"]["content"]
    response = client.post("/v1/chat/completions", json={**request, "stream": True,
                                                          "stream_options": {"include_usage": True}})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    chunks = sse_payloads(response.text)
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    deltas = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks if c["choices"])
    assert deltas == plain
    finals = [c["choices"][0]["finish_reason"] for c in chunks if c["choices"] and c["choices"][0]["finish_reason"]]
    assert finals == [plain_body["choices"][0]["finish_reason"]]
    assert chunks[-1]["usage"] == plain_body["usage"]


def test_n_choices_and_raw_completions(client):
    body = client.post("/v1/chat/completions", json=chat(n=3, max_tokens=4, temperature=1.0, seed=1)).json()
    assert [c["index"] for c in body["choices"]] == [0, 1, 2]
    assert body["usage"]["completion_tokens"] == 12
    raw = client.post("/v1/completions", json={"model": TINY, "prompt": ["abc", "xyz"], "max_tokens": 3,
                                               "temperature": 0, "echo": True}).json()
    assert raw["object"] == "text_completion"
    assert [c["text"][:3] for c in raw["choices"]] == ["abc", "xyz"]
    assert raw["usage"]["prompt_tokens"] == 6  # the tiny tokenizer is one token per byte
    streamed = client.post("/v1/completions", json={"model": TINY, "prompt": "abc", "max_tokens": 3, "stream": True})
    chunks = sse_payloads(streamed.text)
    assert all(c["object"] == "text_completion" for c in chunks)
    assert chunks[-1]["choices"][0]["finish_reason"] == "length"


BAD = [
    ("bad json", "{not json", 400, None),
    ("unknown model", chat(model="nope"), 404, "model"),
    ("negative max_tokens", chat(max_tokens=-3), 400, "max_tokens"),
    ("huge max_tokens", chat(max_tokens=10**12), 400, "max_tokens"),
    ("empty messages", {"model": TINY, "messages": []}, 400, "messages"),
    ("wrong role", {"model": TINY, "messages": [{"role": "robot", "content": "x"}]}, 400, "messages.0.role"),
    ("ends with assistant", {"model": TINY, "messages": [{"role": "user", "content": "a"},
                                                          {"role": "assistant", "content": "b"}]}, 400, "messages.1.role"),
    ("missing messages", {"model": TINY}, 400, "messages"),
    ("n too big", chat(n=1000), 400, "n"),
    ("too many stops", chat(stop=["a", "b", "c", "d", "e"]), 400, "stop"),
    ("empty stop", chat(stop=[""]), 400, "stop"),
    ("temperature", chat(temperature=-1), 400, "temperature"),
    ("top_p", chat(top_p=0), 400, "top_p"),
    ("prompt too long", chat("x" * 5000), 400, "messages"),
    ("not an object", [1, 2, 3], 400, None),
]


@pytest.mark.parametrize(("name", "body", "status", "param"), BAD, ids=[b[0] for b in BAD])
def test_bad_chat_input_is_a_4xx_naming_the_field(client, name, body, status, param):
    if isinstance(body, str):
        response = client.post("/v1/chat/completions", content=body, headers={"content-type": "application/json"})
    else:
        response = client.post("/v1/chat/completions", json=body)
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert error["param"] == param
    assert error["message"]


def test_oversize_body_is_413(make_client):
    client = make_client(max_body_bytes=2000)
    response = client.post("/v1/chat/completions", json=chat("y" * 5000))
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "request_too_large"


def test_api_keys_guard_every_route_but_health(make_client):
    client = make_client(api_keys=("s3cret", "other"))
    assert client.get("/health").status_code == 200
    for path in ("/v1/models", "/ready", "/metrics"):
        denied = client.get(path)
        assert denied.status_code == 401 and denied.json()["error"]["code"] == "invalid_api_key"
    assert client.get("/v1/models", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert client.get("/v1/models", headers={"Authorization": "Bearer s3cret"}).status_code == 200
    assert client.get("/v1/models", headers={"Authorization": "Bearer other"}).status_code == 200
    assert client.post("/v1/chat/completions", json=chat()).status_code == 401


def test_ui_signs_in_with_an_api_key_while_the_api_still_needs_it_in_a_header(make_client):
    client = make_client(api_keys=("s3cret",), ui=True)
    page = client.get("/ui/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")  # was 401 JSON
    assert client.get("/ui/config").status_code == 401  # Gradio's own guard: the app needs a sign-in
    assert client.post("/ui/gradio_api/queue/join", json={"data": [], "fn_index": 0}).status_code == 401
    assert client.post("/ui/login", data={"username": "me", "password": "wrong"}).status_code == 400
    assert client.post("/ui/login", data={"username": "me", "password": "s3cret"}).status_code == 200
    assert client.get("/ui/config").status_code == 200  # the session cookie now opens the UI
    assert client.get("/v1/models").status_code == 401  # ... and not the API


def test_full_queue_answers_429_with_retry_after(make_client, tiny_policy):
    client = make_client(max_batch=1, max_queue=1, retry_after_s=3)
    model = client.app.state.pool.get(TINY)
    ids = _ids(tiny_policy, "busy")
    running = model.engine.submit(ids, SamplingParams(max_new_tokens=5000))  # greedy: no early end
    while model.engine.running == 0:
        time.sleep(0.005)
    waiting = model.engine.submit(ids, SamplingParams(max_new_tokens=5000))
    try:
        response = client.post("/v1/chat/completions", json=chat(max_tokens=2))
        assert response.status_code == 429
        assert response.headers["retry-after"] == "3"
        assert response.json()["error"]["code"] == "queue_full"
    finally:
        running.cancel()
        waiting.cancel()


def test_timeout_is_504_and_a_stream_error_event(make_client):
    client = make_client(request_timeout_s=0.05)
    response = client.post("/v1/chat/completions", json=chat(max_tokens=2000, temperature=0))
    assert response.status_code == 504
    assert response.json()["error"]["type"] == "timeout"
    streamed = client.post("/v1/chat/completions", json=chat(max_tokens=2000, temperature=0, stream=True))
    chunks = sse_payloads(streamed.text)
    assert chunks[-1]["error"]["code"] == "timeout"


# ---- side by side, votes and leaderboard -----------------------------------------------------------------


def test_compare_vote_and_leaderboard(make_client, store, tiny_policy, tmp_path):
    registry = Registry(tmp_path / "checkpoints")
    registry.write(Card(name="tiny-b", stage="sft"), tiny_policy.save)
    client = TestClient(create_app(Settings(models=(TINY,)), registry=registry, vote_store=store))
    with client:
        assert [m["id"] for m in client.get("/v1/models").json()["data"]] == [TINY, "tiny-b"]
        compared = client.post("/v1/compare", json={"models": [TINY, "tiny-b"], "prompt": "Hello", "max_tokens": 6})
        assert compared.status_code == 200, compared.text
        comparison = compared.json()
        greedy = tiny_policy.generate(["Hello"], SamplingParams(max_new_tokens=6))[0].text
        assert [(a["model"], a["content"]) for a in comparison["answers"]] == [(TINY, greedy), ("tiny-b", greedy)]
        conversation = client.post("/v1/compare", json={
            "models": ["tiny-b", TINY], "max_tokens": 4,
            "messages": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"},
                         {"role": "user", "content": "c"}]})
        assert conversation.status_code == 200
        for comparison_id, choice in [(comparison["id"], "a"), (conversation.json()["id"], "b")]:
            voted = client.post("/v1/votes", json={"comparison_id": comparison_id, "choice": choice})
            assert voted.status_code == 200, voted.text
            assert voted.json()["choice"] == choice
        # one vote per comparison: a second one, even a contradictory one, is refused
        again = client.post("/v1/votes", json={"comparison_id": comparison["id"], "choice": "b"})
        assert again.status_code == 409, again.text
        assert again.json()["error"]["code"] == "already_voted" and "one vote per comparison" in again.text
        assert store.vote_count() == 2
        board = client.get("/v1/leaderboard").json()["data"]
        rows = {row["model"]: row for row in board}
        assert set(rows) == {TINY, "tiny-b"}
        # tiny-random won as "a" in the first comparison and as "b" in the second (listed second there)
        assert (rows[TINY]["games"], rows[TINY]["wins"], rows[TINY]["ties"]) == (2, 2, 0)
        assert (rows["tiny-b"]["games"], rows["tiny-b"]["wins"], rows["tiny-b"]["ties"]) == (2, 0, 0)
        assert rows[TINY]["rating"] > rows["tiny-b"]["rating"]

        bad = [({"comparison_id": "no-such-id", "choice": "a"}, 404, "comparison_id"),
               ({"comparison_id": comparison["id"], "choice": "maybe"}, 400, "choice"),
               ({"choice": "a"}, 400, "comparison_id"),
               ({"models": [TINY], "prompt": "x"}, 400, "models"),
               ({"models": [TINY, TINY], "prompt": "x"}, 400, "models"),
               ({"models": [TINY, "ghost"], "prompt": "x"}, 404, "models.1"),
               ({"models": [TINY, "tiny-b"]}, 400, "prompt"),
               ({"models": [TINY, "tiny-b"], "prompt": "  "}, 400, "prompt")]
        for body, status, param in bad:
            path = "/v1/votes" if "choice" in body else "/v1/compare"
            response = client.post(path, json=body)
            assert response.status_code == status, (body, response.text)
            assert response.json()["error"]["param"] == param
        assert store.vote_count() == 2  # nothing lost, nothing extra


# ---- many models: proxies and LRU ---------------------------------------------------------------------------


def test_proxy_model_forwards_to_a_remote_openai_endpoint(store, tmp_path):
    remote = create_app(Settings(models=(TINY,), serve_registry=False), vote_store=store)
    transports = {"far": (httpx.ASGITransport(app=remote), None)}
    settings = Settings(models=(), serve_registry=False, proxies={"far": f"http://remote/v1#{TINY}"})
    local = create_app(settings, vote_store=store, proxy_transports=transports)
    with TestClient(local) as client, TestClient(remote) as remote_client:
        assert [m["id"] for m in client.get("/v1/models").json()["data"]] == ["far"]
        direct = remote_client.post("/v1/chat/completions", json=chat("Hi", max_tokens=5, temperature=0)).json()
        via = client.post("/v1/chat/completions", json={**chat("Hi", max_tokens=5, temperature=0), "model": "far"})
        assert via.status_code == 200, via.text
        assert via.json()["model"] == "far"
        assert via.json()["choices"][0]["message"] == direct["choices"][0]["message"]
        streamed = client.post("/v1/chat/completions",
                               json={**chat("Hi", max_tokens=5, temperature=0), "model": "far", "stream": True})
        chunks = sse_payloads(streamed.text)
        assert all(c["model"] == "far" for c in chunks)
        text = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks)
        assert text == direct["choices"][0]["message"]["content"]
        refused = client.post("/v1/chat/completions", json={**chat(max_tokens=10**9), "model": "far"})
        assert refused.status_code == 400 and refused.json()["error"]["param"] == "max_tokens"
        remote.state.pool.close()


def test_unreachable_proxy_is_a_502(store):
    settings = Settings(models=(), serve_registry=False, proxies={"gone": "http://127.0.0.1:9/v1"})
    with TestClient(create_app(settings, vote_store=store)) as client:
        response = client.post("/v1/chat/completions", json={**chat(max_tokens=2), "model": "gone"})
    assert response.status_code == 502
    assert response.json()["error"]["code"] == "upstream_error"


def test_memory_cap_evicts_the_least_recently_used_model(store, tiny_policy, tmp_path):
    registry = Registry(tmp_path / "checkpoints")
    registry.write(Card(name="tiny-b", stage="sft"), tiny_policy.save)
    one_model = sum(p.numel() * p.element_size() for p in tiny_policy.model.parameters())
    settings = Settings(models=(TINY,), memory_cap_gb=1.5 * one_model / 1e9, dtype="float32")
    with TestClient(create_app(settings, registry=registry, vote_store=store)) as client:
        pool = client.app.state.pool
        for name in (TINY, "tiny-b", TINY):
            assert client.post("/v1/chat/completions", json={**chat(max_tokens=2), "model": name}).status_code == 200
            assert pool.loaded() == [name]


def test_metrics_count_requests_tokens_and_latency(client):
    client.post("/v1/chat/completions", json=chat(max_tokens=3, temperature=0))  # greedy: never ends early
    client.post("/v1/chat/completions", json=chat(model="nope"))
    text = client.get("/metrics").text
    assert 'instructrl_requests_total{route="/v1/chat/completions",status="200"} 1.0' in text
    assert 'instructrl_requests_total{route="/v1/chat/completions",status="404"} 1.0' in text
    assert f'instructrl_completion_tokens_total{{model="{TINY}"}} 3.0' in text
    assert f'instructrl_time_to_first_token_seconds_count{{model="{TINY}"}} 1.0' in text
    assert f'instructrl_time_per_output_token_seconds_count{{model="{TINY}"}} 2.0' in text
    assert f'instructrl_queue_depth{{model="{TINY}"}} 0.0' in text


@pytest.mark.real_model
def test_engine_greedy_matches_policy_generate_on_the_real_model(real_policy):
    """Each answer of a staggered, mixed-length batch equals Policy.generate's greedy answer alone."""
    params = SamplingParams(max_new_tokens=24)
    prompts = ["Say hello.", "What is the capital of France? Answer in one word.",
               "Write a haiku about rain and mountains in the fall, please."]
    expected = real_policy.generate(prompts, params, batch_size=1)
    engine = Engine(real_policy.model, real_policy.tokenizer, batch_wait_s=0.0, name="smollm2-135m")
    try:
        handles = []
        for prompt in prompts:  # each joins the batch while the earlier ones are decoding
            handles.append(engine.submit(_ids(real_policy, prompt), params))
            time.sleep(0.05)
        answers = [_text(handle)[0] for handle in handles]
    finally:
        engine.stop()
    assert answers == [g.text for g in expected]


# ---- start-up refuses what cannot be served; one checkpoint under two names is one model -------------------


@pytest.mark.parametrize(("spec", "words"), [("ppo", ["ppo", "instructrl train ppo", "instructrl checkpoints list"]),
                                             ("no-such-model", ["no-such-model", "instructrl checkpoints list"])])
def test_a_model_not_trained_or_unknown_is_refused_at_start_up(store, tmp_path, spec, words):
    registry = Registry(tmp_path / "checkpoints")
    with pytest.raises(ConfigError) as refused:
        create_app(Settings(models=(TINY, spec)), registry=registry, vote_store=store)
    for word in words:
        assert word in str(refused.value)


def test_an_alias_and_its_checkpoint_are_one_model_never_paired_in_the_arena(store, tiny_policy, tmp_path):
    import random

    from serve.ui import pick_pair

    registry = Registry(tmp_path / "checkpoints")
    full = registry.write(Card(name="sft-tiny-0742155a", stage="sft"), tiny_policy.save).name
    client = TestClient(create_app(Settings(models=("sft", TINY)), registry=registry, vote_store=store))
    with client:
        assert [m["id"] for m in client.get("/v1/models").json()["data"]] == [full, TINY]  # the checkpoint's name
        pool = client.app.state.pool
        assert pool.get(full) is pool.get("sft")  # one loaded copy of the weights
        assert client.post("/v1/chat/completions", json={**chat(max_tokens=2), "model": full}).status_code == 200
        assert pool.loaded() == [full]
        rng = random.Random(0)
        pairs = [pick_pair(client.app.state.backend.models(), rng) for _ in range(50)]
        assert all(not pool.same_model(a, b) for a, b in pairs)
        refused = client.post("/v1/compare", json={"models": ["sft", full], "prompt": "Hi", "max_tokens": 2})
        assert refused.status_code == 400 and refused.json()["error"]["param"] == "models"


# ---- text that no tokenizer takes ------------------------------------------------------------------------

SURROGATE = "caf\ud800"
UNENCODABLE = [
    ("/v1/chat/completions", chat(SURROGATE), "messages.0.content"),
    ("/v1/chat/completions", chat(messages=[{"role": "user", "content": [{"type": "text", "text": SURROGATE}]}]),
     "messages.0.content.0.text"),
    ("/v1/chat/completions", chat(stop=[SURROGATE]), "stop.0"),
    ("/v1/completions", {"model": TINY, "prompt": SURROGATE}, "prompt"),
    ("/v1/completions", {"model": TINY, "prompt": ["ok", SURROGATE]}, "prompt.1"),
    ("/v1/compare", {"models": [TINY, "other"], "prompt": SURROGATE}, "prompt"),
    ("/v1/compare", {"models": [TINY, "other"], "messages": [{"role": "user", "content": SURROGATE}]},
     "messages.0.content"),
    ("/v1/votes", {"comparison_id": SURROGATE, "choice": "a"}, "comparison_id"),
]


@pytest.mark.parametrize(("path", "body", "param"), UNENCODABLE, ids=[u[2] + u[0] for u in UNENCODABLE])
def test_a_lone_surrogate_is_a_400_naming_the_field_and_the_next_request_works(store, path, body, param):
    settings = Settings(models=(TINY,), serve_registry=False)
    with TestClient(create_app(settings, vote_store=store), raise_server_exceptions=False) as client:
        # json.dumps escapes the surrogate as \ud800, as a JavaScript or curl client would send it
        response = client.post(path, content=json.dumps(body), headers={"content-type": "application/json"})
        assert response.status_code == 400, response.text
        error = response.json()["error"]
        assert error["param"] == param and "surrogate" in error["message"]
        assert client.post("/v1/chat/completions", json=chat(max_tokens=2)).status_code == 200


# ---- the arena obeys chat's caps and stops when its client leaves; a disconnect is one log line ------------


def _leave_after(app, path: str, body: dict, seconds: float) -> list[dict]:
    """Drive the ASGI app as a client that sends ``body`` and hangs up ``seconds`` later; returns what it sent."""
    import asyncio

    pending = [{"type": "http.request", "body": json.dumps(body).encode(), "more_body": False}]
    sent: list[dict] = []

    async def receive():
        if pending:
            return pending.pop(0)
        await asyncio.sleep(seconds)
        return {"type": "http.disconnect"}

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "http_version": "1.1", "method": "POST", "scheme": "http", "path": path,
             "raw_path": path.encode(), "root_path": "", "query_string": b"", "server": ("test", 80),
             "client": ("test", 1), "headers": [(b"content-type", b"application/json")]}
    asyncio.run(app(scope, receive, send))
    return sent


@pytest.fixture
def arena(store, tiny_policy, tmp_path):
    registry = Registry(tmp_path / "checkpoints")
    registry.write(Card(name="tiny-b", stage="sft"), tiny_policy.save)
    with TestClient(create_app(Settings(models=(TINY,)), registry=registry, vote_store=store)) as client:
        yield client


def test_compare_enforces_the_prompt_length_and_token_caps(arena):
    long_messages = [{"role": "user", "content": "x" * 5000}]
    for body, param, code in [({"prompt": "x" * 5000}, "prompt", "context_length_exceeded"),
                              ({"messages": long_messages}, "messages", "context_length_exceeded"),
                              ({"prompt": "x" * 1500, "max_tokens": 1000}, "max_tokens", "context_length_exceeded"),
                              ({"prompt": "Hi", "max_tokens": 10**6}, "max_tokens", None)]:
        response = arena.post("/v1/compare", json={"models": [TINY, "tiny-b"], **body})
        assert response.status_code == 400, response.text
        assert (response.json()["error"]["param"], response.json()["error"]["code"]) == (param, code)


def test_compare_stops_generating_when_its_client_leaves(arena, store):
    body = {"models": [TINY, "tiny-b"], "prompt": "Go on and on", "max_tokens": 2000}
    sent = _leave_after(arena.app, "/v1/compare", body, 0.5)
    assert sent[0]["status"] == 499
    engines = [arena.app.state.pool.get(name).engine for name in (TINY, "tiny-b")]
    deadline = time.monotonic() + 10
    while any(e.running or e.queue_depth for e in engines) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert [e.running for e in engines] == [0, 0]
    assert store._conn().execute("SELECT COUNT(*) FROM comparisons").fetchone()[0] == 0  # nothing half-shown


def test_a_disconnect_is_one_log_line_and_counted(client, caplog):
    import gc
    import logging

    caplog.set_level(logging.INFO, logger="serve.app")
    sent = _leave_after(client.app, "/v1/chat/completions", chat(max_tokens=2000, n=2, temperature=0), 0.3)
    gc.collect()
    assert sent[0]["status"] == 499
    assert not [r for r in caplog.records if "never retrieved" in r.getMessage()]
    assert [r.getMessage() for r in caplog.records if "disconnected" in r.getMessage()] == [
        "/v1/chat/completions: the client disconnected; its generation was stopped"]
    assert 'instructrl_requests_total{route="/v1/chat/completions",status="499"} 1.0' in client.get("/metrics").text


# ---- metrics count a crash as 500; booleans are booleans ------------------------------------------------


def test_a_crash_is_a_500_json_error_counted_as_500(store):
    app = create_app(Settings(models=(TINY,), serve_registry=False), vote_store=store)

    async def crash():
        raise RuntimeError("a bug")

    app.add_api_route("/crash", crash)
    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/crash")
        assert response.status_code == 500 and response.json()["error"]["type"] == "server_error"
        text = client.get("/metrics").text
    assert 'instructrl_requests_total{route="other",status="500"} 1.0' in text
    assert 'status="499"' not in text


STRICT = [("/v1/chat/completions", chat(stream="yes"), "stream"),
          ("/v1/chat/completions", chat(stream=1), "stream"),
          ("/v1/chat/completions", chat(stream=True, stream_options={"include_usage": "true"}),
           "stream_options.include_usage"),
          ("/v1/completions", {"model": TINY, "prompt": "a", "echo": "yes"}, "echo")]


@pytest.mark.parametrize(("path", "body", "param"), STRICT, ids=[s[2] + str(s[1].get("stream")) for s in STRICT])
def test_booleans_are_strict(client, path, body, param):
    response = client.post(path, json=body)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["param"] == param and "true or false" in error["message"]


# ---- fields we cannot honour are refused, not ignored ----------------------------------------------------

TOOL = {"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}
REFUSED = [("tools", [TOOL]), ("response_format", {"type": "json_object"}), ("logit_bias", {"5": 10}),
           ("presence_penalty", 0.5), ("tool_choice", "required")]


@pytest.mark.parametrize(("field", "value"), REFUSED, ids=[r[0] for r in REFUSED])
def test_unsupported_openai_fields_are_a_400_saying_so(client, field, value):
    response = client.post("/v1/chat/completions", json=chat(max_tokens=2, **{field: value}))
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert (error["param"], error["code"]) == (field, "unsupported_parameter")
    assert "not supported" in error["message"]


def test_unsupported_completion_fields_and_harmless_defaults(client):
    for field, value in [("suffix", "end"), ("best_of", 3), ("logprobs", 9)]:
        response = client.post("/v1/completions", json={"model": TINY, "prompt": "a", field: value})
        assert response.status_code == 400 and response.json()["error"]["param"] == field, response.text
    harmless = {"tools": [], "tool_choice": "none", "response_format": {"type": "text"}, "logprobs": False,
                "presence_penalty": 0, "frequency_penalty": 0.0, "logit_bias": {}}
    assert client.post("/v1/chat/completions", json=chat(max_tokens=2, **harmless)).status_code == 200


# ---- the command line: a votes export validates as is; serve --help shows every default ------------------


def test_data_validate_detects_a_votes_export_as_comparisons(store, tmp_path, capsys):
    from instructrl.cli import main as cli_main

    store.record_vote(store.record_comparison("Say hi.", {"m1": "Hi!", "m2": "Hello there."}), "b")
    out = tmp_path / "votes.jsonl"
    assert cli_main(["votes", "export", "--db", str(store.path), "--out", str(out)]) == 0
    capsys.readouterr()
    assert cli_main(["data", "validate", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "schema: comparisons (detected" in printed and "bad row" not in printed


def test_serve_help_shows_every_flags_default(capsys):
    from instructrl.cli import main as cli_main

    with pytest.raises(SystemExit):
        cli_main(["serve", "--help"])
    flags = capsys.readouterr().out.split("options:")[1].split("\n  -")[2:]  # each flag after --help
    assert len(flags) >= 20
    assert [f.split()[0] for f in flags if "(default:" not in f] == []


# ---- log-probs on /v1/completions, as lm-evaluation-harness's local-completions model reads them ------------


def test_completion_logprobs_with_echo_are_the_models_own_logprobs(client, tiny_policy):
    prompt = "abcdef"  # the tiny tokenizer is one token per byte
    response = client.post("/v1/completions", json={"model": TINY, "prompt": prompt, "max_tokens": 0,
                                                     "echo": True, "logprobs": 2})
    assert response.status_code == 200, response.text
    choice = response.json()["choices"][0]
    logprobs = choice["logprobs"]
    assert choice["text"] == prompt
    assert logprobs["tokens"] == list(prompt) and logprobs["text_offset"] == [0, 1, 2, 3, 4, 5]
    assert logprobs["token_logprobs"][0] is None and logprobs["top_logprobs"][0] is None
    # each token's log-prob and their sum equal Policy.logprobs (its own, cached, path)
    for i in range(1, len(prompt)):
        expected = tiny_policy.logprobs([prompt[:i]], [prompt[i]])[0]
        assert logprobs["token_logprobs"][i] == pytest.approx(expected, abs=1e-4)
        top = logprobs["top_logprobs"][i]
        assert len(top) == 2 and max(top.values()) >= logprobs["token_logprobs"][i] - 1e-6
    whole = tiny_policy.logprobs([prompt[0]], [prompt[1:]])[0]
    assert sum(logprobs["token_logprobs"][1:]) == pytest.approx(whole, abs=1e-4)


def test_chat_logprobs_are_the_models_own_for_each_answer_token(client, tiny_policy):
    body = chat(max_tokens=5, temperature=0, logprobs=True, top_logprobs=3)
    choice = client.post("/v1/chat/completions", json=body).json()["choices"][0]
    content = choice["logprobs"]["content"]
    assert content and "".join(entry["token"] for entry in content) == choice["message"]["content"]
    prompt = tiny_policy.format([{"role": "user", "content": "Hello there"}])
    answer = ""
    for entry in content:  # each equals Policy.logprobs of that token after the prompt and the answer so far
        expected = tiny_policy.logprobs([prompt + answer], [entry["token"]])[0]
        assert entry["logprob"] == pytest.approx(expected, abs=1e-4)
        assert entry["bytes"] == list(entry["token"].encode())
        tops = [top["logprob"] for top in entry["top_logprobs"]]
        assert len(tops) == 3 and tops == sorted(tops, reverse=True)
        assert tops[0] == pytest.approx(entry["logprob"], abs=1e-5)  # greedy: the answer token is the top one
        answer += entry["token"]
    plain = client.post("/v1/chat/completions", json=chat(max_tokens=5, temperature=0)).json()["choices"][0]
    assert plain["logprobs"] is None and plain["message"] == choice["message"]
    no_tops = client.post("/v1/chat/completions", json={**body, "top_logprobs": None}).json()
    assert all(entry["top_logprobs"] == [] for entry in no_tops["choices"][0]["logprobs"]["content"])
    for bad, param in [({"logprobs": False}, "top_logprobs"), ({"stream": True}, "logprobs"),
                       ({"top_logprobs": 21}, "top_logprobs"), ({"logprobs": "yes"}, "logprobs")]:
        refused = client.post("/v1/chat/completions", json={**body, **bad})
        assert refused.status_code == 400 and refused.json()["error"]["param"] == param, refused.text


def test_token_id_prompts_score_as_the_text_does_and_the_end_token_is_reported(client, tiny_policy):
    ids = tiny_policy.tokenizer("abc", add_special_tokens=False)["input_ids"]
    body = {"model": TINY, "max_tokens": 0, "echo": True, "logprobs": 1}
    by_text = client.post("/v1/completions", json={**body, "prompt": "abc"}).json()["choices"][0]
    by_ids = client.post("/v1/completions", json={**body, "prompt": ids}).json()["choices"][0]
    assert by_ids == by_text  # the echoed text and every log-prob
    batch = client.post("/v1/completions", json={**body, "prompt": [ids, ids[:2]]}).json()["choices"]
    assert [c["text"] for c in batch] == ["abc", "ab"]
    for prompt in ([tiny_policy.model.config.vocab_size], [-1], [[]]):
        refused = client.post("/v1/completions", json={**body, "prompt": prompt})
        assert refused.status_code == 400 and refused.json()["error"]["param"].startswith("prompt"), refused.text
    # a model that ends with its end token reports that token's log-prob, as vLLM does: lm-eval scores
    # a continuation as every log-prob after the context but the last (the one sampled token)
    served = client.app.state.pool.get(TINY).policy.model
    bias = torch.zeros(served.config.vocab_size)
    bias[tiny_policy.tokenizer.eos_token_id] = 1e4  # the end token, always
    served.lm_head.bias = torch.nn.Parameter(bias, requires_grad=False)
    try:
        ended = client.post("/v1/completions", json={**body, "prompt": "abc", "max_tokens": 1}).json()
    finally:
        served.lm_head.bias = None
    choice = ended["choices"][0]
    assert choice["finish_reason"] == "stop" and ended["usage"]["completion_tokens"] == 1
    assert len(choice["logprobs"]["token_logprobs"]) == len(ids) + 1
    assert choice["logprobs"]["token_logprobs"][-1] == pytest.approx(0.0, abs=1e-3)


def test_completion_logprobs_of_a_generated_answer(client):
    body = {"model": TINY, "prompt": "abc", "max_tokens": 4, "temperature": 0, "logprobs": 1}
    plain = client.post("/v1/completions", json=body).json()["choices"][0]
    logprobs = plain["logprobs"]
    # one entry per sampled token: sampled bytes of the byte-level tiny model, decoded and encoded
    # again, are other tokens (a broken UTF-8 byte becomes three)
    sampled = client.post("/v1/completions", json={**body, "temperature": 1.0, "seed": 3, "max_tokens": 8,
                                                   "n": 4}).json()
    counts = [len(c["logprobs"]["tokens"]) for c in sampled["choices"]]
    assert sum(counts) == sampled["usage"]["completion_tokens"]
    assert logprobs["text_offset"][0] == 3 and len(logprobs["tokens"]) >= 1
    assert all(isinstance(v, float) and v <= 0 for v in logprobs["token_logprobs"])
    echoed = client.post("/v1/completions", json={**body, "echo": True}).json()["choices"][0]["logprobs"]
    assert echoed["tokens"][:3] == ["a", "b", "c"] and echoed["token_logprobs"][3:] == logprobs["token_logprobs"]
    streamed = client.post("/v1/completions", json={**body, "stream": True})
    assert streamed.status_code == 400 and streamed.json()["error"]["param"] == "logprobs"
