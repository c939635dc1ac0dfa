"""kill -9 tests for every long job, on tiny models: SFT, the reward model, PPO-ptx, the eval suite,
and the vote store behind ``instructrl serve``.

Each training stage runs as a real ``instructrl`` process in its own working folder (so its
``runs/`` and checkpoint registry are its own), is sent SIGKILL once it has saved resumable state
past the start, and is started again with the same command. The rerun must say it resumed from the
saved step, lose at most one save interval, finish, and end with weights bit-equal to a run that was
never interrupted, with the same optimiser, scheduler and RNG state at the same step. Everything runs
float32 on CPU in one thread, so the runs are deterministic and the comparisons are exact."""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
import torch

CLI = [sys.executable, "-m", "instructrl.cli"]
START_TIMEOUT_S = 180  # a process must save state (or answer) within this
RUN_TIMEOUT_S = 300  # and finish within this
# what differs between two identical runs by construction: clocks and memory use
VOLATILE = ("elapsed_s", "peak_memory_mb", "wall_time_s", "finished", "time/")


# ---- shared helpers -----------------------------------------------------------------------------


def _env(workdir: Path) -> dict[str, str]:
    return {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false",
            "INSTRUCTRL_CHECKPOINTS": str(workdir / "checkpoints"), "PYTHONUNBUFFERED": "1"}


def _start(args: list[str], workdir: Path, log: str) -> subprocess.Popen:
    workdir.mkdir(parents=True, exist_ok=True)
    with open(workdir / log, "w") as out:
        return subprocess.Popen([*CLI, *args], cwd=workdir, env=_env(workdir), stdout=out, stderr=subprocess.STDOUT)


def _finish(process: subprocess.Popen, workdir: Path, log: str) -> str:
    try:
        process.wait(timeout=RUN_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    text = (workdir / log).read_text()
    assert process.returncode == 0, f"{log} exited {process.returncode}:\n{text[-4000:]}"
    return text


def _wait_for(condition, process: subprocess.Popen, what: str, timeout: float = START_TIMEOUT_S):
    """Poll ``condition()`` (every 20 ms, at most ``timeout`` s) until it is truthy; the process must still run."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        if process.poll() is not None:
            pytest.fail(f"the process ended (exit {process.returncode}) before {what}: make the run longer")
        time.sleep(0.02)
    process.kill()
    pytest.fail(f"no {what} within {timeout} s")


def _kill(process: subprocess.Popen) -> None:
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL


def _run_dir(workdir: Path) -> Path:
    found = list((workdir / "runs").glob("*/"))
    assert len(found) == 1, found
    return found[0]


def _saved_step(workdir: Path) -> int:
    """The step of the resumable state in the (only) run folder, 0 when none yet (written atomically)."""
    for path in (workdir / "runs").glob("*/state/step.json"):
        try:
            return json.loads(path.read_text())["step"]
        except (OSError, ValueError):  # replaced while read
            return 0
    return 0


def _trained_steps(run_dir: Path) -> list[int]:
    """Steps logged in metrics.jsonl, in order (a rerun appends the steps it repeats)."""
    rows = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines() if line.strip()]
    return [r["step"] for r in rows if any(k.startswith("train/") or k.startswith("reward/") for k in r)]


def _weights(workdir: Path) -> dict[str, torch.Tensor]:
    from safetensors.torch import load_file

    files = sorted((workdir / "checkpoints").glob("*/*.safetensors"))
    assert files, f"no checkpoint written under {workdir / 'checkpoints'}"
    tensors: dict[str, torch.Tensor] = {}
    for path in files:
        tensors.update({f"{path.name}:{k}": v for k, v in load_file(path).items()})
    return tensors


def _assert_same(a: Any, b: Any, where: str = "state", skip: tuple[str, ...] = ()) -> None:
    """Exact equality of nested saved state: tensors with torch.equal, clocks, memory and ``skip`` skipped."""
    if where in skip:
        return
    if isinstance(a, torch.Tensor):
        assert isinstance(b, torch.Tensor) and a.dtype == b.dtype and torch.equal(a, b), where
    elif isinstance(a, dict):
        keys = {k for k in a if not any(str(k).startswith(v) for v in VOLATILE)}
        assert keys == {k for k in b if not any(str(k).startswith(v) for v in VOLATILE)}, where
        for key in keys:
            _assert_same(a[key], b[key], f"{where}.{key}", skip)
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            _assert_same(x, y, f"{where}[{i}]", skip)
    else:
        assert a == b, f"{where}: {a!r} != {b!r}"


def kill_and_resume(tmp_path: Path, args: list[str], save_every: int, kill_at: int, setup=None,
                    skip: tuple[str, ...] = ()) -> None:
    """The whole check for one training stage (see the module docstring).

    ``kill_at``: SIGKILL once state of this step or later is saved (before the run's end); ``skip``:
    saved-state entries not compared (each caller says why)."""
    whole, cut = tmp_path / "whole", tmp_path / "cut"
    for folder in (whole, cut):
        folder.mkdir()
        if setup is not None:
            setup(folder)
    reference = _start(args, whole, "whole.log")  # the uninterrupted run, alongside the one to kill
    killed = _start(args, cut, "first.log")

    def between_saves() -> bool:  # state saved at kill_at or later, and a step trained since: work to lose
        logged = cut / "runs"
        steps = [s for f in logged.glob("*/") if (f / "metrics.jsonl").exists() for s in _trained_steps(f)]
        return _saved_step(cut) >= kill_at and bool(steps) and max(steps) > _saved_step(cut)

    _wait_for(between_saves, killed, f"a step trained after the state of step {kill_at}")
    _kill(killed)
    saved = _saved_step(cut)  # the state a rerun finds (a save may have finished just before the kill)
    run_dir = _run_dir(cut)
    before = _trained_steps(run_dir)
    reached = max(before)
    assert not list((cut / "checkpoints").glob("*/")), "the run had finished before the kill: make it longer"
    assert saved > 0 and reached - saved <= save_every, (saved, reached)  # at most one save interval lost

    out = _finish(_start(args, cut, "second.log"), cut, "second.log")
    assert f"resumed at step {saved}" in out, out[-3000:]
    again = _trained_steps(run_dir)[len(before):]
    assert again and again[0] == saved + 1, again[:3]  # carried on from the saved step, not from 0
    _finish(reference, whole, "whole.log")
    print(f"killed at step {reached} with state at {saved}; resumed at {saved + 1}, finished at {again[-1]}")

    a, b = _weights(whole), _weights(cut)
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a), [k for k in a if not torch.equal(a[k], b[k])][:5]
    # the last saved state of both runs (the same step): optimiser, scheduler, RNG, EMA ...
    state_a = torch.load(_run_dir(whole) / "state" / "state.pt", weights_only=False)
    state_b = torch.load(run_dir / "state" / "state.pt", weights_only=False)
    assert state_a["step"] == state_b["step"] > saved
    assert state_a["optimizer"]["state"] and state_a["scheduler"]["last_epoch"] > 0
    _assert_same(state_a, state_b, skip=skip)


# ---- the training stages ------------------------------------------------------------------------


@pytest.mark.slow
def test_sft_survives_kill_9(tmp_path):
    # dropout on: the resumed run must also restore the RNG the dropout masks come from
    kill_and_resume(tmp_path, ["train", "sft", "--preset", "tiny", "--set", "run.max_steps=40",
                               "--set", "run.save_every=3", "--set", "run.eval_every=10",
                               "--set", "model.dropout=0.1", "--set", "run.threads=1"], save_every=3, kill_at=6)


def _write_comparisons(folder: Path) -> None:
    """64 prompts with K = 3 ranked answers; the best repeats the prompt's word."""
    words = ["apple", "river", "stone", "cloud", "green", "seven", "light", "bread"]
    rows = [{"id": f"c{i}", "prompt": f"Say the word {w} ({i}).", "completions": [f"{w} {w}", f"{w}", "no"],
             "ranking": [0, 1, 2]} for i, w in enumerate(words * 8)]
    (folder / "comparisons.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))


@pytest.mark.slow
def test_reward_model_survives_kill_9(tmp_path):
    kill_and_resume(tmp_path, ["train", "rm", "--preset", "tiny", "--data", "comparisons.jsonl",
                               "--set", "run.max_steps=40", "--set", "run.save_every=3", "--set", "run.eval_every=10",
                               "--set", "run.threads=1"], save_every=3, kill_at=6, setup=_write_comparisons)


@pytest.mark.slow
def test_ppo_ptx_survives_kill_9(tmp_path):
    # PPO-ptx with sampling at temperature 1: the answers, the ptx batches and the EMA must all continue
    kill_and_resume(tmp_path, ["train", "ppo", "--preset", "tiny", "--ptx-coef", "1", "--set", "run.max_steps=12",
                               "--set", "run.save_every=2", "--set", "ppo.gold_every=4", "--set", "run.threads=1",
                               # the proxy curve only: loading the gold labeler's encoder would double the time
                               "--set", "ppo.gold_labeler=null"],
                    save_every=2, kill_at=4)


# ---- the eval suite -----------------------------------------------------------------------------


def _cached_answers(out: Path) -> int:
    path = out / "generations.sqlite"
    if not path.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=1) as db:
            return int(db.execute("SELECT COUNT(*) FROM generations").fetchone()[0])
    except sqlite3.Error:  # created but not yet given its tables
        return 0


def _stable(results: dict) -> dict:
    """results.json less what differs between two identical runs: clocks and the cache's hit counts."""
    results = {k: v for k, v in results.items() if k not in ("cache", "wall_time_s", "finished")}
    results["sections"] = {name: {k: v for k, v in section.items() if k != "wall_time_s"}
                           for name, section in results["sections"].items()}
    return results


def _write_prompts(folder: Path) -> None:
    rows = [{"id": f"p{i}", "category": ("generation", "open_qa", "brainstorming")[i % 3],
             "prompt": f"Name {i % 3 + 2} kinds of fruit, please ({i}).", "completion": "Apples and pears."}
            for i in range(40)]
    (folder / "prompts.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))


@pytest.mark.slow
def test_eval_suite_survives_kill_9(tmp_path):
    args = ["eval", "--suite", "winrate", "--models", "base:tiny-random,prompted:tiny-random,tiny-random",
            "--baseline", "tiny-random", "--base-model", "tiny-random", "--judge", "rm:tiny-random",
            "--prompts", "prompts.jsonl", "--out", "out", "--max-new-tokens", "8", "--batch-size", "2",
            "--n-boot", "100", "--no-progress"]
    whole, cut = tmp_path / "whole", tmp_path / "cut"
    for folder in (whole, cut):
        folder.mkdir()
        _write_prompts(folder)
    reference = _start(args, whole, "whole.log")
    killed = _start(args, cut, "first.log")
    _wait_for(lambda: _cached_answers(cut / "out") >= 6, killed, "six cached answers")
    _kill(killed)
    kept = _cached_answers(cut / "out")
    assert not (cut / "out" / "results.json").exists(), "the eval had finished before the kill: make it longer"

    _finish(_start(args, cut, "second.log"), cut, "second.log")
    _finish(reference, whole, "whole.log")
    first, again = (json.loads((f / "out" / "results.json").read_text()) for f in (whole, cut))
    # the rerun took every answer the killed run had committed from the cache and generated only the rest
    assert again["cache"]["hits"] >= kept > 0
    assert again["cache"]["generated"] + again["cache"]["hits"] == first["cache"]["generated"] + first["cache"]["hits"]
    assert again["cache"]["generated"] < first["cache"]["generated"]
    assert _cached_answers(cut / "out") == _cached_answers(whole / "out")
    print(f"killed with {kept} answers cached; the rerun reused {again['cache']['hits']} and generated "
          f"{again['cache']['generated']} (the uninterrupted run generated {first['cache']['generated']})")
    assert _stable(again) == _stable(first)


# ---- the vote store -----------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _post(url: str, body: dict, timeout: float = 30) -> tuple[int, dict]:
    request = urllib.request.Request(url, json.dumps(body).encode(), {"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as err:
        return err.code, {}


def _serve(workdir: Path, port: int, log: str) -> subprocess.Popen:
    server = _start(["serve", "--model", "tiny-random", "--host", "127.0.0.1", "--port", str(port),
                     "--votes-db", "votes.sqlite", "--threads", "1"], workdir, log)

    def ready() -> bool:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/models", timeout=2) as response:
                return response.status == 200
        except OSError:
            return False

    _wait_for(ready, server, "the server answering /v1/models")
    return server


def _voter(base: str, client: int, acknowledged: list, stop: threading.Event, rounds: int = 50) -> None:
    """Compare, then vote once on that comparison; record each vote answered with a 2xx. Ends at
    ``rounds`` votes, when told to, or at the first failed request (the server is gone)."""
    for n in range(rounds):
        if stop.is_set():
            return
        voter = f"client{client}-{n}"
        try:
            status, comparison = _post(f"{base}/v1/compare", {"models": ["tiny-random", "tiny-b"],
                                                              "prompt": f"Say hello to {voter}.", "max_tokens": 2})
            if status // 100 != 2:
                return
            status, vote = _post(f"{base}/v1/votes", {"comparison_id": comparison["id"], "choice": "ab"[n % 2],
                                                      "voter": voter})
        except OSError:  # connection refused or reset: the server was killed
            return
        if status // 100 == 2:
            acknowledged.append((comparison["id"], voter))


def test_vote_store_keeps_every_acknowledged_vote_after_kill_9(tmp_path):
    from instructrl.checkpoints import Card, Registry
    from instructrl.models.policy import Policy

    workdir = tmp_path / "serve"
    # a second model for the arena: a copy of the tiny model as a checkpoint in this server's registry
    Registry(workdir / "checkpoints").write(Card(name="tiny-b", stage="sft"), Policy.load("tiny-random").save)
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    server = _serve(workdir, port, "first.log")
    acknowledged: list[tuple[str, str]] = []
    stop = threading.Event()
    clients = [threading.Thread(target=_voter, args=(base, i, acknowledged, stop), daemon=True) for i in range(8)]
    for client in clients:
        client.start()
    _wait_for(lambda: len(acknowledged) >= 24, server, "24 acknowledged votes", timeout=120)
    _kill(server)  # mid-way: eight clients are still comparing and voting
    stop.set()
    for client in clients:
        client.join(timeout=60)
    assert not any(c.is_alive() for c in clients)
    assert len(acknowledged) < 8 * 50, "every client finished before the kill"

    server = _serve(workdir, port, "second.log")  # the same database, after the crash
    try:
        status, _ = _post(f"{base}/v1/votes", {"comparison_id": acknowledged[0][0], "choice": "tie",
                                              "voter": "after-restart"})
        assert status // 100 in (2, 4)  # the restarted server reads and writes the database
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=60)
    with sqlite3.connect(workdir / "votes.sqlite") as db:
        rows = db.execute("SELECT comparison_id, voter FROM votes WHERE voter != 'after-restart'").fetchall()
    stored = [row for row in rows if row in set(acknowledged)]
    print(f"acknowledged {len(acknowledged)}, stored {len(stored)} (votes in the database: {len(rows)})")
    assert len(set(acknowledged)) == len(acknowledged)
    assert sorted(stored) == sorted(acknowledged)  # none lost, none twice
    assert len(set(rows)) == len(rows)  # and no vote at all stored twice


# ---- data compare ------------------------------------------------------------------------------


@pytest.mark.slow
def test_data_compare_survives_kill_9(tmp_path):
    """A run SIGKILLed after its first chunk of 32 prompts resumes from that chunk and writes, byte for
    byte, the file of a run never interrupted."""
    def args(out: str) -> list[str]:
        return ["data", "compare", "--model", "tiny-random", "--split", "train", "--k", "2", "--noise", "0.25",
                "--max-new-tokens", "8", "--limit", "70", "--out", out]

    whole = tmp_path / "whole"
    _finish(_start(args("comparisons.jsonl"), whole, "whole.log"), whole, "whole.log")
    cut = tmp_path / "cut"
    progress = cut / "comparisons.jsonl.progress.json"
    first = _start(args("comparisons.jsonl"), cut, "first.log")
    _wait_for(lambda: progress.exists() and json.loads(progress.read_text())["done"] >= 32, first, "a saved chunk")
    _kill(first)
    done = json.loads(progress.read_text())["done"]
    assert done < 70 and not (cut / "comparisons.jsonl").exists()
    text = _finish(_start(args("comparisons.jsonl"), cut, "again.log"), cut, "again.log")
    assert f"resuming: {done} done" in text
    assert (cut / "comparisons.jsonl").read_bytes() == (whole / "comparisons.jsonl").read_bytes()
    assert not list(cut.glob("comparisons.jsonl.*"))
