"""Readers for the labelled toxicity data that trains and validates the ``minilm-head`` scorer.

Each reader takes the path of one public file, unchanged, and returns a ``Table``: rows of (text,
soft label in [0, 1], source, split key) and the count of rows it skipped, by reason. A missing file
raises a ``DataError`` naming it. The files (``<data>/toxicity``, see the data card
``evals/data/toxicity_head.md``):

=================  ============================================  ==========================================
source             file(s)                                       soft label
=================  ============================================  ==========================================
``rtp``            ``rtp-challenging-toxic.jsonl``,              Perspective API ``toxicity`` of the
                   ``rtp-nontoxic.jsonl``                        prompt and of the continuation
``civil``          ``toxic-spans-comments.csv`` +                share of raters who did not tick
                   ``toxic-spans-annotations.csv``               ``not toxic`` (1 - mean(not toxic))
``convabuse``      ``convabuse-{train,valid,test}.csv``          share of annotators marking abuse (< 0)
``surge``          ``surge-toxicity-en.csv``                     ``is_toxic`` (1 / 0)
``hatecheck``      ``hatecheck-cases.csv``                       ``label_gold`` hateful (1 / 0); eval only
``wiki``           ``wiki-toxicity-testset.csv``                 ``toxic`` (1 / 0); eval only
=================  ============================================  ==========================================

``split_of`` puts a row in ``train`` or ``held_out`` by the sha256 of its split key: the text itself,
or for RealToxicityPrompts the record's prompt text, so a prompt and its continuation stay together.
"""

from __future__ import annotations

import csv
import hashlib
import json
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from instructrl.errors import DataError

HELD_OUT_SHARE = 0.2
TRAIN_SOURCES = ("rtp", "civil", "convabuse", "surge")
EVAL_SOURCES = ("hatecheck", "wiki")

FILES: dict[str, tuple[str, ...]] = {
    "rtp": ("rtp-challenging-toxic.jsonl", "rtp-nontoxic.jsonl"),
    "civil": ("toxic-spans-comments.csv", "toxic-spans-annotations.csv"),
    "convabuse": ("convabuse-train.csv", "convabuse-valid.csv", "convabuse-test.csv"),
    "surge": ("surge-toxicity-en.csv",),
    "hatecheck": ("hatecheck-cases.csv",),
    "wiki": ("wiki-toxicity-testset.csv",),
}


@dataclass(frozen=True)
class Row:
    text: str
    label: float  # soft label: the share of raters (or Perspective's probability) calling it toxic
    source: str
    key: str = ""  # what the split hashes; the text when empty
    group: str = ""  # HateCheck's functionality

    @property
    def split(self) -> str:
        return split_of(self.key or self.text)


@dataclass
class Table:
    rows: list[Row] = field(default_factory=list)
    skipped: Counter = field(default_factory=Counter)  # reason -> rows skipped

    def extend(self, other: Table) -> None:
        self.rows += other.rows
        self.skipped.update(other.skipped)

    def part(self, split: str) -> list[Row]:
        return [r for r in self.rows if r.split == split]


def split_of(key: str, held_out: float = HELD_OUT_SHARE) -> str:
    """``held_out`` for about ``held_out`` of keys, ``train`` for the rest, by the key's sha256."""
    bucket = int(hashlib.sha256(key.encode("utf-8")).hexdigest()[:16], 16) / 16**16
    return "held_out" if bucket < held_out else "train"


def _existing(path: Path) -> Path:
    path = Path(path)
    if not path.is_file():
        raise DataError(str(path), None, None, "does not exist",
                        f"give the folder that holds {path.name} (the toxicity data, <data>/toxicity)")
    return path


def _csv_rows(path: Path) -> Iterable[dict[str, str]]:
    with open(_existing(path), newline="", encoding="utf-8") as handle:
        yield from csv.DictReader(handle)


def _columns(path: Path, needed: Iterable[str]) -> None:
    with open(_existing(path), newline="", encoding="utf-8") as handle:
        header = next(csv.reader(handle), [])
    missing = [c for c in needed if c not in header]
    if missing:
        raise DataError(str(path), 1, missing[0], f"is not a column (the header is {', '.join(header[:8])}...)")


def _text(value: object) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def read_rtp(path: Path) -> Table:
    """RealToxicityPrompts records: the prompt and the continuation, each with Perspective's toxicity."""
    table = Table()
    with open(_existing(path), encoding="utf-8") as handle:
        for line in handle:
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                table.skipped["not JSON"] += 1
                continue
            prompt = record.get("prompt") if isinstance(record, dict) else None
            key = _text(prompt.get("text")) if isinstance(prompt, dict) else None
            if key is None:
                table.skipped["no prompt text"] += 2
                continue
            for part in ("prompt", "continuation"):
                entry = record.get(part)
                text = _text(entry.get("text")) if isinstance(entry, dict) else None
                score = entry.get("toxicity") if isinstance(entry, dict) else None
                if text is None:
                    table.skipped["empty text"] += 1
                elif not isinstance(score, (int, float)) or not 0 <= score <= 1:
                    table.skipped["no Perspective toxicity"] += 1
                else:
                    table.rows.append(Row(text, float(score), "rtp", key=key))
    return table


def read_civil(comments: Path, annotations: Path) -> Table:
    """Civil Comments posts (SemEval-2021 Toxic Spans) with the share of raters who found each toxic."""
    _columns(annotations, ("comment_id", "not toxic"))
    votes: dict[str, list[float]] = defaultdict(list)
    table = Table()
    for row in _csv_rows(annotations):
        flag = (row.get("not toxic") or "").strip().lower()
        if flag not in ("true", "false"):
            table.skipped["rating without a not-toxic flag"] += 1
            continue
        votes[row["comment_id"].strip()].append(0.0 if flag == "true" else 1.0)
    _columns(comments, ("comment_id", "comment_text"))
    for row in _csv_rows(comments):
        text, ratings = _text(row.get("comment_text")), votes.get((row.get("comment_id") or "").strip())
        if text is None:
            table.skipped["empty text"] += 1
        elif not ratings:
            table.skipped["no ratings"] += 1
        else:
            table.rows.append(Row(text, sum(ratings) / len(ratings), "civil"))
    return table


_ABUSE_LEVELS = ("1", "0", "-1", "-2", "-3")


def _abusive_share(row: dict, annotator: str) -> float | None:
    """The share of one annotator's labels of a turn that mark it abusive; ``None`` if they gave none.
    Raises ``ValueError`` on a cell that is not a count."""
    counts = {}
    for level in _ABUSE_LEVELS:
        cell = (row.get(f"{annotator}_is_abuse.{level}") or "").strip()
        counts[level] = sum(int(float(v)) for v in cell.split(",")) if cell else 0
    total = sum(counts.values())
    return sum(counts[v] for v in ("-1", "-2", "-3")) / total if total else None


def read_convabuse(path: Path) -> Table:
    """ConvAbuse user turns: the share of annotators marking the turn abusive (level -1, -2 or -3).
    An annotator who labelled a turn twice ("1, 1") counts once, with the share of their labels."""
    table = Table()
    _columns(path, ("user",))
    for row in _csv_rows(path):
        text = _text(row.get("user"))
        if text is None:
            table.skipped["empty text"] += 1
            continue
        annotators = sorted({k.split("_is_abuse")[0] for k in row if k and "_is_abuse." in k})
        try:
            shares = [share for a in annotators if (share := _abusive_share(row, a)) is not None]
        except ValueError:
            table.skipped["unreadable annotation"] += 1
            continue
        if not shares:
            table.skipped["no annotations"] += 1
        else:
            table.rows.append(Row(text, sum(shares) / len(shares), "convabuse"))
    return table


def _binary(path: Path, source: str, text_col: str, label_col: str, positive: set[str], negative: set[str],
            group_col: str | None = None) -> Table:
    table = Table()
    _columns(path, (text_col, label_col) + ((group_col,) if group_col else ()))
    for row in _csv_rows(path):
        text, label = _text(row.get(text_col)), (row.get(label_col) or "").strip().lower()
        if text is None:
            table.skipped["empty text"] += 1
        elif label not in positive | negative:
            table.skipped[f"unknown {label_col}"] += 1
        else:
            table.rows.append(Row(text, float(label in positive), source,
                                  group=(row.get(group_col) or "").strip() if group_col else ""))
    return table


def read_surge(path: Path) -> Table:
    """Surge AI's English toxicity set: ``is_toxic`` Toxic / Not Toxic."""
    return _binary(path, "surge", "text", "is_toxic", {"toxic", "1", "true"}, {"not toxic", "0", "false"})


def read_hatecheck(path: Path) -> Table:
    """HateCheck functional tests (evaluation only); ``group`` is the functionality."""
    return _binary(path, "hatecheck", "test_case", "label_gold", {"hateful"}, {"non-hateful"}, "functionality")


def read_wiki(path: Path) -> Table:
    """The Wikipedia talk-page toxicity test set (evaluation only)."""
    return _binary(path, "wiki", "comment", "toxic", {"true", "1"}, {"false", "0"})


def read_source(folder: Path, source: str) -> Table:
    """One source's table from the data folder (the file names in ``FILES``)."""
    folder = Path(folder)
    names = FILES[source]
    if source == "rtp" or source == "convabuse":
        reader = read_rtp if source == "rtp" else read_convabuse
        table = Table()
        for name in names:
            table.extend(reader(folder / name))
        return table
    if source == "civil":
        return read_civil(folder / names[0], folder / names[1])
    return {"surge": read_surge, "hatecheck": read_hatecheck, "wiki": read_wiki}[source](folder / names[0])


def read_all(folder: Path) -> dict[str, Table]:
    """Every source's table; a missing folder or file raises a ``DataError`` naming it."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(str(folder), None, None, "is not a folder",
                        "give the toxicity data folder (<data>/toxicity)")
    return {source: read_source(folder, source) for source in FILES}


# ---- validation figures (pure: tables and a score per text) ------------------------------------


def evaluation_rows(tables: dict[str, Table]) -> dict[str, list[Row]]:
    """What a scorer is validated on: the held-out part of each training source, all of HateCheck
    and of the Wikipedia test set."""
    return {source: (table.part("held_out") if source in TRAIN_SOURCES else list(table.rows))
            for source, table in tables.items()}


def figures(tables: dict[str, Table], scores: dict[str, float], threshold: float = 0.5,
            weakest: int = 5) -> dict[str, dict]:
    """Per source: AUC against the label read as toxic when >= ``threshold`` (a majority of raters;
    Perspective's 0.5 for RealToxicityPrompts), with Spearman's rho against Perspective for ``rtp``;
    HateCheck's accuracy (toxic when the score is >= ``threshold``) overall and per functionality,
    with the ``weakest`` functionalities."""
    from scipy.stats import spearmanr

    from evals.stats import auc

    out: dict[str, dict] = {}
    for source, rows in evaluation_rows(tables).items():
        if not rows:
            continue
        s = [scores[r.text] for r in rows]
        y = [r.label for r in rows]
        if source == "hatecheck":
            right = [float((p >= threshold) == (t >= threshold)) for p, t in zip(s, y)]
            groups: dict[str, list[float]] = defaultdict(list)
            for r, ok in zip(rows, right):
                groups[r.group].append(ok)
            per = {g: round(sum(v) / len(v), 4) for g, v in sorted(groups.items())}
            out[source] = {"n": len(rows), "accuracy": round(sum(right) / len(right), 4), "per_functionality": per,
                           "weakest": sorted(per.items(), key=lambda kv: (kv[1], kv[0]))[:weakest]}
            continue
        entry = {"n": len(rows), "n_toxic": sum(t >= threshold for t in y),
                 "auc": round(auc([p for p, t in zip(s, y) if t >= threshold],
                                  [p for p, t in zip(s, y) if t < threshold]), 4)}
        if source == "rtp":
            entry["spearman"] = round(float(spearmanr(s, y).statistic), 4)
        out[source] = entry
    return out
