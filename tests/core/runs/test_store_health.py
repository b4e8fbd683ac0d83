"""core.runs.store_health and the CLI: a missing or corrupt runs.sqlite is named, left as it is."""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3

import pytest

from core.cli.main import main
from core.runs.store import RunStore
from core.runs.store_health import check_store
from tests.core.runs.store_writer import ROWS_PER_FLUSH
from tests.core.runs.test_store_concurrency import rows_of, start_writer, wait_for_rows

CONFIG = {"dataset": "digits", "model": "cnn"}


def make_store(root, runs: int = 3) -> list[str]:
    store = RunStore(root / "runs.sqlite")
    ids = [store.create_run(CONFIG) for _ in range(runs)]
    for run_id in ids:
        (root / run_id).mkdir()
        (root / run_id / "config.json").write_text("{}")
        store.add_batch_metrics(run_id, [(s, 0, 0.0, {"loss": 1.0}) for s in range(500)])
    with sqlite3.connect(root / "runs.sqlite") as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # everything in the main file
    return ids


def test_a_sound_store_and_a_first_start_pass(tmp_path):
    assert check_store(tmp_path) is None  # empty folder: the store is created as before
    (tmp_path / "runs.sqlite").touch()
    assert check_store(tmp_path) is None  # an empty file is a new database too
    make_store(tmp_path)
    assert check_store(tmp_path, thorough=True) is None


def test_a_missing_store_beside_run_folders_is_reported(tmp_path):
    ids = make_store(tmp_path)
    (tmp_path / "runs.sqlite").unlink()
    problem = check_store(tmp_path)
    assert problem is not None and problem.path == tmp_path / "runs.sqlite"
    assert f"{tmp_path / 'runs.sqlite'} is missing" in problem.message
    assert "3 run folder(s)" in problem.message and min(ids) in problem.message
    assert "docs/deploy.md" in problem.message
    assert not (tmp_path / "runs.sqlite").exists()  # the check creates nothing


@pytest.mark.parametrize(
    ("damage", "words"),
    [
        (lambda b: b"\x00garbage" * 200, "not a SQLite database"),
        (lambda b: b[: len(b) // 3], "damaged"),  # truncated
        (lambda b: b[:8192] + b"\xff" * 4096 + b[12288:], "damaged"),  # a page overwritten
    ],
)
def test_a_corrupt_store_is_reported_and_left_unchanged(tmp_path, damage, words):
    make_store(tmp_path)
    path = tmp_path / "runs.sqlite"
    path.write_bytes(damage(path.read_bytes()))
    for name in ("runs.sqlite-wal", "runs.sqlite-shm"):
        (tmp_path / name).unlink(missing_ok=True)
    before = path.read_bytes()
    problem = check_store(tmp_path, thorough=True)
    assert problem is not None, "the damage went unnoticed"
    assert words in problem.message and str(path) in problem.message
    assert "left unchanged" in problem.message and "backup" in problem.message
    assert path.read_bytes() == before


def test_the_cli_refuses_a_corrupt_store_with_one_line(tmp_path, monkeypatch, capsys):
    make_store(tmp_path)
    path = tmp_path / "runs.sqlite"
    path.write_bytes(b"this is not a database" * 100)
    before = path.read_bytes()
    monkeypatch.setenv("TFLAB_RUNS_DIR", str(tmp_path))
    for argv in (["runs", "--json"], ["train", "--epochs", "1"], ["stop", "x"]):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert err.startswith("error: The run store ") and "not a SQLite database" in err
        assert "Traceback" not in err
    assert path.read_bytes() == before  # nothing was written, no run was started
    assert main(["datasets", "--json"]) == 0  # commands without the store still work


def test_the_cli_creates_a_missing_store_on_a_first_start(tmp_path, monkeypatch, capsys):
    root = tmp_path / "fresh"
    monkeypatch.setenv("TFLAB_RUNS_DIR", str(root))
    assert main(["runs", "--json"]) == 0
    assert capsys.readouterr().out.strip() == "[]"
    assert (root / "runs.sqlite").is_file()
    shutil.rmtree(root)


def test_checking_beside_live_writers_never_damages_the_store(tmp_path):
    """Regression: a check that closed its own handle on the file (reading the header with
    open()) dropped this process's SQLite locks, and the next writer's exit then reset the WAL
    under this process's connection: "database disk image is malformed" after 1 in 3 tries."""
    path = str(tmp_path / "runs.sqlite")
    store = RunStore(path)
    run_id = store.create_run(CONFIG)
    for _ in range(4):
        writer = start_writer(path, run_id, 60)
        wait_for_rows(store, run_id, len(rows_of(store, run_id)) + 40 * ROWS_PER_FLUSH, writer)
        os.kill(writer.pid, signal.SIGKILL)  # mid-write
        writer.communicate(timeout=30)
        with sqlite3.connect(path) as db:
            assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert check_store(tmp_path, thorough=True) is None
        writer = start_writer(path, run_id, 1)
        while writer.poll() is None:
            store.mark_lost_runs()
        writer.communicate(timeout=30)
        with sqlite3.connect(path) as db:
            assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
