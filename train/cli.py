"""``instructrl train sft|rm|ppo``: one parser for every stage.

Each stage module defines ``CONFIG`` (its config dataclass), ``SHORTCUTS`` (friendly flags mapped to
config keys) and ``run(config)``. Settings resolve as defaults < ``--preset`` < flags < ``--set``."""

from __future__ import annotations

import argparse
import importlib
import importlib.util

from instructrl.config import preset_names, resolve

STAGES = {
    "sft": ("train.sft", "supervised fine-tuning on demonstrations (paper sec. 3.5)"),
    "rm": ("train.reward", "reward model on ranked comparisons with the K-wise loss (paper sec. 3.5, eq. 1)"),
    "ppo": ("train.ppo", "PPO against the reward model with a per-token KL penalty; --ptx-coef > 0 gives PPO-ptx"),
}


def add_commands(sub) -> None:
    for stage, (module_name, help_text) in STAGES.items():
        if importlib.util.find_spec(module_name) is None:
            continue
        parser = sub.add_parser(stage, help=help_text, description=help_text,
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog=_epilog(stage))
        parser.add_argument("--preset", default=None,
                            help=f"settings preset: {', '.join(preset_names(stage)) or 'none yet'}, or a YAML path")
        module = importlib.import_module(module_name)
        for flag, key in module.SHORTCUTS.items():
            parser.add_argument(f"--{flag.replace('_', '-')}", dest=f"short_{flag}", default=None, metavar="VALUE",
                                help=f"sets {key}")
        parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                            help="any config key, e.g. --set optim.lr=1e-5 --set run.max_steps=20")
        parser.add_argument("--print-config", action="store_true", help="print the resolved config and exit")
        parser.set_defaults(func=_runner(stage, module_name))


def _epilog(stage: str) -> str:
    return (f"examples:\n  instructrl train {stage} --preset cpu\n"
            f"  instructrl train {stage} --preset tiny --set run.max_steps=5 --print-config\n"
            "Running the same command again resumes an interrupted run (state is kept under runs/).")


def _runner(stage: str, module_name: str):
    def run(args) -> int:
        import json

        from instructrl.config import to_dict

        module = importlib.import_module(module_name)
        shortcuts = [f"{key}={getattr(args, f'short_{flag}')}" for flag, key in module.SHORTCUTS.items()
                     if getattr(args, f"short_{flag}") is not None]
        config = resolve(module.CONFIG, stage, args.preset, shortcuts + args.overrides)
        if args.print_config:
            print(json.dumps(to_dict(config), indent=2))
            return 0
        module.run(config)
        return 0

    return run
