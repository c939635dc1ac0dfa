"""The checkpoint registry: the hand-off between train, evals and serve.

Each checkpoint is a folder ``<registry>/<name>/`` holding a Hugging Face model (safetensors),
its tokenizer and ``card.json``: stage, parent checkpoint, resolved config, data fingerprint,
metrics, wall time and a content hash of the weights. It is written into a temp folder and renamed
into place, so a crash never leaves a half-written checkpoint under a real name.

The registry root is ``$INSTRUCTRL_CHECKPOINTS`` or ``./checkpoints``. A checkpoint is named by its
folder name or by its stage (``sft``, ``rm``, ``ppo``, ``ppo-ptx``: the newest of that stage).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from instructrl import __version__
from instructrl.errors import ModelError

CARD = "card.json"
STAGES = ("base", "sft", "rm", "ppo", "ppo-ptx")
KINDS = ("policy", "reward")


@dataclass
class Card:
    name: str
    stage: str
    kind: str = "policy"  # "policy" (causal LM) or "reward" (scalar head)
    parent: str | None = None  # the checkpoint or model this one started from
    base_model: str | None = None
    config: dict[str, Any] = field(default_factory=dict)
    data_fingerprint: str | None = None
    metrics: dict[str, Any] = field(default_factory=dict)
    wall_time_s: float | None = None
    content_hash: str = ""
    created: str = ""
    instructrl_version: str = __version__

    @classmethod
    def read(cls, folder: Path) -> Card:
        path = folder / CARD
        try:
            data = json.loads(path.read_text())
            known = set(cls.__dataclass_fields__)
            return cls(**{k: v for k, v in data.items() if k in known})
        except (OSError, json.JSONDecodeError, TypeError) as err:
            raise ModelError(f"checkpoint card {path} is unreadable ({err})",
                             f"delete the folder {folder} and re-run the stage that wrote it") from None


@dataclass(frozen=True)
class Checkpoint:
    path: Path
    card: Card

    @property
    def name(self) -> str:
        return self.card.name


def content_hash(folder: Path) -> str:
    """sha256 over the weight and config files, in name order."""
    digest = hashlib.sha256()
    for path in sorted(folder.glob("*.safetensors")) + sorted(folder.glob("config.json")):
        digest.update(path.name.encode())
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 22), b""):
                digest.update(block)
    return digest.hexdigest()


def default_root() -> Path:
    return Path(os.environ.get("INSTRUCTRL_CHECKPOINTS", "checkpoints"))


class Registry:
    def __init__(self, root: str | Path | None = None):
        self.root = Path(root) if root is not None else default_root()

    def list(self, stage: str | None = None) -> list[Checkpoint]:
        """Complete checkpoints, oldest first (folders without a card are unfinished and skipped)."""
        if not self.root.is_dir():
            return []
        found = []
        for folder in self.root.iterdir():
            if folder.is_dir() and not folder.name.startswith(".") and (folder / CARD).exists():
                card = Card.read(folder)
                if stage is None or card.stage == stage:
                    found.append(Checkpoint(folder, card))
        return sorted(found, key=lambda c: (c.card.created, c.name))

    def find(self, name: str) -> Checkpoint | None:
        """A checkpoint by folder name, or the newest of a stage."""
        folder = self.root / name
        if (folder / CARD).exists():
            return Checkpoint(folder, Card.read(folder))
        if name in STAGES:
            of_stage = self.list(stage=name)
            return of_stage[-1] if of_stage else None
        return None

    def resolve(self, spec: str) -> str:
        """The checkpoint name ``spec`` stands for (a stage alias names the newest of its stage), or ``spec``
        itself when the registry does not hold it (a path, a hub id, an embedded model)."""
        found = self.find(spec)
        return found.name if found is not None else spec

    def stamp(self) -> tuple[int, tuple[str, ...]] | None:
        """A cheap value (the root folder's modification time and entries; None while there is no root)
        that changes whenever a checkpoint is added, replaced or removed: callers that keep what the
        registry holds read it again only when the stamp moves."""
        try:
            return self.root.stat().st_mtime_ns, tuple(sorted(os.listdir(self.root)))
        except OSError:
            return None

    def get(self, name: str) -> Checkpoint:
        found = self.find(name)
        if found is None:
            names = [c.name for c in self.list()]
            raise ModelError(f"no checkpoint {name!r} in {self.root}",
                             f"train one first, or use one of: {', '.join(names) or '(registry is empty)'}")
        return found

    def verify(self, name: str) -> Checkpoint:
        """Recompute the content hash; a mismatch means the weights changed or were cut short."""
        checkpoint = self.get(name)
        if content_hash(checkpoint.path) != checkpoint.card.content_hash:
            raise ModelError(f"checkpoint {name} is corrupt: its weights do not match the card's content hash",
                             f"delete {checkpoint.path} and re-run its stage")
        return checkpoint

    def write(self, card: Card, save: Callable[[Path], None], overwrite: bool = False) -> Checkpoint:
        """Save a model with ``save(folder)``, add the card, and rename the folder into place."""
        if card.stage not in STAGES or card.kind not in KINDS:
            raise ValueError(f"unknown stage {card.stage!r} or kind {card.kind!r}")
        target = self.root / card.name
        if target.exists() and not overwrite:
            raise ModelError(f"checkpoint {card.name} already exists in {self.root}",
                             "choose another run.output name, or delete the old one")
        self.root.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{card.name}-", dir=self.root))
        try:
            save(tmp)
            card.content_hash = content_hash(tmp)
            card.created = card.created or time.strftime("%Y-%m-%dT%H:%M:%S")
            (tmp / CARD).write_text(json.dumps(asdict(card), indent=2, default=str))
            if target.exists():
                shutil.rmtree(target)
            os.replace(tmp, target)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        return Checkpoint(target, card)


def default_name(stage: str, model: str) -> str:
    base = Path(model).name if ("/" in model or model.endswith(".gguf")) else model
    return f"{stage}-{base.removesuffix('.gguf')}-{time.strftime('%Y%m%d-%H%M%S')}"
