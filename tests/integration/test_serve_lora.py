"""vLLM's runtime LoRA adapter API on a live ``instructrl serve`` (tiny random model), driven with plain
HTTP as vLLM's docs show: load, list, complete with the adapter (greedy answers equal base + adapter
merged locally), unload, and every refusal."""

from __future__ import annotations

import httpx
import pytest

from instructrl.models.policy import Policy, SamplingParams
from instructrl.models.tiny import build_tiny_model
from serve.app import create_app
from serve.settings import Settings
from serve.votes import VoteStore
from tests.live_server import LiveServer
from tests.lora import random_lora

TINY = "tiny-random"
PROMPT = "The river runs to"


def save_adapter(model, folder, seed: int, targets=("q_proj", "v_proj")):
    """A random, non-zero LoRA adapter on a copy of ``model``, saved as peft does."""
    tuned = random_lora(model, seed, targets)
    tuned.save_pretrained(folder)
    return tuned


@pytest.fixture(scope="module")
def base():
    return Policy.load(TINY)


def _server(tmp_path_factory, allow: bool):
    store = VoteStore(tmp_path_factory.mktemp("votes") / "votes.sqlite")
    settings = Settings(models=(TINY,), serve_registry=False, allow_runtime_lora=allow, dtype="float32")
    return LiveServer(create_app(settings, vote_store=store)), store


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    server, store = _server(tmp_path_factory, allow=True)
    with server:
        yield server
    store.close()


@pytest.fixture
def http(live):
    with httpx.Client(base_url=live.url, timeout=60) as client:
        yield client


def _complete(http, model: str) -> dict:
    response = http.post("/v1/completions", json={"model": model, "prompt": PROMPT, "max_tokens": 12,
                                                  "temperature": 0, "return_token_ids": True})
    assert response.status_code == 200, response.text
    return response.json()["choices"][0]


def test_load_list_complete_unload(http, base, tmp_path):
    tuned = save_adapter(base.model, tmp_path / "adapter", seed=1)
    loaded = http.post("/v1/load_lora_adapter", json={"lora_name": "sql", "lora_path": str(tmp_path / "adapter")})
    assert loaded.status_code == 200, loaded.text
    assert "sql" in loaded.text
    models = {m["id"]: m for m in http.get("/v1/models").json()["data"]}
    assert models["sql"]["parent"] == TINY and models["sql"]["root"] == str(tmp_path / "adapter")
    assert models[TINY]["parent"] is None
    assert http.get("/v1/models/sql").json()["parent"] == TINY

    with_adapter, plain = _complete(http, "sql"), _complete(http, TINY)
    assert with_adapter["token_ids"] != plain["token_ids"]  # the adapter's weights are non-zero
    merged = Policy(tuned.merge_and_unload().eval(), base.tokenizer)
    local = merged.generate([PROMPT], SamplingParams(max_new_tokens=12, temperature=0.0), chat=False)[0]
    assert with_adapter["text"] == local.text
    assert with_adapter["token_ids"][:len(local.token_ids)] == list(local.token_ids)
    assert with_adapter["prompt_token_ids"] == base.tokenizer(PROMPT, add_special_tokens=False)["input_ids"]

    chat = http.post("/v1/chat/completions", json={"model": "sql", "max_tokens": 4,
                                                   "messages": [{"role": "user", "content": "Hi"}]})
    assert chat.status_code == 200 and chat.json()["model"] == "sql"

    unloaded = http.post("/v1/unload_lora_adapter", json={"lora_name": "sql"})
    assert unloaded.status_code == 200, unloaded.text
    assert "sql" not in [m["id"] for m in http.get("/v1/models").json()["data"]]
    gone = http.post("/v1/completions", json={"model": "sql", "prompt": PROMPT, "max_tokens": 2})
    assert gone.status_code == 404 and gone.json()["error"]["code"] == "model_not_found"


def _refused(response: httpx.Response, status: int, *words: str) -> dict:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert all(word in error["message"] for word in words), error["message"]
    return error


def test_refusals_are_4xx_naming_the_problem(http, base, tmp_path):
    load = lambda name, path: http.post("/v1/load_lora_adapter", json={"lora_name": name, "lora_path": str(path)})  # noqa: E731
    _refused(load("a", tmp_path / "nowhere"), 400, "does not exist")
    (tmp_path / "plain").mkdir()
    (tmp_path / "plain" / "weights.bin").write_bytes(b"x")
    _refused(load("a", tmp_path / "plain"), 400, "not a PEFT adapter folder")
    other_shape = build_tiny_model(len(base.tokenizer), hidden=32)
    save_adapter(other_shape, tmp_path / "other", seed=2)
    _refused(load("a", tmp_path / "other"), 400, "does not fit the base model", TINY)
    save_adapter(base.model, tmp_path / "other-targets", seed=3, targets=("gate_proj",))
    save_adapter(base.model, tmp_path / "good", seed=3)
    assert load("a", tmp_path / "good").status_code == 200
    _refused(load("a", tmp_path / "good"), 400, "already")
    _refused(load(TINY, tmp_path / "good"), 400, "already served")
    assert load("b", tmp_path / "other-targets").status_code == 200  # another layer set is fine
    _refused(http.post("/v1/unload_lora_adapter", json={"lora_name": "nope"}), 404, "no LoRA adapter 'nope'")
    error = _refused(http.post("/v1/load_lora_adapter", json={"lora_name": "c"}), 400, "lora_path")
    assert error["param"] == "lora_path"
    bad_base = http.post("/v1/load_lora_adapter", json={"lora_name": "c", "lora_path": str(tmp_path / "good"),
                                                        "base_model": "a"})
    _refused(bad_base, 400, "not a local model")
    for name in ("a", "b"):
        assert http.post("/v1/unload_lora_adapter", json={"lora_name": name}).status_code == 200


def test_token_ids_are_not_streamed(http):
    response = http.post("/v1/completions", json={"model": TINY, "prompt": [5, 6], "max_tokens": 2, "stream": True,
                                                  "return_token_ids": True})
    assert _refused(response, 400, "return_token_ids", "stream")["param"] == "return_token_ids"


@pytest.mark.parametrize(("argv", "environment", "allowed"), [
    ([], "", False), (["--allow-runtime-lora"], "", True), ([], "True", True), ([], "false", False)])
def test_the_flag_and_vllms_environment_variable_turn_the_routes_on(argv, environment, allowed, monkeypatch):
    import argparse

    from serve.cli import add_verb, settings_from_args

    monkeypatch.setenv("VLLM_ALLOW_RUNTIME_LORA_UPDATING", environment)
    parser = argparse.ArgumentParser()
    add_verb(parser)
    assert settings_from_args(parser.parse_args(argv)).allow_runtime_lora is allowed


def test_the_routes_are_off_without_the_flag(tmp_path_factory, base, tmp_path):
    save_adapter(base.model, tmp_path / "adapter", seed=1)
    server, store = _server(tmp_path_factory, allow=False)
    with server, httpx.Client(base_url=server.url, timeout=60) as http:
        for path, body in (("/v1/load_lora_adapter", {"lora_name": "a", "lora_path": str(tmp_path / "adapter")}),
                           ("/v1/unload_lora_adapter", {"lora_name": "a"})):
            error = _refused(http.post(path, json=body), 403, "--allow-runtime-lora")
            assert error["code"] == "runtime_lora_disabled"
        assert [m["id"] for m in http.get("/v1/models").json()["data"]] == [TINY]
    store.close()
