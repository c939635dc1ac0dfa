from __future__ import annotations

import gzip
import json

import pytest

from instructrl.data.loaders import load_records, split_of
from instructrl.data.schemas import Comparison, Demonstration
from instructrl.errors import DataError, InstructrlError

ROWS = [{"id": f"r{i}", "prompt": f"Question {i}?", "completion": f"Answer {i}.", "category": "open_qa"}
        for i in range(50)]


def _write_jsonl(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_jsonl_csv_parquet_and_gzip_give_the_same_records(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    jsonl = _write_jsonl(tmp_path / "d.jsonl", ROWS)
    csv_path = tmp_path / "d.csv"
    csv_path.write_text("id,prompt,completion,category\n" + "".join(
        f"{r['id']},{r['prompt']},{r['completion']},{r['category']}\n" for r in ROWS))
    parquet = tmp_path / "d.parquet"
    pq.write_table(pa.Table.from_pylist(ROWS), parquet)
    gz = tmp_path / "d.jsonl.gz"
    gz.write_bytes(gzip.compress(jsonl.read_bytes()))
    loaded = [load_records(p, Demonstration).records for p in (jsonl, csv_path, parquet, gz)]
    assert all(records == loaded[0] for records in loaded) and len(loaded[0]) == 50


def test_splits_are_fixed_disjoint_and_cover_everything(tmp_path):
    path = _write_jsonl(tmp_path / "d.jsonl", ROWS)
    parts = {s: {r.id for r in load_records(path, Demonstration, split=s).records}
             for s in ("train", "validation", "test")}
    assert sum(len(p) for p in parts.values()) == 50
    assert not (parts["train"] & parts["test"]) and not (parts["validation"] & parts["test"])
    assert split_of("r1") == split_of("r1")


def test_malformed_row_names_file_line_and_field(tmp_path):
    rows = [*ROWS[:3], {"prompt": "ok", "completion": 5}]
    path = _write_jsonl(tmp_path / "d.jsonl", rows)
    with pytest.raises(DataError) as err:
        load_records(path, Demonstration)
    assert (err.value.line, err.value.field) == (4, "completion")
    assert "d.jsonl:4" in str(err.value) and "expected a str" in str(err.value)


def test_bad_rows_can_be_counted_instead_of_raising(tmp_path):
    path = tmp_path / "d.jsonl"
    path.write_text(json.dumps(ROWS[0]) + "\nnot json\n" + json.dumps({"prompt": "", "completion": "x"}) + "\n")
    loaded = load_records(path, Demonstration, skip_bad_rows=True)
    assert len(loaded.records) == 1 and len(loaded.rejected) == 2
    assert "dropped 2 malformed rows" in loaded.summary()


def test_missing_file_and_unknown_split_explain_the_fix(tmp_path):
    with pytest.raises(DataError, match="does not exist.*fix: give a path"):
        load_records(tmp_path / "nope.jsonl", Demonstration)
    with pytest.raises(InstructrlError, match="unknown split"):
        load_records(tmp_path / "nope.jsonl", Demonstration, split="dev")


def test_shared_hh_file_loads_as_comparisons(hh_file):
    loaded = load_records(hh_file, Comparison, skip_bad_rows=True)
    assert len(loaded.records) + len(loaded.rejected) == 1517
    assert len(loaded.records) > 1400
    first = loaded.records[0]
    assert first.ranking == (0, 1) and isinstance(first.prompt, list) and first.prompt[-1]["role"] == "user"
