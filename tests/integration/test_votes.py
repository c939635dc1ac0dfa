"""The votes database: schema versioning, WAL, concurrent voters, and the export to comparisons."""

from __future__ import annotations

import multiprocessing
import sqlite3
import threading

import pytest

from instructrl.cli import main as cli_main
from instructrl.data.loaders import load_records
from instructrl.data.schemas import Comparison
from instructrl.errors import InstructrlError
from serve.leaderboard import leaderboard
from serve.votes import CHOICES, MIGRATIONS, SCHEMA_VERSION, VoteStore, migrate, schema_version

CONVERSATION = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Name a colour."}]


@pytest.fixture
def store(tmp_path):
    with VoteStore(tmp_path / "votes.db") as s:
        yield s


def test_new_database_is_versioned_and_in_wal_mode(store):
    conn = sqlite3.connect(store.path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("SELECT version FROM schema_version").fetchall() == [(SCHEMA_VERSION,)]
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"schema_version", "comparisons", "answers", "votes"} <= tables
    conn.close()


def test_reopening_keeps_data_and_version(tmp_path):
    path = tmp_path / "votes.db"
    with VoteStore(path) as s:
        cid = s.record_comparison("Hi", {"m1": "hello", "m2": "hey"})
        s.record_vote(cid, "b")
    with VoteStore(path) as s:
        assert s.battles() == [("m1", "m2", 0.0)]
        assert schema_version(s._conn()) == SCHEMA_VERSION


def test_migrations_run_in_order_from_the_stored_version(tmp_path):
    conn = sqlite3.connect(tmp_path / "m.db", isolation_level=None)
    assert migrate(conn, MIGRATIONS) == 1
    conn.execute("INSERT INTO comparisons (id, created, prompt, models) VALUES ('c', 0, '\"p\"', '[]')")
    # a later release adds a column: only the new step runs, and existing rows survive
    later = (*MIGRATIONS, ("ALTER TABLE comparisons ADD COLUMN note TEXT",))
    assert migrate(conn, later) == 2
    assert schema_version(conn) == 2
    assert conn.execute("SELECT id, note FROM comparisons").fetchall() == [("c", None)]
    # a failing step rolls back entirely: the version is unchanged
    broken = (*later, ("ALTER TABLE comparisons ADD COLUMN extra TEXT", "THIS IS NOT SQL"))
    with pytest.raises(sqlite3.OperationalError):
        migrate(conn, broken)
    assert schema_version(conn) == 2
    assert "extra" not in {r[1] for r in conn.execute("PRAGMA table_info(comparisons)")}
    conn.close()


def test_a_newer_database_is_refused(tmp_path):
    path = tmp_path / "votes.db"
    VoteStore(path).close()
    conn = sqlite3.connect(path)
    conn.execute("UPDATE schema_version SET version = 99")
    conn.commit()
    conn.close()
    with pytest.raises(InstructrlError, match="schema version 99"):
        VoteStore(path)


def test_vote_reveals_models_and_stores_rows(store):
    cid = store.record_comparison(CONVERSATION, {"small": "Red.", "big": "Blue is a colour."})
    assert len(cid) == 32
    vote = store.record_vote(cid, "a", voter="alice")
    assert vote["model_a"] == "small" and vote["model_b"] == "big"
    assert vote["choice"] == "a" and vote["voter"] == "alice" and vote["comparison_id"] == cid
    assert store.comparison(cid)["answers"] == {"small": "Red.", "big": "Blue is a colour."}
    assert store.comparison(cid)["prompt"] == CONVERSATION
    assert store.vote_count() == 1


def test_unknown_comparison_raises_key_error(store):
    with pytest.raises(KeyError, match="no comparison"):
        store.record_vote("0" * 32, "a")
    assert store.vote_count() == 0


@pytest.mark.parametrize("choice", ["A", "left", "", "tie "])
def test_bad_choice_raises_value_error(store, choice):
    cid = store.record_comparison("Hi", {"m1": "x", "m2": "y"})
    with pytest.raises(ValueError, match="not one of"):
        store.record_vote(cid, choice)
    assert store.vote_count() == 0


def test_bad_comparisons_are_refused(store):
    with pytest.raises(InstructrlError, match="at least 2"):
        store.record_comparison("Hi", {"m1": "x"})
    with pytest.raises(InstructrlError, match="prompt"):
        store.record_comparison("   ", {"m1": "x", "m2": "y"})
    with pytest.raises(InstructrlError, match="user turn"):
        store.record_comparison([{"role": "assistant", "content": "x"}], {"m1": "x", "m2": "y"})


def test_battles_score_each_choice(store):
    expected = {"a": 1.0, "b": 0.0, "tie": 0.5, "both_bad": 0.5}
    for choice in CHOICES:
        cid = store.record_comparison("Hi", {"m1": "x", "m2": "y", "m3": "z"})
        store.record_vote(cid, choice)
    assert store.battles() == [("m1", "m2", expected[c]) for c in CHOICES]


def _vote_many(store: VoteStore, comparison_ids: list[str], voter: int, votes: int) -> None:
    for i in range(votes):
        store.record_vote(comparison_ids[i % len(comparison_ids)], CHOICES[(voter + i) % 4], voter=f"voter{voter}")


def _concurrent_voters(store: VoteStore, voters: int, votes: int) -> None:
    cids = [store.record_comparison(f"Question {i}?", {"m1": f"answer {i}", "m2": f"reply {i}"}) for i in range(10)]
    errors: list[BaseException] = []

    def run(voter: int) -> None:
        try:
            _vote_many(store, cids, voter, votes)
        except BaseException as err:  # surfaced below: a thread's exception would otherwise vanish
            errors.append(err)

    threads = [threading.Thread(target=run, args=(v,)) for v in range(voters)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert store.vote_count() == voters * votes
    # every voter's every vote is there, and each is counted once
    rows = store._conn().execute("SELECT voter, COUNT(*) FROM votes GROUP BY voter").fetchall()
    assert dict(rows) == {f"voter{v}": votes for v in range(voters)}
    assert len(store.battles()) == len(cids)  # the store keeps every vote; the first on a comparison counts
    assert store.repeat_votes() == voters * votes - len(cids)


def test_concurrent_voters_lose_nothing(store):
    _concurrent_voters(store, voters=8, votes=100)


@pytest.mark.slow
def test_eight_voters_times_a_thousand_votes(store):
    _concurrent_voters(store, voters=8, votes=1000)


def _process_voter(path: str, cids: list[str], voter: int, votes: int) -> None:
    with VoteStore(path) as s:
        _vote_many(s, cids, voter, votes)


def test_concurrent_processes_lose_nothing(tmp_path):
    path = str(tmp_path / "votes.db")
    with VoteStore(path) as s:
        cids = [s.record_comparison("Q?", {"m1": "a", "m2": "b"})]
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_process_voter, args=(path, cids, v, 50)) for v in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=120)
    assert [p.exitcode for p in procs] == [0, 0, 0, 0]
    with VoteStore(path) as s:
        assert s.vote_count() == 200


def _fill(store: VoteStore) -> dict[str, str]:
    ids = {
        "a": store.record_comparison("Say hi.", {"m1": "Hi!", "m2": "Hello there."}),
        "b": store.record_comparison(CONVERSATION, {"m2": "Green.", "m1": "I like turtles."}),
        "tie": store.record_comparison("Count to 2.", {"m1": "1 2", "m2": "one two"}),
        "both_bad": store.record_comparison("Capital of France?", {"m1": "Rome", "m2": "Berlin"}),
        "same": store.record_comparison("Say ok.", {"m1": "ok", "m2": "ok"}),
    }
    store.record_vote(ids["a"], "a", voter="alice")
    store.record_vote(ids["b"], "b")
    store.record_vote(ids["tie"], "tie")
    store.record_vote(ids["both_bad"], "both_bad")
    store.record_vote(ids["same"], "a")
    return ids


def test_export_comparisons_ranks_the_preferred_answer_first(store):
    _fill(store)
    records, counts = store.export_comparisons()
    assert counts == {"votes": 5, "exported": 2, "skipped_tie": 1, "skipped_both_bad": 1, "skipped_identical": 1,
                      "skipped_repeat": 0}
    first, second = records
    assert first.prompt == "Say hi." and first.completions == ("Hi!", "Hello there.") and first.ranking == (0, 1)
    assert first.labeler == "alice" and first.source == "arena"
    # "b" won: the second shown answer gets rank 0
    assert second.prompt == CONVERSATION and second.completions == ("Green.", "I like turtles.")
    assert second.ranking == (1, 0) and second.labeler == "human"
    assert second.pairs() == [(1, 0)]


def test_a_database_with_repeat_votes_counts_the_first_vote_of_each_comparison(store, tmp_path, capsys):
    """Before the server refused a second vote, "b" then "a" on one comparison both reached the export
    as contradictory labels. Such a database exports (and rates) only the first vote of each."""
    contested = store.record_comparison("Tea or coffee?", {"m1": "Tea.", "m2": "Coffee."})
    other = store.record_comparison("Cats or dogs?", {"m1": "Cats.", "m2": "Dogs."})
    for cid, choice in [(contested, "b"), (other, "a"), (contested, "a"), (contested, "tie")]:
        store.record_vote(cid, choice)  # the store's own API, as the old server used it
    records, counts = store.export_comparisons()
    assert counts["votes"] == 4 and counts["skipped_repeat"] == 2 and counts["exported"] == 2
    assert [(r.prompt, r.ranking) for r in records] == [("Tea or coffee?", (1, 0)), ("Cats or dogs?", (0, 1))]
    assert store.battles() == [("m1", "m2", 0.0), ("m1", "m2", 1.0)]
    assert cli_main(["votes", "export", "--db", str(store.path), "--out", str(tmp_path / "v.jsonl")]) == 0
    assert "2 repeat votes on an already voted comparison (the first vote counts)" in capsys.readouterr().out


def test_cli_export_round_trips_through_load_records(store, tmp_path, capsys):
    _fill(store)
    out = tmp_path / "out" / "arena.jsonl"
    assert cli_main(["votes", "export", "--db", str(store.path), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "exported 2 comparisons from 5 votes" in printed
    assert "skipped 1 ties, 1 both-bad votes, 1 votes on identical answers" in printed
    loaded = load_records(out, Comparison)
    assert loaded.rejected == []
    assert loaded.records == store.export_comparisons()[0]


def test_cli_export_names_a_missing_database(tmp_path, capsys):
    code = cli_main(["votes", "export", "--db", str(tmp_path / "nope.db"), "--out", str(tmp_path / "x.jsonl")])
    assert code == 2
    assert "nope.db does not exist" in capsys.readouterr().err
    assert not (tmp_path / "nope.db").exists()


def test_cli_export_wants_a_jsonl_file(store, tmp_path, capsys):
    assert cli_main(["votes", "export", "--db", str(store.path), "--out", str(tmp_path / "x.json")]) == 2
    assert "does not end in .jsonl" in capsys.readouterr().err


def test_leaderboard_is_live_from_the_database(store):
    assert leaderboard(store) == []
    for _ in range(6):
        store.record_vote(store.record_comparison("Hi", {"good": "Hello!", "bad": "..."}), "a")
    store.record_vote(store.record_comparison("Hi", {"bad": "...", "good": "Hello!"}), "tie")
    rows = leaderboard(store, bootstrap=50, seed=0)
    assert [r["model"] for r in rows] == ["good", "bad"]
    assert rows[0]["games"] == 7 and rows[0]["wins"] == 6 and rows[0]["ties"] == 1
    assert rows[1]["wins"] == 0
