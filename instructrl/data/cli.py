"""``instructrl data show|validate``: look at a dataset the way the stages will read it."""

from __future__ import annotations

import json
from collections import Counter

from instructrl.data.loaders import _file_rows, _resolve_path, load_records, split_of
from instructrl.data.schemas import SCHEMAS
from instructrl.errors import DataError


def add_commands(sub) -> None:
    show = sub.add_parser("show", help="print a few records and counts per category and split",
                          description="Print the first records of a dataset and its counts per category and split.")
    show.add_argument("source", nargs="?", default="builtin",
                      help="builtin, builtin-pretrain, a .jsonl/.csv/.parquet file, or a hub name (default: builtin)")
    show.add_argument("--schema", choices=sorted(SCHEMAS), default="demonstrations")
    show.add_argument("-n", type=int, default=3, help="records to print")
    show.set_defaults(func=_show)
    validate = sub.add_parser("validate", help="check every row; list malformed rows with file, line and field",
                              description="Read every row and report the malformed ones (exit 1 when any).")
    validate.add_argument("source")
    validate.add_argument("--schema", choices=sorted(SCHEMAS), default=None,
                          help="the rows' schema (default: detected from the first row's fields, e.g. a "
                               "`votes export` file is comparisons; demonstrations when unclear)")
    validate.set_defaults(func=_validate)


def _show(args) -> int:
    loaded = load_records(args.source, SCHEMAS[args.schema])
    for record in loaded.records[: args.n]:
        print(json.dumps(record.to_row(), ensure_ascii=False)[:400])
    print(loaded.summary())
    categories = Counter(getattr(r, "category", "-") for r in loaded.records)
    splits = Counter(split_of(r.id) for r in loaded.records)
    print("categories: " + ", ".join(f"{k} {v}" for k, v in categories.most_common()))
    print("splits: " + ", ".join(f"{k} {v}" for k, v in sorted(splits.items())))
    return 0


# a field only one schema has -> that schema (the rest have "prompt" + "completion": demonstrations)
TELLING_FIELDS = (("completions", "comparisons"), ("ranking", "comparisons"), ("reference", "eval"),
                  ("text", "pretrain"))


def detect_schema(source: str) -> str:
    """The schema of a file's first readable row, by the fields only that schema has."""
    try:
        for _, row in _file_rows(_resolve_path(source)):
            if isinstance(row, dict):
                return next((schema for field, schema in TELLING_FIELDS if field in row), "demonstrations")
    except DataError:
        pass  # a hub name or a missing file: load_records reports it
    return "demonstrations"


def _validate(args) -> int:
    schema = args.schema or detect_schema(args.source)
    if args.schema is None:
        print(f"schema: {schema} (detected; pass --schema to choose)")
    loaded = load_records(args.source, SCHEMAS[schema], skip_bad_rows=True)
    for error in loaded.rejected:
        print(f"bad row: {error}")
    print(loaded.summary())
    return 1 if loaded.rejected else 0
