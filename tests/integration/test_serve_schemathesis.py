"""Property-based API tests: schemathesis generates requests, valid and invalid, from the app's own
OpenAPI schema; no request may get a 5xx, and every answer must match the documented status codes,
content types and response schemas. A few dozen cases per operation and mode by default; the slow
run does over 1,000 in all."""

from __future__ import annotations

import pytest

schemathesis = pytest.importorskip("schemathesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis.errors import Unsatisfiable  # noqa: E402
from schemathesis import GenerationMode  # noqa: E402
from schemathesis.checks import (  # noqa: E402
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from serve.app import create_app  # noqa: E402
from serve.settings import Settings  # noqa: E402
from serve.votes import VoteStore  # noqa: E402

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
MODES = [GenerationMode.POSITIVE, GenerationMode.NEGATIVE]


@pytest.fixture(scope="module")
def api_schema(tmp_path_factory):
    folder = tmp_path_factory.mktemp("schemathesis")
    # small caps keep the many valid generation requests fast on a CPU
    config = Settings(models=("tiny-random",), serve_registry=False, max_tokens_cap=4, default_max_tokens=4,
                      max_n=2, max_prompt_tokens=256, request_timeout_s=60, allow_runtime_lora=True)
    store = VoteStore(folder / "votes.sqlite")
    store.record_comparison("hello", {"tiny-random": "hi", "other": "hey"})  # so some votes can hit a real id
    app = create_app(config, vote_store=store)
    yield schemathesis.openapi.from_asgi("/openapi.json", app)
    app.state.pool.close()
    store.close()


def _check(case) -> None:
    response = case.call()
    streamed = response.headers.get("content-type", [""])[0].startswith("text/event-stream")
    # a streamed answer is documented as text/event-stream with no JSON schema to validate against
    case.validate_response(response, checks=[not_a_server_error, status_code_conformance] if streamed else CHECKS)


def _fuzz(api_schema, examples: int) -> int:
    operations = [result.ok() for result in api_schema.get_all_operations()]
    count = 0
    for operation in operations:
        for mode in MODES:
            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(max_examples=examples, deadline=None, database=None, suppress_health_check=list(HealthCheck))
            def run(case) -> None:
                nonlocal count
                count += 1
                _check(case)

            try:
                run()
            except Unsatisfiable:  # an operation with no inputs has no invalid variant to generate
                assert mode is GenerationMode.NEGATIVE, operation.label
    return count


def test_schema_fuzz(api_schema):
    assert _fuzz(api_schema, examples=5) >= 50


@pytest.mark.slow
def test_schema_fuzz_thorough(api_schema):
    # operations with few inputs exhaust their cases early, so the per-operation budget is generous
    assert _fuzz(api_schema, examples=150) >= 1000
