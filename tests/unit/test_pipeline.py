"""The pipeline's planning, without training anything: presets, settings precedence, how stages are
wired to each other's outputs, the dry run, and the driver's cached / ran / changed bookkeeping."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from instructrl import pipeline
from instructrl.cli import main
from instructrl.config import PRESET_DIR
from instructrl.errors import ConfigError

PRESETS = sorted(p.stem for p in (PRESET_DIR / "pipeline").glob("*.yaml"))


def test_tiny_cpu_and_gpu_presets_exist():
    assert {"tiny", "cpu", "gpu"} <= set(PRESETS)


@pytest.mark.parametrize("preset", PRESETS)
def test_every_pipeline_preset_resolves_every_stage_config(preset):
    config = pipeline.load_config(preset, [])
    ctx = pipeline.Context(config, Path("out"), {"sft": "sft-x", "compare": "c.jsonl", "compare-validation": "v.jsonl",
                                                   "rm": "rm-x"})
    for stage, settings in (("sft", config.sft), ("rm", config.rm), ("ppo", config.ppo), ("ppo-ptx", config.ppo)):
        resolved = pipeline.stage_config(stage.removesuffix("-ptx"), settings, pipeline.wiring(stage, ctx))
        assert resolved.model.name
    assert config.ppo.ptx_coef > 0 and 2 <= config.compare.k <= 16


def test_defaults_then_preset_then_set():
    config = pipeline.load_config("tiny", ["compare.k=6", "sft.overrides.run.max_steps=2", "ppo.ptx_coef=3"])
    assert config.compare.k == 6 and config.ppo.ptx_coef == 3.0  # --set
    assert config.compare.limit == 32  # the preset
    assert config.compare.noise == 0.25  # a default
    sft = pipeline.stage_config("sft", config.sft, {})
    assert sft.run.max_steps == 2 and sft.model.name == "tiny-random"  # an override on top of the sft tiny preset


@pytest.mark.parametrize("override, message", [
    ("compare.nope=1", "unknown config key 'compare.nope'"), ("compare.k=1", "compare.k"),
    ("compare.noise=1.5", "compare.noise"), ("ppo.ptx_coef=0", "ppo.ptx_coef"), ("sft.preset=huge", "sft.preset"),
    ("eval.limit=0", "eval.limit"),
])
def test_bad_settings_name_the_key(override, message):
    with pytest.raises(ConfigError, match=message):
        pipeline.load_config("tiny", [override])


def test_a_bad_stage_override_names_the_stage_key():
    config = pipeline.load_config("tiny", ["rm.overrides.run.nope=1"])
    with pytest.raises(ConfigError, match="unknown config key 'rm.run.nope'"):
        pipeline.stage_config("rm", config.rm, {})


def test_stages_read_each_others_outputs_by_exact_name():
    config = pipeline.load_config("tiny", ["ppo.ptx_coef=2"])
    ctx = pipeline.Context(config, Path("out"), {"sft": "sft-a", "compare": "train.jsonl",
                                                   "compare-validation": "val.jsonl", "rm": "rm-b"})
    rm = pipeline.stage_config("rm", config.rm, pipeline.wiring("rm", ctx))
    assert (rm.model.name, rm.data.train, rm.data.validation) == ("sft-a", "train.jsonl", "val.jsonl")
    ppo = pipeline.stage_config("ppo", config.ppo, pipeline.wiring("ppo", ctx))
    ptx = pipeline.stage_config("ppo", config.ppo, pipeline.wiring("ppo-ptx", ctx))
    assert (ppo.model.name, ppo.ppo.reward_model, ppo.ppo.ptx_coef) == ("sft-a", "rm-b", 0.0)
    assert (ptx.model.name, ptx.ppo.reward_model, ptx.ppo.ptx_coef) == ("sft-a", "rm-b", 2.0)


def test_dry_run_prints_every_stage_and_runs_nothing(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["pipeline", "--preset", "cpu", "--dry-run", "--set", "compare.k=5"]) == 0
    out = capsys.readouterr().out
    for number, (stage, _) in enumerate(pipeline.stages(pipeline.load_config("cpu", [])), 1):
        assert f"\n{number}. {stage}\n" in out
    assert '"k": 5' in out and '"name": "smollm2-135m"' in out and '"reward_model": "<rm>"' in out
    assert list(tmp_path.iterdir()) == []  # no checkpoints, runs or output folder


def test_baseline_flag_sets_what_the_win_rates_are_against(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["pipeline", "--preset", "tiny", "--dry-run", "--baseline", "openai:big@http://gpu-box:8000/v1"]) == 0
    out = capsys.readouterr().out
    assert '"baseline": "openai:big@http://gpu-box:8000/v1"' in out and "against openai:big@http://gpu-box:8000/v1" in out
    assert main(["pipeline", "--preset", "tiny", "--dry-run"]) == 0
    assert "against <sft>" in capsys.readouterr().out  # the paper's Fig. 1 baseline by default


def test_help_explains_the_command(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["pipeline", "--preset", "cpu", "--help"])
    assert exit_info.value.code == 0
    assert "--dry-run" in capsys.readouterr().out


def test_the_driver_reports_cached_ran_and_changed(tmp_path, monkeypatch):
    """run_pipeline's bookkeeping over stand-in stages: what is cached, what ran, and what ran again
    because its output differs from the last run's in the same folder."""
    outputs = {"a": "a-1", "b": "b-1"}
    done: set[str] = set()

    def stage(name):
        def step(ctx):
            output = outputs[name]
            cached = output in done
            done.add(output)
            return pipeline.Outcome(output, cached, f"metric of {name}")
        return step

    monkeypatch.setattr(pipeline, "stages", lambda config: [("a", stage("a")), ("b", stage("b"))])
    config = pipeline.load_config("tiny", [])

    def run() -> list[pipeline.StageRow]:
        rows = pipeline.run_pipeline(config, tmp_path)
        (tmp_path / pipeline.RESULTS).write_text(json.dumps({"stages": [{"stage": r.stage, "output": r.output}
                                                                        for r in rows]}))
        return rows

    assert [r.status for r in run()] == ["ran", "ran"]
    assert [r.status for r in run()] == ["done (cached)", "done (cached)"]
    outputs["b"] = "b-2"
    rows = run()
    assert [r.status for r in rows] == ["done (cached)", "ran (changed)"]
    assert "was b-1" in rows[1].note
    assert any("b: ran again because" in line for line in pipeline.table(rows))
