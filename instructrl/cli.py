"""The ``instructrl`` command. Each verb's subcommands are defined next to the code they run
(train/, evals/, serve/, the core); this file only wires them together and turns errors a user can
act on into one line and a non-zero exit."""

from __future__ import annotations

import argparse
import importlib
import sys

from instructrl import __version__
from instructrl.errors import InstructrlError

# verb: (help, modules that add its subcommands through `add_commands(subparsers)`)
VERBS: dict[str, tuple[str, list[str]]] = {
    "train": ("train a stage: sft, rm (reward model) or ppo (PPO / PPO-ptx)", ["train.cli"]),
    "eval": ("evaluate checkpoints: win rate, TruthfulQA, toxicity, plots and a report", ["evals.cli"]),
    "serve": ("serve checkpoints over an OpenAI-compatible API with a Gradio demo", ["serve.cli"]),
    "votes": ("export the serving database's votes as reward-model comparisons", ["serve.votes"]),
    "data": ("inspect and validate datasets; sample and label comparisons", ["instructrl.data.cli", "train.compare"]),
    "checkpoints": ("list, show and verify checkpoints in the registry", ["instructrl.registry_cli"]),
    "pipeline": ("the whole recipe in one command: SFT -> comparisons -> RM -> PPO -> PPO-ptx -> evals -> report",
                 ["instructrl.pipeline"]),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="instructrl",
        description="The InstructGPT recipe: SFT -> reward model -> PPO(-ptx), with evals and serving.",
    )
    parser.add_argument("--version", action="version", version=f"instructrl {__version__}")
    verbs = parser.add_subparsers(dest="verb", metavar="VERB")
    for verb, (help_text, modules) in VERBS.items():
        loaded = [m for m in (_optional_module(name) for name in modules) if m is not None]
        if not loaded:
            continue
        if len(loaded) == 1 and hasattr(loaded[0], "add_verb"):  # a verb with no subcommands
            loaded[0].add_verb(verbs.add_parser(verb, help=help_text, description=help_text))
            continue
        sub = verbs.add_parser(verb, help=help_text, description=help_text).add_subparsers(dest="command", metavar="COMMAND")
        for module in loaded:
            module.add_commands(sub)
    return parser


def _optional_module(name: str):
    """Import a module that defines subcommands; a part not installed yet is left out of --help."""
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as err:
        if err.name and (name == err.name or name.startswith(err.name + ".")):
            return None
        raise


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "func"):
        parser.parse_args([*(argv if argv is not None else sys.argv[1:]), "--help"])
        return 2
    try:
        result = args.func(args)
    except InstructrlError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: resumable state is kept in the run folder; run the same command again to resume",
              file=sys.stderr)
        return 130
    return int(result or 0)


if __name__ == "__main__":
    sys.exit(main())
