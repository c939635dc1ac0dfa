"""The official ``openai`` Python client, unmodified, against a live uvicorn server on a loopback port
(tiny random model): models, chat and text completions (plain and streamed), the exceptions each
error status maps to, API keys, a mid-stream error, client disconnects cancelling work, graceful
shutdown finishing an in-flight stream, and (slow) 64 concurrent clients for 60 s with no 5xx."""

from __future__ import annotations

import asyncio
import threading
import time
from collections import Counter

import httpx
import openai
import pytest

from serve.app import create_app
from serve.settings import Settings
from serve.votes import VoteStore
from tests.live_server import LiveServer

TINY = "tiny-random"
KEY = "test-key"


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    store = VoteStore(tmp_path_factory.mktemp("votes") / "votes.sqlite")
    settings = Settings(models=(TINY,), serve_registry=False, api_keys=(KEY,), max_tokens_cap=256)
    with LiveServer(create_app(settings, vote_store=store)) as server:
        yield server
    store.close()


@pytest.fixture
def client(live):
    return openai.OpenAI(base_url=f"{live.url}/v1", api_key=KEY, max_retries=0, timeout=60)


def test_models_and_chat_completion(client):
    assert [m.id for m in client.models.list()] == [TINY]
    assert client.models.retrieve(TINY).id == TINY
    request = {"model": TINY, "messages": [{"role": "user", "content": "Hi"}], "max_tokens": 8,
               "temperature": 1.0, "seed": 3}
    answer = client.chat.completions.create(**request)
    assert answer.object == "chat.completion"
    assert answer.choices[0].message.role == "assistant"
    assert 1 <= answer.usage.completion_tokens <= 8
    assert answer.usage.total_tokens == answer.usage.prompt_tokens + answer.usage.completion_tokens
    again = client.chat.completions.create(**request)  # same seed, same sample
    assert again.choices[0].message.content == answer.choices[0].message.content


def test_streamed_chat_equals_plain_chat(client):
    request = {"model": TINY, "messages": [{"role": "system", "content": "Be brief."},
                                           {"role": "user", "content": "Count"}],
               "max_tokens": 10, "temperature": 0.8, "seed": 11}
    plain = client.chat.completions.create(**request)
    pieces, finish = [], None
    for chunk in client.chat.completions.create(**request, stream=True):
        if chunk.choices:
            pieces.append(chunk.choices[0].delta.content or "")
            finish = chunk.choices[0].finish_reason or finish
    assert "".join(pieces) == plain.choices[0].message.content
    assert finish == plain.choices[0].finish_reason


def test_text_completion(client):
    result = client.completions.create(model=TINY, prompt="Once upon", max_tokens=5, temperature=0)
    assert result.object == "text_completion"
    assert result.usage.prompt_tokens == len(b"Once upon")
    streamed = "".join(c.choices[0].text for c in client.completions.create(
        model=TINY, prompt="Once upon", max_tokens=5, temperature=0, stream=True))
    assert streamed == result.choices[0].text


def test_logprobs_parse_into_the_clients_types(client):
    chat = client.chat.completions.create(model=TINY, messages=[{"role": "user", "content": "Hi"}], max_tokens=4,
                                          temperature=0, logprobs=True, top_logprobs=2)
    content = chat.choices[0].logprobs.content
    assert "".join(t.token for t in content) == chat.choices[0].message.content
    assert all(t.logprob <= 0 and len(t.top_logprobs) == 2 for t in content)
    scored = client.completions.create(model=TINY, prompt="Once upon", max_tokens=0, echo=True, logprobs=1)
    logprobs = scored.choices[0].logprobs
    assert logprobs.tokens == list("Once upon") and logprobs.token_logprobs[0] is None
    assert all(v <= 0 for v in logprobs.token_logprobs[1:])


def test_errors_map_to_the_clients_exceptions(client, live):
    messages = [{"role": "user", "content": "x"}]
    with pytest.raises(openai.NotFoundError) as missing:
        client.chat.completions.create(model="no-such-model", messages=messages)
    assert missing.value.body["param"] == "model"
    with pytest.raises(openai.BadRequestError) as bad:
        client.chat.completions.create(model=TINY, messages=messages, max_tokens=-1)
    assert bad.value.body["param"] == "max_tokens"
    with pytest.raises(openai.BadRequestError):
        client.chat.completions.create(model=TINY, messages=[])
    with pytest.raises(openai.AuthenticationError):
        openai.OpenAI(base_url=f"{live.url}/v1", api_key="wrong", max_retries=0).models.list()
    assert httpx.get(f"{live.url}/health").status_code == 200  # liveness needs no key


def test_mid_stream_error_raises_in_the_client(tmp_path):
    store = VoteStore(tmp_path / "votes.sqlite")
    settings = Settings(models=(TINY,), serve_registry=False, request_timeout_s=0.3)
    with LiveServer(create_app(settings, vote_store=store)) as server:
        client = openai.OpenAI(base_url=f"{server.url}/v1", api_key="none", max_retries=0)
        stream = client.chat.completions.create(model=TINY, messages=[{"role": "user", "content": "x"}],
                                                max_tokens=2000, temperature=0, stream=True)
        with pytest.raises(openai.APIError, match="longer than"):
            for _ in stream:
                pass
    store.close()


def test_disconnected_client_cancels_its_request(live):
    engine = None
    with httpx.Client(timeout=30) as http, http.stream(
            "POST", f"{live.url}/v1/chat/completions", headers={"Authorization": f"Bearer {KEY}"},
            json={"model": TINY, "messages": [{"role": "user", "content": "x"}], "max_tokens": 256,
                  "temperature": 0, "stream": True}) as response:
        lines = response.iter_lines()
        for line in lines:
            if '"content": "' in line and '"role"' not in line:
                break  # one token arrived: the request is running
        engine = live.app.state.pool.get(TINY).engine
        assert engine.running == 1
    deadline = time.monotonic() + 10
    while engine.running and time.monotonic() < deadline:
        time.sleep(0.02)
    assert engine.running == 0  # dropped long before its 256 tokens


def test_graceful_shutdown_finishes_the_in_flight_stream(tmp_path):
    store = VoteStore(tmp_path / "votes.sqlite")
    server = LiveServer(create_app(Settings(models=(TINY,), serve_registry=False), vote_store=store))
    server.__enter__()
    received: list[str] = []
    started = threading.Event()

    def consume() -> None:
        with httpx.stream("POST", f"{server.url}/v1/chat/completions", timeout=60,
                          json={"model": TINY, "messages": [{"role": "user", "content": "x"}], "max_tokens": 200,
                                "temperature": 0, "stream": True}) as response:
            for line in response.iter_lines():
                received.append(line)
                started.set()

    reader = threading.Thread(target=consume)
    reader.start()
    assert started.wait(30)
    server.__exit__(None, None, None)  # shutdown requested mid-stream
    reader.join(60)
    store.close()
    data = [line for line in received if line.startswith("data: ")]
    assert data[-1] == "data: [DONE]"
    assert '"finish_reason": "' in data[-2] or '"finish_reason": "' in "".join(data[-3:])


@pytest.mark.slow
def test_64_concurrent_clients_for_60_seconds_get_no_5xx(tmp_path):
    store = VoteStore(tmp_path / "votes.sqlite")
    settings = Settings(models=(TINY,), serve_registry=False, max_queue=32)
    statuses: Counter[int] = Counter()

    async def client_loop(url: str, index: int, until: float) -> None:
        async with httpx.AsyncClient(timeout=120) as http:
            while time.monotonic() < until:
                body = {"model": TINY, "messages": [{"role": "user", "content": f"client {index}"}],
                        "max_tokens": 16, "temperature": 1.0, "stream": index % 2 == 0}
                try:
                    response = await http.post(f"{url}/v1/chat/completions", json=body)
                    statuses[response.status_code] += 1
                    if response.status_code == 429:
                        await asyncio.sleep(float(response.headers["retry-after"]) / 10)
                except httpx.HTTPError:
                    statuses[-1] += 1

    async def hammer(url: str) -> None:
        until = time.monotonic() + 60
        await asyncio.gather(*(client_loop(url, i, until) for i in range(64)))

    with LiveServer(create_app(settings, vote_store=store)) as server:
        asyncio.run(hammer(server.url))
        assert httpx.get(f"{server.url}/health").status_code == 200  # still alive
    store.close()
    assert statuses[200] > 0
    assert not [s for s in statuses if s >= 500 or s < 0], statuses
