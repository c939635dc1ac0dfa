"""The one remote-model client: spec parsing, a real loopback endpoint, and errors that name the fix."""

from __future__ import annotations

import pytest

from instructrl.errors import ConfigError, ModelError
from instructrl.remote import Endpoint, RemoteSpec, parse_remote
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
