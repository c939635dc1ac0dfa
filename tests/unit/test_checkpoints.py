from __future__ import annotations

import json

import pytest

from instructrl.checkpoints import Card, Registry, content_hash
from instructrl.errors import ModelError


def _fake_weights(folder, payload=b"weights"):
    (folder / "model.safetensors").write_bytes(payload)
    (folder / "config.json").write_text("{}")


def test_write_list_find_by_name_and_stage(tmp_path):
    registry = Registry(tmp_path)
    first = registry.write(Card(name="sft-a", stage="sft", created="2026-01-01T00:00:00"), _fake_weights)
    registry.write(Card(name="sft-b", stage="sft", created="2026-01-02T00:00:00"), _fake_weights)
    registry.write(Card(name="rm-a", stage="rm", kind="reward", parent="sft-b"), _fake_weights)
    assert [c.name for c in registry.list()] == ["sft-a", "sft-b", "rm-a"]
    assert registry.find("sft").name == "sft-b"  # newest of the stage
    assert registry.find("sft-a").path == first.path
    assert registry.resolve("sft") == "sft-b" and registry.resolve("sft-a") == "sft-a"
    assert registry.resolve("ppo") == "ppo" and registry.resolve("org/model") == "org/model"  # not held: as given
    card = json.loads((first.path / "card.json").read_text())
    assert card["content_hash"] == content_hash(first.path) and card["stage"] == "sft"


def test_the_stamp_moves_when_a_checkpoint_is_added_replaced_or_removed(tmp_path):
    import shutil

    registry = Registry(tmp_path / "checkpoints")
    assert registry.stamp() is None  # no registry folder yet
    registry.write(Card(name="sft-a", stage="sft"), _fake_weights)
    stamps = [registry.stamp(), registry.stamp()]
    assert stamps[0] == stamps[1]  # nothing changed: the same stamp
    registry.write(Card(name="sft-b", stage="sft"), _fake_weights)
    stamps.append(registry.stamp())
    registry.write(Card(name="sft-b", stage="sft"), lambda f: _fake_weights(f, b"other"), overwrite=True)
    stamps.append(registry.stamp())
    shutil.rmtree(registry.root / "sft-a")
    stamps.append(registry.stamp())
    assert len(set(stamps)) == 4


def test_existing_name_is_not_overwritten_silently(tmp_path):
    registry = Registry(tmp_path)
    registry.write(Card(name="x", stage="sft"), _fake_weights)
    with pytest.raises(ModelError, match="already exists"):
        registry.write(Card(name="x", stage="sft"), _fake_weights)


def test_failed_save_leaves_nothing_behind(tmp_path):
    registry = Registry(tmp_path)

    def broken(folder):
        _fake_weights(folder)
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        registry.write(Card(name="x", stage="sft"), broken)
    assert list(tmp_path.iterdir()) == [] and registry.find("x") is None


def test_verify_detects_changed_weights(tmp_path):
    registry = Registry(tmp_path)
    checkpoint = registry.write(Card(name="x", stage="sft"), _fake_weights)
    registry.verify("x")
    (checkpoint.path / "model.safetensors").write_bytes(b"weightz")
    with pytest.raises(ModelError, match="corrupt"):
        registry.verify("x")


def test_unknown_and_unreadable_checkpoints_explain_the_fix(tmp_path):
    registry = Registry(tmp_path)
    with pytest.raises(ModelError, match="train one first"):
        registry.get("sft")
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "card.json").write_text("{not json")
    with pytest.raises(ModelError, match="delete the folder"):
        registry.list()


def test_content_hash_is_pinned(tmp_path):
    """sha256 over names and bytes in name order: no file times, no folder order, no platform."""
    (tmp_path / "b.safetensors").write_bytes(b"\x00\x01weights")
    (tmp_path / "a.safetensors").write_bytes(b"more")
    (tmp_path / "config.json").write_text('{"x": 1}')
    (tmp_path / "card.json").write_text("not hashed")
    assert content_hash(tmp_path) == "946c51add62573d94ba3c3bd3d1defe85036788aa274d39643b0bdc07ffdc5f6"
