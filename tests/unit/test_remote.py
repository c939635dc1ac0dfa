"""The one remote-model client: spec parsing, a real loopback endpoint, and errors that name the fix."""

from __future__ import annotations

import json

import pytest

from instructrl.errors import ConfigError, ModelError
from instructrl.remote import Endpoint, HttpEndpoint, RemoteSpec, parse_remote, proxy_spec
from tests.chat_server import chat_server


def test_parse_remote_one_syntax_for_every_prefix():
    assert parse_remote("openai:big@http://gpu:8000/v1/", "openai") == RemoteSpec("big", "http://gpu:8000/v1")
    assert parse_remote("llm:gpt-4o@https://api.example.com/v1", "llm").label == "gpt-4o@https://api.example.com/v1"
    for bad in ("llm:no-endpoint", "llm:@http://x/v1", "llm:m@ftp://x", "openai:m@http://x/v1"):
        with pytest.raises(ConfigError, match="llm:MODEL@URL"):
            parse_remote(bad, "llm")


def test_endpoint_chats_through_a_real_server_and_names_a_dead_one():
    with chat_server(lambda body: f"echo {body['messages'][-1]['content']}") as server:
        reply = Endpoint(parse_remote(f"llm:m@{server.url}", "llm")).chat([{"role": "user", "content": "hi"}],
                                                                           temperature=0, max_tokens=4)
        assert (reply.text, reply.finish_reason, reply.prompt_tokens) == ("echo hi", "stop", 1)
        assert server.requests[0]["body"]["model"] == "m" and server.requests[0]["body"]["max_tokens"] == 4
    dead = Endpoint(RemoteSpec("m", "http://127.0.0.1:9/v1"), timeout=2, retries=0, role="judge endpoint")
    with pytest.raises(ModelError, match="judge endpoint http://127.0.0.1:9/v1 failed for model m"):
        dead.chat([{"role": "user", "content": "hi"}])


def test_every_remote_caller_shares_the_client():
    """Eval models, judges and labelers all hold an ``Endpoint``: one place builds the OpenAI client."""
    from evals.judges import LLMJudge
    from evals.models import parse_model
    from instructrl.labelers import get_labeler

    for thing in (parse_model("openai:m@http://127.0.0.1:9/v1"), LLMJudge("m", "http://127.0.0.1:9/v1"),
                  get_labeler("llm:m@http://127.0.0.1:9/v1")):
        assert isinstance(thing.endpoint, Endpoint) and thing.endpoint.spec == RemoteSpec("m", "http://127.0.0.1:9/v1")


def test_proxy_spec_names_the_remote_model_after_the_hash():
    assert proxy_spec("http://gpu:8000/v1/#meta/llama", "local") == RemoteSpec("meta/llama", "http://gpu:8000/v1")
    assert proxy_spec("http://gpu:8000/v1", "local") == RemoteSpec("local", "http://gpu:8000/v1")


def test_http_endpoint_clients_carry_the_root_the_key_and_the_timeout():
    import asyncio

    import httpx

    seen = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append((str(request.url), request.headers.get("authorization")))
        return httpx.Response(200, json={"ok": True})

    endpoint = HttpEndpoint("http://gpu:8000/v1", "k", 30.0, httpx.MockTransport(answer), httpx.MockTransport(answer))
    with endpoint.client(5.0) as client:
        assert client.post("/chat/completions", json={}).json() == {"ok": True}
        assert client.timeout.read == 5.0
    with endpoint.client(60.0) as client:
        assert client.timeout.read == 30.0  # never above the endpoint's own

    async def post() -> None:
        async with endpoint.async_client() as client:
            await client.post("/completions", json={})
            assert client.timeout.read == 30.0

    asyncio.run(post())
    assert seen == [("http://gpu:8000/v1/chat/completions", "Bearer k"), ("http://gpu:8000/v1/completions", "Bearer k")]
    assert HttpEndpoint("http://gpu:8000/v1").headers == {}  # no key, no header


def test_serves_proxy_models_build_their_http_clients_here():
    """The proxy forwards with ``HttpEndpoint`` clients, both the async routes and the sync UI/compare path."""
    import asyncio

    import httpx

    from instructrl.models.policy import SamplingParams
    from serve.models import ProxyModel

    seen = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append((str(request.url), request.headers.get("authorization"), json.loads(request.content)["model"]))
        if json.loads(request.content).get("stream"):
            chunk = {"choices": [{"index": 0, "delta": {"content": "hi"}, "finish_reason": "stop"}]}
            return httpx.Response(200, text=f"data: {json.dumps(chunk)}\n\ndata: [DONE]\n\n")
        return httpx.Response(200, json={"model": "remote", "choices": []})

    proxy = ProxyModel("far", "http://gpu:8000/v1#remote", "k", 30.0, httpx.MockTransport(answer),
                       httpx.MockTransport(answer))
    assert isinstance(proxy.http, HttpEndpoint) and proxy.http.url == "http://gpu:8000/v1"
    assert asyncio.run(proxy.request("/chat/completions", {"messages": []}))["model"] == "far"
    events = list(proxy.chat_events([{"role": "user", "content": "x"}], SamplingParams(max_new_tokens=2), 10.0))
    assert [(e.kind, e.text) for e in events] == [("token", "hi"), ("done", "")]
    assert seen == [("http://gpu:8000/v1/chat/completions", "Bearer k", "remote")] * 2
