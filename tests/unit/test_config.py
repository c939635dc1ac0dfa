from __future__ import annotations

import importlib
from pathlib import Path

import pytest

from instructrl.config import PRESET_DIR, parse_overrides, resolve, to_dict
from instructrl.errors import ConfigError
from train.cli import STAGES


def _stage_presets():
    for stage, (module_name, _) in STAGES.items():
        for path in sorted((PRESET_DIR / stage).glob("*.yaml")):
            yield pytest.param(stage, module_name, path.stem, id=f"{stage}-{path.stem}")


@pytest.mark.parametrize("stage, module_name, preset", list(_stage_presets()))
def test_every_preset_loads_into_its_stage_config(stage, module_name, preset):
    module = importlib.import_module(module_name)
    config = resolve(module.CONFIG, stage, preset)
    assert to_dict(config)["model"]["name"]


def test_every_stage_has_tiny_and_cpu_presets():
    for stage, (module_name, _) in STAGES.items():
        if importlib.util.find_spec(module_name) is None:
            continue
        names = {p.stem for p in (PRESET_DIR / stage).glob("*.yaml")}
        assert {"tiny", "cpu"} <= names, stage


def test_defaults_then_preset_then_overrides():
    from train.sft import SFTConfig

    config = resolve(SFTConfig, "sft", "tiny", ["optim.lr=2e-4", "run.max_steps=9", "model.lora.r=4"])
    assert config.model.name == "tiny-random"  # from the preset
    assert (config.optim.lr, config.run.max_steps, config.model.lora.r) == (2e-4, 9, 4)  # overrides
    assert config.optim.min_lr_ratio == 0.1  # a default


def test_overrides_parse_yaml_scalars():
    assert parse_overrides(["a.b=3", "a.c=true", "d=null", "e=[1, 2]"]) == {"a": {"b": 3, "c": True}, "d": None, "e": [1, 2]}
    with pytest.raises(ConfigError, match="key=value"):
        parse_overrides(["lr"])


@pytest.mark.parametrize("override, message", [
    (["optim.lr=3"], "optim.lr"), (["run.batch_size=6"], "multiple of run.micro_batch_size"),
    (["optim.nope=1"], "unknown config key 'optim.nope'"), (["model.dtype=int8"], "model.dtype"),
    (["run.mixed_precision=int8"], "run.mixed_precision"),
    (["run.output=/tmp/my-sft"], "checkpoint name without slashes"),  # a path trained, then failed to save
])
def test_bad_settings_name_the_key(override, message):
    from train.sft import SFTConfig

    with pytest.raises(ConfigError, match=message):
        resolve(SFTConfig, "sft", "tiny", override)


def test_unknown_preset_lists_known_ones():
    from train.sft import SFTConfig

    with pytest.raises(ConfigError, match="use one of cpu"):
        resolve(SFTConfig, "sft", "huge")


def test_preset_may_be_a_yaml_path(tmp_path: Path):
    from train.sft import SFTConfig

    path = tmp_path / "mine.yaml"
    path.write_text("run:\n  max_steps: 3\n")
    assert resolve(SFTConfig, "sft", str(path)).run.max_steps == 3


def test_mixed_precision_auto_follows_the_hardware(monkeypatch):
    from instructrl.models import loading

    monkeypatch.setattr(loading, "fast_bf16", lambda: True)
    assert loading.bf16_autocast("auto") and loading.bf16_autocast("bf16") and not loading.bf16_autocast("no")
    monkeypatch.setattr(loading, "fast_bf16", lambda: False)
    assert not loading.bf16_autocast("auto") and loading.bf16_autocast("bf16")


def test_mixed_precision_at_its_default_leaves_run_names_unchanged():
    from train.runs import run_identity
    from train.sft import SFTConfig

    default = resolve(SFTConfig, "sft", "tiny")
    name = run_identity("sft", default, "fp").name
    assert run_identity("sft", resolve(SFTConfig, "sft", "tiny", ["run.mixed_precision=no"]), "fp").name == name
    assert run_identity("sft", resolve(SFTConfig, "sft", "tiny", ["run.mixed_precision=bf16"]), "fp").name != name


def test_the_generation_backend_names_a_ppo_run_but_its_address_does_not():
    from train.ppo import PPOConfig
    from train.runs import run_identity

    def name(*overrides: str) -> str:
        return run_identity("ppo", resolve(PPOConfig, "ppo", "tiny", list(overrides)), "fp").name

    assert name() == name("generation.backend=local", "generation.url=http://a:1/v1") == "ppo-tiny-random-fc6b2893"
    remote = name("model.lora.r=4", "generation.backend=remote", "generation.url=http://a:1/v1")
    assert remote == name("model.lora.r=4", "generation.backend=remote", "generation.url=http://b:2/v1",
                          "generation.adapter_dir=/elsewhere", "generation.api_key_env=KEY")
    assert remote != name("model.lora.r=4")


def test_run_names_are_pinned_across_machines():
    """A run's name is a hash of its settings and data only: the embedded default's SFT run has had this
    name on AVX2 and AVX-512/AMX machines alike, and a changed name would orphan every checkpoint."""
    from instructrl.data.loaders import fingerprint, load_records
    from instructrl.data.schemas import Demonstration
    from train.runs import run_identity
    from train.sft import SFTConfig

    config = resolve(SFTConfig, "sft", "cpu")
    records = load_records(config.data.train, Demonstration, split="train", limit=config.data.limit).records
    assert run_identity("sft", config, fingerprint(records)).name == "sft-smollm2-135m-0742155a"


def test_an_isa_cap_below_bf16_means_float32(monkeypatch):
    """CI's forced-AVX2 pass caps oneDNN at AVX2: ``auto`` must then pick float32, as on a laptop."""
    from instructrl.models import loading

    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", "avx2")
    assert not loading.fast_bf16() and str(loading.torch_dtype("auto")) == "torch.float32"


def test_accelerate_configs_load_with_accelerates_own_reader():
    from accelerate.commands.config.config_args import load_config_from_file

    expected = {"ddp": ("MULTI_GPU", None), "fsdp": ("FSDP", None), "zero2": ("DEEPSPEED", 2),
                "zero3": ("DEEPSPEED", 3), "zero3-offload": ("DEEPSPEED", 3)}
    found = sorted(p.stem for p in (PRESET_DIR / "accelerate").glob("*.yaml"))
    assert found == sorted(expected)
    for name, (kind, stage) in expected.items():
        config = load_config_from_file(str(PRESET_DIR / "accelerate" / f"{name}.yaml"))
        assert config.distributed_type.value == kind and config.mixed_precision == "no"
        if stage is not None:
            assert config.deepspeed_config["zero_stage"] == stage
