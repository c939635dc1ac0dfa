"""One name per checkpoint on the server (tiny random checkpoints in a test registry): a checkpoint
named twice (a stage alias, its own name, a path into the registry) is one model, listed once under
its own name, loaded once, answering to every name; the arena never pairs a checkpoint with itself;
the registry is read again only when a checkpoint is added."""

from __future__ import annotations

import random
import threading

import pytest
from fastapi.testclient import TestClient

from instructrl.checkpoints import Card, Registry
from instructrl.models.policy import Policy
from serve.app import create_app
from serve.settings import Settings
from serve.votes import VoteStore

TINY = "tiny-random"
FULL = "sft-tiny-0742155a"


def chat(model: str) -> dict:
    return {"model": model, "messages": [{"role": "user", "content": "Hi"}], "max_tokens": 2, "temperature": 0}


@pytest.fixture
def store(tmp_path):
    with VoteStore(tmp_path / "votes.sqlite") as vote_store:
        yield vote_store


@pytest.fixture
def registry(tmp_path):
    return Registry(tmp_path / "checkpoints")


def write(registry: Registry, policy: Policy, name: str, stage: str, created: str) -> str:
    return registry.write(Card(name=name, stage=stage, created=created), policy.save).name


@pytest.fixture
def loads(monkeypatch):
    """The specs Policy.load was called with, in order."""
    calls: list[str] = []
    original = Policy.load

    def counting(spec, *args, **kwargs):
        calls.append(spec)
        return original(spec, *args, **kwargs)

    monkeypatch.setattr(Policy, "load", counting)
    return calls


def ids(client: TestClient) -> list[str]:
    return [m["id"] for m in client.get("/v1/models").json()["data"]]


def test_one_checkpoint_under_two_names_is_one_model(store, registry, tiny_policy, loads):
    write(registry, tiny_policy, FULL, "sft", "2026-01-01T00:00:00")
    with TestClient(create_app(Settings(models=("sft", TINY)), registry=registry, vote_store=store)) as client:
        assert ids(client) == [FULL, TINY]  # listed once, under the checkpoint's own name
        assert client.get("/ready").json()["models"] == [FULL, TINY]
        for name in ("sft", FULL):  # both names answer, each under the name it was asked by
            assert client.get(f"/v1/models/{name}").status_code == 200
            answer = client.post("/v1/chat/completions", json=chat(name))
            assert answer.status_code == 200, answer.text
            assert answer.json()["model"] == name
        pool = client.app.state.pool
        assert pool.loaded() == [FULL]
        assert pool.get("sft") is pool.get(FULL)
        assert [spec for spec in loads if spec != TINY] == [str(registry.root / FULL)]  # one set of weights
        assert pool.get(FULL).name == FULL and pool.get(FULL).policy.name == FULL


def test_both_names_asked_at_once_load_the_weights_once(store, registry, tiny_policy, loads):
    write(registry, tiny_policy, FULL, "sft", "2026-01-01T00:00:00")
    app = create_app(Settings(models=("sft",)), registry=registry, vote_store=store)
    pool, got, start = app.state.pool, {}, threading.Barrier(4)

    def get(name: str) -> None:
        start.wait()
        got[threading.get_ident()] = pool.get(name)

    threads = [threading.Thread(target=get, args=(name,)) for name in ("sft", FULL, "sft", FULL)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len({id(model) for model in got.values()}) == 1
    assert loads == [str(registry.root / FULL)]
    pool.close()


def test_a_path_into_the_registry_is_the_checkpoint_it_points_at(store, registry, tiny_policy):
    write(registry, tiny_policy, FULL, "sft", "2026-01-01T00:00:00")
    settings = Settings(models=(str(registry.root / FULL), "sft"))
    with TestClient(create_app(settings, registry=registry, vote_store=store)) as client:
        assert ids(client) == [FULL]
        assert client.post("/v1/chat/completions", json=chat(str(registry.root / FULL))).status_code == 200
        assert client.app.state.pool.loaded() == [FULL]


def test_the_arena_never_pairs_a_checkpoint_with_itself(store, registry, tiny_policy):
    from serve.ui import pick_pair

    older = write(registry, tiny_policy, "sft-a", "sft", "2026-01-01T00:00:00")
    newer = write(registry, tiny_policy, "sft-b", "sft", "2026-01-02T00:00:00")
    ppo = write(registry, tiny_policy, "ppo-a", "ppo", "2026-01-03T00:00:00")
    settings = Settings(models=("sft", "ppo", newer, TINY))  # sft and sft-b, ppo and ppo-a: one model each
    with TestClient(create_app(settings, registry=registry, vote_store=store)) as client:
        pool, backend = client.app.state.pool, client.app.state.backend
        assert backend.models() == [newer, ppo, TINY, older]
        rng = random.Random(0)
        pairs = [pick_pair(backend.models(), rng) for _ in range(300)]
        assert all(pool.canonical(a) != pool.canonical(b) for a, b in pairs)
        assert {name for pair in pairs for name in pair} == {newer, ppo, TINY, older}  # every model drawn
        refused = client.post("/v1/compare", json={"models": ["sft", newer], "prompt": "Hi", "max_tokens": 2})
        assert refused.status_code == 400 and refused.json()["error"]["param"] == "models"


def test_votes_record_a_checkpoint_under_its_own_name(store, registry, tiny_policy):
    write(registry, tiny_policy, FULL, "sft", "2026-01-01T00:00:00")
    with TestClient(create_app(Settings(models=("sft", TINY)), registry=registry, vote_store=store)) as client:
        for models in (["sft", TINY], [TINY, FULL]):  # the alias and the full name: one leaderboard row
            compared = client.post("/v1/compare", json={"models": models, "prompt": "Hi", "max_tokens": 2})
            assert compared.status_code == 200, compared.text
            assert {a["model"] for a in compared.json()["answers"]} == {FULL, TINY}
            voted = client.post("/v1/votes", json={"comparison_id": compared.json()["id"], "choice": "a"})
            assert voted.status_code == 200, voted.text
        rows = {row["model"]: row for row in client.get("/v1/leaderboard").json()["data"]}
        assert set(rows) == {FULL, TINY}
        assert (rows[FULL]["games"], rows[FULL]["wins"]) == (2, 1)


def test_the_registry_is_read_again_only_when_a_checkpoint_is_added(store, registry, tiny_policy, monkeypatch):
    first = write(registry, tiny_policy, "sft-a", "sft", "2026-01-01T00:00:00")
    reads = []
    listing = Registry.list

    def counted(self, stage=None):
        reads.append(stage)
        return listing(self, stage)

    monkeypatch.setattr(Registry, "list", counted)
    with TestClient(create_app(Settings(models=("sft",)), registry=registry, vote_store=store)) as client:
        assert ids(client) == [first]
        before = len(reads)
        for _ in range(3):
            assert ids(client) == [first]
            assert client.get("/v1/models/sft").status_code == 200
        assert len(reads) == before  # resolved once, not per request
        second = write(registry, tiny_policy, "sft-b", "sft", "2026-01-02T00:00:00")
        assert ids(client) == [second, first]  # sft now stands for the newer one; both listed once
        assert len(reads) > before
        assert client.post("/v1/chat/completions", json=chat("sft")).status_code == 200
        assert client.app.state.pool.loaded() == [second]
