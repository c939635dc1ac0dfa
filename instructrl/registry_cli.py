"""``instructrl checkpoints list|show|verify``."""

from __future__ import annotations

import json

from instructrl.checkpoints import Registry


def add_commands(sub) -> None:
    for name, func, help_text in (
        ("list", _list, "one line per checkpoint: name, stage, parent, key metric"),
        ("show", _show, "print a checkpoint's card (config, data fingerprint, metrics)"),
        ("verify", _verify, "recompute a checkpoint's content hash and compare it with its card"),
    ):
        parser = sub.add_parser(name, help=help_text, description=help_text)
        if name != "list":
            parser.add_argument("name", help="checkpoint name, or a stage (sft, rm, ppo, ppo-ptx) for its newest")
        parser.add_argument("--registry", default=None, help="registry folder (default: $INSTRUCTRL_CHECKPOINTS or ./checkpoints)")
        parser.set_defaults(func=func)


def _list(args) -> int:
    checkpoints = Registry(args.registry).list()
    if not checkpoints:
        print(f"no checkpoints in {Registry(args.registry).root} yet: run `instructrl train sft` first")
        return 0
    print(f"{'name':44} {'stage':8} {'parent':36} created")
    for c in checkpoints:
        print(f"{c.name:44} {c.card.stage:8} {str(c.card.parent or '-')[:36]:36} {c.card.created}")
    return 0


def _show(args) -> int:
    checkpoint = Registry(args.registry).get(args.name)
    print(json.dumps({"path": str(checkpoint.path), **checkpoint.card.__dict__}, indent=2, default=str))
    return 0


def _verify(args) -> int:
    checkpoint = Registry(args.registry).verify(args.name)
    print(f"{checkpoint.name}: ok ({checkpoint.card.content_hash[:16]})")
    return 0
