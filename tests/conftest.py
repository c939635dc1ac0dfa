"""Shared fixtures. Models are tiny random ones built in-process unless a test is marked real_model;
every test gets its own empty checkpoint registry."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SHARED_DATA = REPO.parent / "shared" / "data"
TRUTHFULQA_CSV = SHARED_DATA / "truthfulqa" / "TruthfulQA.csv"
HH_FILE = SHARED_DATA / "hh-rlhf" / "harmless-base-dev.jsonl.gz"

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def shared_file(path: Path) -> Path:
    """A file from the shared data folder beside the repo, or skip the test saying why."""
    if not path.exists():
        pytest.skip(f"shared data file {path.name} not found beside the repo (expected at {path})")
    return path


@pytest.fixture(autouse=True)
def _isolated_registry(tmp_path, monkeypatch):
    monkeypatch.setenv("INSTRUCTRL_CHECKPOINTS", str(tmp_path / "checkpoints"))


@pytest.fixture(scope="session")
def tiny_policy():
    from instructrl.models.policy import Policy

    return Policy.load("tiny-random")


@pytest.fixture(scope="session")
def real_policy():
    """The embedded SmolLM2-135M (converted once and cached)."""
    from instructrl.models.policy import Policy

    return Policy.load("smollm2-135m")


@pytest.fixture
def hh_file() -> Path:
    return shared_file(HH_FILE)


@pytest.fixture
def truthfulqa_csv() -> Path:
    return shared_file(TRUTHFULQA_CSV)
