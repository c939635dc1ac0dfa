from __future__ import annotations

import time

import pytest

from instructrl.errors import ModelError
from instructrl.models.loading import load_causal_lm, resolve_model


def test_unknown_model_lists_what_is_known():
    with pytest.raises(ModelError, match="unknown model 'nosuch'.*tiny-random, smollm2-135m"):
        resolve_model("nosuch")


def test_a_checkpoint_resolves_by_stage_name(tiny_policy, tmp_path):
    from instructrl.checkpoints import Card, Registry

    registry = Registry()
    registry.write(Card(name="sft-x", stage="sft"), tiny_policy.save)
    assert resolve_model("sft") == str(registry.root / "sft-x")
    assert load_causal_lm("sft").config.hidden_size == tiny_policy.model.config.hidden_size


def test_checkpoints_are_looked_up_in_the_registry_given(tiny_policy, tmp_path):
    from instructrl.checkpoints import Card, Registry
    from instructrl.models.policy import Policy

    elsewhere = Registry(tmp_path / "elsewhere")  # not the configured registry, which stays empty
    elsewhere.write(Card(name="sft-y", stage="sft"), tiny_policy.save)
    assert resolve_model("sft", elsewhere) == str(elsewhere.root / "sft-y")
    assert Policy.load("sft-y", registry=elsewhere).name == "sft-y"
    with pytest.raises(ModelError, match="unknown model 'sft-y'"):
        resolve_model("sft-y")  # the default: the configured registry


def test_a_file_that_is_not_a_gguf_model_fails_clearly(tmp_path):
    bogus = tmp_path / "model.gguf"
    bogus.write_bytes(b"GGUF" + b"\0" * 64)
    with pytest.raises(ModelError, match="could not be loaded as a causal LM"):
        resolve_model(str(bogus))
    assert not any(p.name.startswith("gguf-model") for p in tmp_path.parent.rglob("*") if p.is_dir()
                   and "models" in p.parts)


def test_a_directory_without_config_is_rejected(tmp_path):
    with pytest.raises(ModelError, match="without config.json"):
        resolve_model(str(tmp_path))


def test_corrupt_checkpoint_weights_fail_with_a_fix(tiny_policy, tmp_path):
    tiny_policy.save(tmp_path / "m")
    (tmp_path / "m" / "model.safetensors").write_bytes(b"garbage")
    with pytest.raises(ModelError, match="could not be loaded"):
        load_causal_lm(str(tmp_path / "m"))


@pytest.mark.real_model
def test_embedded_model_is_converted_once_and_reloads_fast():
    resolve_model("smollm2-135m")  # converts on a fresh machine (about 20 s), then cached
    start = time.perf_counter()
    model = load_causal_lm("smollm2-135m")
    assert time.perf_counter() - start < 30  # generous: the bar (< 5 s) is measured, not asserted
    assert sum(p.numel() for p in model.parameters()) == 134_515_008
