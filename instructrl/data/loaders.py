"""One loader for every data source: the embedded sets, JSONL / JSON / CSV / Parquet files (gzip
allowed), and `datasets` hub names. All of them yield plain dict rows that go through the same
schema validation, so a malformed row fails the same way wherever it came from.

Sources are named as:
  builtin            the embedded instruction set (demonstrations; synthetic, written by this project)
  builtin-pretrain   the embedded pretraining-style corpus (for ptx)
  path/to/file.jsonl a local file (.jsonl, .json, .csv, .parquet, optionally .gz)
  org/name[:config]  a `datasets` hub dataset (needs network or a local HF cache)
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from instructrl.data.schemas import Where
from instructrl.errors import DataError, InstructrlError

T = TypeVar("T")
BUILTIN_DIR = Path(__file__).parent / "builtin"
BUILTIN_SOURCES = {
    "builtin": BUILTIN_DIR / "instructions.jsonl",
    "builtin-pretrain": BUILTIN_DIR / "pretrain.jsonl",
}
SPLITS = ("train", "validation", "test")
SPLIT_FRACTIONS = (0.8, 0.1, 0.1)
FILE_SUFFIXES = (".jsonl", ".json", ".csv", ".parquet")


def split_of(record_id: str) -> str:
    """The fixed split of a record, from a hash of its id: 80 % train, 10 % validation, 10 % test.

    The test split is held out: no training stage reads it."""
    bucket = int(hashlib.sha256(record_id.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
    edge = 0.0
    for name, fraction in zip(SPLITS, SPLIT_FRACTIONS):
        edge += fraction
        if bucket < edge:
            return name
    return SPLITS[-1]


@dataclass
class Loaded:
    """Records read from one source, and the rows that were rejected (with their reasons)."""

    records: list[Any]
    rejected: list[DataError] = field(default_factory=list)
    source: str = ""

    def summary(self) -> str:
        kept = f"{len(self.records)} records from {self.source}"
        return kept if not self.rejected else f"{kept}; dropped {len(self.rejected)} malformed rows"


def load_records(
    source: str | Path,
    schema: type[T],
    split: str | None = None,
    limit: int | None = None,
    skip_bad_rows: bool = False,
) -> Loaded:
    """Read ``source`` into ``schema`` records (see module doc for source names).

    ``split`` selects train / validation / test (by id hash for files and the embedded sets, by the
    dataset's own split for hub names). A malformed row raises a DataError naming file, line and
    field, unless ``skip_bad_rows``: then it is kept in ``Loaded.rejected`` so callers print counts.
    """
    if split is not None and split not in SPLITS:
        raise InstructrlError(f"unknown split {split!r}", f"use one of {', '.join(SPLITS)}")
    records, rejected = [], []
    hub = _is_hub_name(source)
    for where, row in (_hub_rows(str(source), split) if hub else _file_rows(_resolve_path(source))):
        try:
            if isinstance(row, DataError):  # a line that did not even parse
                raise row
            record = schema.from_row(row, where)  # type: ignore[attr-defined]
        except DataError as err:
            if not skip_bad_rows:
                raise
            rejected.append(err)
            continue
        if split is not None and not hub and split_of(record.id) != split:  # type: ignore[attr-defined]
            continue
        records.append(record)
        if limit is not None and len(records) >= limit:
            break
    return Loaded(records, rejected, str(source))


def _is_hub_name(source: str | Path) -> bool:
    text = str(source)
    if text in BUILTIN_SOURCES or Path(text).exists():
        return False
    looks_like_file = any(text.endswith(s) or text.endswith(s + ".gz") for s in FILE_SUFFIXES)
    return "/" in text and not looks_like_file and not text.startswith((".", "/"))


def _resolve_path(source: str | Path) -> Path:
    text = str(source)
    if text in BUILTIN_SOURCES:
        return BUILTIN_SOURCES[text]
    path = Path(text).expanduser()
    if not path.exists():
        raise DataError(text, None, None, "does not exist",
                        f"give a path to a .jsonl/.csv/.parquet file, a hub name like org/name, or one of: "
                        f"{', '.join(BUILTIN_SOURCES)}")
    if path.is_dir():
        raise DataError(text, None, None, "is a directory; expected a data file")
    return path


def _open_text(path: Path) -> io.TextIOBase:
    if path.suffix == ".gz":
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8")
    return open(path, encoding="utf-8")


def _file_rows(path: Path) -> Iterator[tuple[Where, dict[str, Any]]]:
    name = path.name[:-3] if path.suffix == ".gz" else path.name
    readers: dict[str, Callable[[Path], Iterator[tuple[Where, dict[str, Any]]]]] = {
        ".jsonl": _jsonl_rows, ".json": _json_rows, ".csv": _csv_rows, ".parquet": _parquet_rows,
    }
    for suffix, reader in readers.items():
        if name.endswith(suffix):
            return reader(path)
    raise DataError(str(path), None, None, f"has an unknown file type; expected one of {', '.join(FILE_SUFFIXES)}")


def _jsonl_rows(path: Path) -> Iterator[tuple[Where, dict[str, Any] | DataError]]:
    with _open_text(path) as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            where = Where(str(path), number)
            try:
                row = json.loads(line)
            except json.JSONDecodeError as err:
                yield where, where.error(None, f"is not valid JSON ({err.msg} at column {err.colno})")
                continue
            yield where, row if isinstance(row, dict) else where.error(None, "expected a JSON object per line")


def _json_rows(path: Path) -> Iterator[tuple[Where, dict[str, Any]]]:
    with _open_text(path) as handle:
        try:
            rows = json.load(handle)
        except json.JSONDecodeError as err:
            raise DataError(str(path), err.lineno, None, f"is not valid JSON ({err.msg})") from None
    if not isinstance(rows, list):
        raise DataError(str(path), None, None, "expected a JSON array of objects (or use .jsonl)")
    for index, row in enumerate(rows):
        where = Where(f"{path}[{index}]")
        if not isinstance(row, dict):
            raise where.error(None, "expected an object")
        yield where, row


def _csv_rows(path: Path) -> Iterator[tuple[Where, dict[str, Any]]]:
    with _open_text(path) as handle:
        reader = csv.DictReader(handle)
        for row in reader:
            # reader.line_num is the last physical line read, which is this row's (quoted newlines aside)
            yield Where(str(path), reader.line_num), {k: _maybe_json(v) for k, v in row.items() if k is not None}


def _maybe_json(value: str | None) -> Any:
    """CSV cells that hold JSON lists or objects (constraints, completions) are decoded."""
    if value and value[0] in "[{":
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value


def _parquet_rows(path: Path) -> Iterator[tuple[Where, dict[str, Any]]]:
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except Exception as err:  # pyarrow raises many types for a broken file
        raise DataError(str(path), None, None, f"is not a readable Parquet file ({err})") from None
    for index, row in enumerate(table.to_pylist()):
        yield Where(str(path), index + 1), row


def _hub_rows(name: str, split: str | None) -> Iterator[tuple[Where, dict[str, Any]]]:
    import datasets

    repo, _, config = name.partition(":")
    hub_split = split or "train"
    try:
        dataset = datasets.load_dataset(repo, config or None, split=hub_split)
    except Exception as err:
        raise DataError(name, None, None, f"could not be loaded from the hub ({type(err).__name__}: {err})",
                        "check the name and your network, or download it and pass a local file") from None
    for index, row in enumerate(dataset):
        yield Where(f"{name}[{hub_split}]", index + 1), dict(row)


def fingerprint(records: list[Any]) -> str:
    """A content hash of the records a stage trained on, stored in the checkpoint card."""
    digest = hashlib.sha256()
    for record in records:
        digest.update(json.dumps(record.to_row(), sort_keys=True, ensure_ascii=False).encode())
    return digest.hexdigest()[:16]
