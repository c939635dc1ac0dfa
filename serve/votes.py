"""Arena votes in SQLite, and their export as reward-model comparisons.

The arena shows one prompt's answers from two (or more) models side by side; a person says which is
better. Every shown pair is a *comparison* (prompt + answers in display order) and every verdict a
*vote* on it. Votes are the human-feedback half of the loop: ``instructrl votes export`` turns them
into ``Comparison`` rows (the ranked-comparisons schema the reward model trains on, Ouyang et al.
2022 §3.5), so the next reward model learns from what users preferred.

Storage is one SQLite file in WAL mode (readers never block the writer), with a ``schema_version``
table and numbered migrations. Each thread gets its own connection; every write is one
``BEGIN IMMEDIATE`` transaction with a busy timeout, so concurrent voters (threads or processes)
queue instead of failing, and a vote is on disk before ``record_vote`` returns.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
import uuid
import weakref
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from instructrl.data.schemas import Comparison, Prompt, Where, parse_prompt
from instructrl.errors import InstructrlError

CHOICES = ("a", "b", "tie", "both_bad")
# The score of answer A in a battle; "both_bad" is a tie between two answers that are both poor.
SCORE_OF_A = {"a": 1.0, "b": 0.0, "tie": 0.5, "both_bad": 0.5}
# one vote per comparison counts: the first (a database from before the server refused a second may hold more)
FIRST_VOTE = "v.rowid = (SELECT MIN(w.rowid) FROM votes w WHERE w.comparison_id = v.comparison_id)"
BUSY_TIMEOUT_MS = 30_000

# MIGRATIONS[i] takes a database from schema version i to i + 1. Append; never edit a released step.
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        """CREATE TABLE comparisons (
            id TEXT PRIMARY KEY,
            created REAL NOT NULL,
            prompt TEXT NOT NULL,          -- JSON: a string or a list of {role, content} messages
            models TEXT NOT NULL           -- JSON list of model names in display order
        )""",
        """CREATE TABLE answers (
            comparison_id TEXT NOT NULL REFERENCES comparisons(id),
            position INTEGER NOT NULL,     -- 0 is shown as "Model A", 1 as "Model B", ...
            model TEXT NOT NULL,
            text TEXT NOT NULL,
            PRIMARY KEY (comparison_id, position)
        )""",
        """CREATE TABLE votes (
            id TEXT PRIMARY KEY,
            comparison_id TEXT NOT NULL REFERENCES comparisons(id),
            choice TEXT NOT NULL CHECK (choice IN ('a', 'b', 'tie', 'both_bad')),
            voter TEXT,
            created REAL NOT NULL
        )""",
        "CREATE INDEX votes_by_comparison ON votes (comparison_id)",
    ),
)
SCHEMA_VERSION = len(MIGRATIONS)


class AlreadyVoted(InstructrlError):
    """A comparison that already has its vote (the arena takes one vote per comparison)."""


class _Connection(sqlite3.Connection):
    """A plain connection that can be weakly referenced: a thread that ends drops its connection
    (closing it) instead of the store keeping it open forever."""


def schema_version(conn: sqlite3.Connection) -> int:
    """The database's schema version; 0 for a new, empty file."""
    conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
    row = conn.execute("SELECT version FROM schema_version").fetchone()
    return 0 if row is None else int(row[0])


def migrate(conn: sqlite3.Connection, migrations: Sequence[Sequence[str]] = MIGRATIONS) -> int:
    """Bring the database up to ``len(migrations)`` in one transaction; returns the final version.

    ``conn`` must be in autocommit mode (``isolation_level=None``) so the transaction is ours."""
    conn.execute("BEGIN IMMEDIATE")  # two processes opening a new file must not both migrate it
    try:
        version = schema_version(conn)
        if version > len(migrations):
            raise InstructrlError(
                f"the votes database has schema version {version}, newer than this instructrl knows "
                f"({len(migrations)})", "upgrade instructrl, or point --db at another file")
        for step in migrations[version:]:
            for statement in step:
                conn.execute(statement)
        if version != len(migrations):
            conn.execute("DELETE FROM schema_version")
            conn.execute("INSERT INTO schema_version (version) VALUES (?)", (len(migrations),))
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return len(migrations)


class VoteStore:
    """Comparisons shown in the arena and the votes cast on them, in one SQLite file."""

    def __init__(self, path: str | Path, synchronous: str = "FULL"):
        # FULL: a vote's commit is flushed to disk before it returns (WAL + NORMAL could lose the
        # last votes on power loss); NORMAL is offered for bulk imports where that is acceptable.
        if synchronous not in ("FULL", "NORMAL"):
            raise InstructrlError(f"synchronous={synchronous!r} is not supported", "use 'FULL' or 'NORMAL'")
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._synchronous = synchronous
        self._local = threading.local()
        self._connections: weakref.WeakSet[_Connection] = weakref.WeakSet()
        self._lock = threading.Lock()  # guards the list of connections, not the database
        self._closed = False
        try:
            migrate(self._conn())
        except BaseException:
            self.close()
            raise

    # ---- connections and transactions -----------------------------------------------------------

    def _conn(self) -> sqlite3.Connection:
        """This thread's connection (SQLite connections must not be shared between threads mid-use)."""
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            return conn
        if self._closed:
            raise InstructrlError(f"the vote store {self.path} is closed", "open a new VoteStore")
        # check_same_thread=False only so close() may close every thread's connection at the end
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False,
                               timeout=BUSY_TIMEOUT_MS / 1000, factory=_Connection)
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if mode.lower() != "wal":
            conn.close()
            raise InstructrlError(f"SQLite refused WAL mode for {self.path} (got {mode})",
                                  "put the votes database on a local disk, not a network share")
        conn.execute(f"PRAGMA synchronous = {self._synchronous}")
        conn.execute("PRAGMA foreign_keys = ON")
        with self._lock:
            self._connections.add(conn)
        self._local.conn = conn
        return conn

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction. IMMEDIATE takes the write lock up front, so a busy database makes
        us wait (busy_timeout) at BEGIN instead of failing half-way through."""
        conn = self._conn()
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:  # also after a failed COMMIT, so the next write starts clean
                conn.execute("ROLLBACK")
            raise

    def close(self) -> None:
        with self._lock:
            self._closed = True
            for conn in list(self._connections):
                conn.close()
            self._connections.clear()
        self._local = threading.local()

    def __enter__(self) -> VoteStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- writes ----------------------------------------------------------------------------------

    def record_comparison(self, prompt: Prompt, answers: Mapping[str, str]) -> str:
        """Store a prompt and each model's answer (in display order); returns the comparison id."""
        prompt = parse_prompt(prompt, Where("record_comparison"))
        if len(answers) < 2:
            raise InstructrlError(f"a comparison needs answers from at least 2 models, got {len(answers)}",
                                  "pass a dict of model name -> answer text with two or more models")
        for model, text in answers.items():
            if not isinstance(model, str) or not model or not isinstance(text, str):
                raise InstructrlError(f"answer for model {model!r} is not a (name, text) pair of strings",
                                      "pass a dict of model name -> answer text")
        comparison_id = uuid.uuid4().hex
        models = list(answers)
        with self._write() as conn:
            conn.execute("INSERT INTO comparisons (id, created, prompt, models) VALUES (?, ?, ?, ?)",
                         (comparison_id, time.time(), json.dumps(prompt, ensure_ascii=False), json.dumps(models)))
            conn.executemany("INSERT INTO answers (comparison_id, position, model, text) VALUES (?, ?, ?, ?)",
                             [(comparison_id, i, m, answers[m]) for i, m in enumerate(models)])
        return comparison_id

    def record_vote(self, comparison_id: str, choice: str, voter: str | None = None,
                    once: bool = False) -> dict[str, Any]:
        """Store a vote on the first two answers of a comparison and return it with the models revealed.

        Raises ValueError for a choice not in CHOICES and KeyError for an unknown comparison; with
        ``once`` (the server's votes), AlreadyVoted when the comparison has a vote already."""
        if choice not in CHOICES:
            raise ValueError(f"vote choice {choice!r} is not one of {', '.join(CHOICES)}")
        vote = {"id": uuid.uuid4().hex, "comparison_id": comparison_id, "choice": choice, "voter": voter,
                "created": time.time()}
        with self._write() as conn:
            row = conn.execute("SELECT models FROM comparisons WHERE id = ?", (comparison_id,)).fetchone()
            if row is None:
                raise KeyError(f"no comparison with id {comparison_id!r} in {self.path}")
            # checked inside the write transaction, so two voters racing cannot both get in
            if once and conn.execute("SELECT 1 FROM votes WHERE comparison_id = ?", (comparison_id,)).fetchone():
                raise AlreadyVoted(f"comparison {comparison_id} already has a vote; one vote per comparison",
                                   "compare again (POST /v1/compare) to vote on a new pair of answers")
            conn.execute("INSERT INTO votes (id, comparison_id, choice, voter, created) VALUES (?, ?, ?, ?, ?)",
                         (vote["id"], comparison_id, choice, voter, vote["created"]))
        models = json.loads(row[0])
        return {**vote, "model_a": models[0], "model_b": models[1]}

    # ---- reads -----------------------------------------------------------------------------------

    def vote_count(self) -> int:
        return int(self._conn().execute("SELECT COUNT(*) FROM votes").fetchone()[0])

    def comparison(self, comparison_id: str) -> dict[str, Any]:
        """A stored comparison: {id, created, prompt, answers: {model: text}} (KeyError if unknown)."""
        conn = self._conn()
        row = conn.execute("SELECT created, prompt FROM comparisons WHERE id = ?", (comparison_id,)).fetchone()
        if row is None:
            raise KeyError(f"no comparison with id {comparison_id!r} in {self.path}")
        answers = conn.execute("SELECT model, text FROM answers WHERE comparison_id = ? ORDER BY position",
                               (comparison_id,)).fetchall()
        return {"id": comparison_id, "created": row[0], "prompt": json.loads(row[1]), "answers": dict(answers)}

    def _voted_pairs(self) -> list[tuple[str, str, str, str, str | None, str]]:
        """The first vote on each comparison with its first two answers, oldest first:
        (vote id, prompt JSON, text A, text B, voter, choice)."""
        return self._conn().execute(
            f"""SELECT v.id, c.prompt, a.text, b.text, v.voter, v.choice
               FROM votes v
               JOIN comparisons c ON c.id = v.comparison_id
               JOIN answers a ON a.comparison_id = v.comparison_id AND a.position = 0
               JOIN answers b ON b.comparison_id = v.comparison_id AND b.position = 1
               WHERE {FIRST_VOTE}
               ORDER BY v.created, v.rowid""").fetchall()

    def repeat_votes(self) -> int:
        """Votes after the first on the same comparison. The server takes one vote per comparison;
        a database written before that rule may hold more, which would be contradictory labels."""
        return self.vote_count() - int(self._conn().execute(
            "SELECT COUNT(DISTINCT comparison_id) FROM votes").fetchone()[0])

    def battles(self) -> list[tuple[str, str, float]]:
        """The first vote on each comparison as (model A, model B, score of A): 1 A won, 0 B won,
        0.5 tie or both bad."""
        rows = self._conn().execute(
            f"""SELECT a.model, b.model, v.choice
               FROM votes v
               JOIN answers a ON a.comparison_id = v.comparison_id AND a.position = 0
               JOIN answers b ON b.comparison_id = v.comparison_id AND b.position = 1
               WHERE {FIRST_VOTE}
               ORDER BY v.created, v.rowid""").fetchall()
        return [(a, b, SCORE_OF_A[choice]) for a, b, choice in rows]

    def export_comparisons(self) -> tuple[list[Comparison], dict[str, int]]:
        """Votes as reward-model comparisons (one per vote, id = vote id, source "arena").

        A Comparison must prefer one answer, so "tie" and "both_bad" votes are not exported (they
        carry no preference between the two), nor are votes on two identical answers, nor votes after
        the first on one comparison (``repeat_votes``); the counts say how many of each were skipped."""
        counts = {"votes": self.vote_count(), "exported": 0, "skipped_tie": 0, "skipped_both_bad": 0,
                  "skipped_identical": 0, "skipped_repeat": self.repeat_votes()}
        out: list[Comparison] = []
        for vote_id, prompt_json, text_a, text_b, voter, choice in self._voted_pairs():
            if choice in ("tie", "both_bad"):
                counts[f"skipped_{choice}"] += 1
                continue
            if text_a == text_b:
                counts["skipped_identical"] += 1
                continue
            ranking = (0, 1) if choice == "a" else (1, 0)
            out.append(Comparison(json.loads(prompt_json), (text_a, text_b), ranking, source="arena",
                                  labeler=voter or "human", id=vote_id))
            counts["exported"] += 1
        return out, counts


def write_jsonl(records: Sequence[Comparison], path: str | Path) -> None:
    """One JSON object per line, in the schema's own row format (what ``load_records`` reads)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", encoding="utf-8") as f:
        for record in records:
            f.write(json.dumps(record.to_row(), ensure_ascii=False) + "\n")
    tmp.replace(path)  # a reader never sees half a file


# ---- command line: instructrl votes export ------------------------------------------------------


def add_commands(subparsers) -> None:
    parser = subparsers.add_parser(
        "export", help="write the arena votes as ranked comparisons (JSONL) for reward-model training",
        description="Write every arena vote as a Comparison row (prompt, the two answers, ranking 0 = "
                    "preferred; source 'arena', labeler = voter id or 'human'). Ties and 'both bad' "
                    "votes carry no preference and are skipped and counted.")
    parser.add_argument("--db", required=True, help="the serving votes database (SQLite file)")
    parser.add_argument("--out", required=True, help="the JSONL file to write, e.g. arena.jsonl")
    parser.set_defaults(func=_export_command)


def _export_command(args) -> int:
    db, out = Path(args.db), Path(args.out)
    if out.suffix != ".jsonl":  # the loaders pick the format by suffix; JSON lines need .jsonl
        raise InstructrlError(f"--out {out} does not end in .jsonl", f"use e.g. --out {out.with_suffix('.jsonl')}")
    if not db.is_file():
        raise InstructrlError(f"votes database {db} does not exist",
                              "pass the --votes-db file the server was started with")
    with VoteStore(db) as store:
        records, counts = store.export_comparisons()
    write_jsonl(records, out)
    print(f"exported {counts['exported']} comparisons from {counts['votes']} votes to {out}")
    print(f"skipped {counts['skipped_tie']} ties, {counts['skipped_both_bad']} both-bad votes, "
          f"{counts['skipped_identical']} votes on identical answers, {counts['skipped_repeat']} repeat votes "
          "on an already voted comparison (the first vote counts)")
    return 0
