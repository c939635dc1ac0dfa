"""The generation cache: answers keyed by (model identity, prompt, sampling parameters).

It is one SQLite file in the eval's output folder. Each batch of answers is committed as soon as it
is generated, so an interrupted eval keeps what it finished and a rerun only generates what is
missing. Log-probabilities of given continuations are cached the same way (TruthfulQA MC).
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from instructrl.errors import InstructrlError

FILE_NAME = "generations.sqlite"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS generations (
    key TEXT PRIMARY KEY, model TEXT NOT NULL, prompt TEXT NOT NULL, params TEXT NOT NULL,
    text TEXT NOT NULL, finish_reason TEXT NOT NULL, token_ids TEXT NOT NULL, prompt_tokens INTEGER NOT NULL,
    created REAL NOT NULL);
CREATE TABLE IF NOT EXISTS logprobs (
    key TEXT PRIMARY KEY, model TEXT NOT NULL, value REAL NOT NULL, created REAL NOT NULL);
"""


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def params_dict(params: Any) -> dict[str, Any]:
    """Sampling parameters as a plain dict (a dataclass such as SamplingParams, or a dict)."""
    data = asdict(params) if hasattr(params, "__dataclass_fields__") else dict(params)
    return {k: list(v) if isinstance(v, tuple) else v for k, v in data.items()}


def generation_key(model: str, prompt: Any, params: Any, chat: bool = True, sample: int = 0) -> str:
    """The cache key of one answer: a hash of the model identity, the prompt (string or
    conversation), how it is presented (chat or raw), every sampling parameter and, when sampling,
    which sample of that prompt it is (the k samples of one prompt are k different answers)."""
    blob = _canonical({"model": model, "prompt": prompt, "chat": chat, "params": params_dict(params),
                       **({"sample": sample} if sample else {})})
    return hashlib.sha256(blob.encode()).hexdigest()


def logprob_key(model: str, prompt: str, continuation: str) -> str:
    return hashlib.sha256(_canonical({"model": model, "prompt": prompt, "cont": continuation}).encode()).hexdigest()


@dataclass(frozen=True)
class CachedText:
    text: str
    finish_reason: str
    token_ids: tuple[int, ...] = ()
    prompt_tokens: int = 0


@dataclass
class CacheStats:
    hits: int = 0
    generated: int = 0
    logprob_hits: int = 0
    logprobs_computed: int = 0


class GenerationCache:
    """A SQLite-backed map from cache keys to answers (and log-probabilities)."""

    def __init__(self, folder: str | Path):
        self.path = Path(folder) / FILE_NAME
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._db = sqlite3.connect(self.path)
            self._db.executescript(_SCHEMA)
        except sqlite3.DatabaseError as err:
            raise InstructrlError(f"the generation cache {self.path} is unreadable ({err})",
                                  f"delete {self.path} to start the cache afresh") from None
        self.stats = CacheStats()

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> GenerationCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def get_many(self, keys: list[str]) -> dict[str, CachedText]:
        found: dict[str, CachedText] = {}
        for start in range(0, len(keys), 500):  # SQLite's bound-variable limit
            chunk = keys[start:start + 500]
            marks = ",".join("?" * len(chunk))
            for key, text, reason, ids, prompt_tokens in self._db.execute(
                    f"SELECT key, text, finish_reason, token_ids, prompt_tokens FROM generations WHERE key IN ({marks})",
                    chunk):
                found[key] = CachedText(text, reason, tuple(json.loads(ids)), prompt_tokens)
        return found

    def put_many(self, model: str, rows: list[tuple[str, Any, Any, CachedText]]) -> None:
        """Store (key, prompt, params, answer) rows and commit at once."""
        now = time.time()
        self._db.executemany(
            "INSERT OR REPLACE INTO generations VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [(key, model, _canonical(prompt), _canonical(params_dict(params)), answer.text, answer.finish_reason,
              json.dumps(list(answer.token_ids)), int(answer.prompt_tokens), now)
             for key, prompt, params, answer in rows])
        self._db.commit()

    def get_logprobs(self, keys: list[str]) -> dict[str, float]:
        found: dict[str, float] = {}
        for start in range(0, len(keys), 500):
            chunk = keys[start:start + 500]
            marks = ",".join("?" * len(chunk))
            found.update(self._db.execute(f"SELECT key, value FROM logprobs WHERE key IN ({marks})", chunk))
        return found

    def put_logprobs(self, model: str, rows: list[tuple[str, float]]) -> None:
        now = time.time()
        self._db.executemany("INSERT OR REPLACE INTO logprobs VALUES (?, ?, ?, ?)",
                             [(key, model, float(value), now) for key, value in rows])
        self._db.commit()

    def count(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM generations").fetchone()[0])
