"""core.runs.store: WAL, runs, owners, metrics, events, stop flag, concurrency (lost workers are in
test_store_lost_workers.py)."""

from __future__ import annotations

import math
import shutil
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from core.access import RunPermissionError
from core.runs.store import RunStore, pid_alive
from tests.core.test_access import login_settings

CONFIG = {"dataset": "digits", "model": "cnn", "epochs": 3, "name": ""}
LEGACY = Path(__file__).resolve().parents[2] / "data" / "legacy_runs"


@pytest.fixture(autouse=True)
def no_login(tmp_path, monkeypatch) -> Path:
    """Login off, from an empty secrets file (never the real one); tests may fill it."""
    path = tmp_path / "secrets.toml"
    path.write_text("")
    monkeypatch.setenv("TFLAB_SECRETS", str(path))
    return path


@pytest.fixture
def store(tmp_path) -> RunStore:
    return RunStore(tmp_path / "runs.sqlite")


def dead_pid() -> int:
    """The pid of a process that has already ended and been reaped."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    assert not pid_alive(proc.pid)
    return proc.pid


def set_heartbeat(store: RunStore, run_id: str, value: float) -> None:
    with sqlite3.connect(store.path) as db:
        db.execute("UPDATE runs SET heartbeat = ? WHERE id = ?", (value, run_id))


def test_journal_mode_is_wal(store):
    with sqlite3.connect(store.path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_store_creates_its_folder(tmp_path):
    store = RunStore(tmp_path / "deep" / "er" / "runs.sqlite")
    assert store.path.is_file()


def test_create_and_get_run(store):
    run_id = store.create_run(CONFIG | {"name": "from config"})
    run = store.get_run(run_id)
    assert run.id == run_id
    assert run.status == "queued" and run.is_active
    assert (run.dataset, run.model, run.epochs) == ("digits", "cnn", 3)
    assert run.name == "from config"
    assert run.config == CONFIG | {"name": "from config"}
    assert run.pid is None and run.started is None and run.finished is None
    assert run.stop_requested is False
    assert run.final_metrics is None
    assert abs(run.created - time.time()) < 60
    assert store.get_run("no-such-run") is None


def test_every_run_has_an_owner(store):
    mine = store.create_run(CONFIG, owner="alice")
    nobody = store.create_run(CONFIG)
    assert store.get_run(mine).owner == "alice"
    assert store.get_run(nobody).owner == ""
    assert store.get_run(mine).summary()["owner"] == "alice"


def test_the_legacy_store_is_upgraded_with_owner_nobody(tmp_path):
    """tests/data/legacy_runs was written before the owner column existed."""
    shutil.copytree(LEGACY, tmp_path / "legacy")
    with sqlite3.connect(tmp_path / "legacy" / "runs.sqlite") as db:
        assert "owner" not in {row[1] for row in db.execute("PRAGMA table_info(runs)")}
    db.close()
    store = RunStore(tmp_path / "legacy" / "runs.sqlite")
    runs = store.list_runs()
    assert len(runs) == 3
    assert [r.owner for r in runs] == ["", "", ""]
    assert all(r.summary()["owner"] == "" for r in runs)
    store.update_labels(runs[0].id, name="renamed")  # login off: anyone may change a legacy run
    assert store.get_run(runs[0].id).name == "renamed"
    assert store.get_run(store.create_run(CONFIG, owner="bob")).owner == "bob"


def test_only_the_owner_or_an_admin_changes_labels(store, no_login):
    login_settings(no_login, users={"alice": "password-1", "bob": "password-2"}, admins=("root",))
    run_id = store.create_run(CONFIG, owner="alice")
    legacy = store.create_run(CONFIG)
    with pytest.raises(RunPermissionError, match="bob may not rename, tag or note run"):
        store.update_labels(run_id, name="mine now", tags=["x"], note="hi", user="bob")
    run = store.get_run(run_id)
    assert (run.name, run.tags, run.note) == ("", [], "")  # nothing of it was written
    store.update_labels(run_id, name="by alice", user="alice")
    store.update_labels(run_id, note="by root", user="root")
    assert (store.get_run(run_id).name, store.get_run(run_id).note) == ("by alice", "by root")
    with pytest.raises(RunPermissionError, match="no owner"):
        store.update_labels(legacy, name="x", user="alice")  # login on: legacy is admins' only
    with pytest.raises(ValueError, match="no run nope"):
        store.update_labels("nope", name="x", user="root")


def test_explicit_name_wins(store):
    run_id = store.create_run(CONFIG | {"name": "config name"}, name="given")
    assert store.get_run(run_id).name == "given"


def test_run_ids_are_unique(store):
    ids = {store.create_run(CONFIG) for _ in range(20)}
    assert len(ids) == 20


def test_list_runs_newest_first_with_paging_and_status(store):
    ids = []
    for _ in range(5):
        ids.append(store.create_run(CONFIG))
        time.sleep(0.002)
    newest_first = ids[::-1]
    assert [r.id for r in store.list_runs()] == newest_first
    assert [r.id for r in store.list_runs(limit=2)] == newest_first[:2]
    assert [r.id for r in store.list_runs(limit=2, offset=2)] == newest_first[2:4]
    assert [r.id for r in store.list_runs(limit=2, offset=4)] == newest_first[4:]
    assert store.list_runs(offset=5) == []
    store.set_status(ids[1], "failed", error="boom")
    assert [r.id for r in store.list_runs(status="failed")] == [ids[1]]
    assert len(store.list_runs(status="queued")) == 4


def test_status_lifecycle(store):
    run_id = store.create_run(CONFIG)
    store.mark_started(run_id, 4321)
    run = store.get_run(run_id)
    assert (run.status, run.pid) == ("running", 4321)
    assert run.started is not None and run.heartbeat is not None and run.finished is None
    store.set_status(run_id, "failed", error="it broke")
    run = store.get_run(run_id)
    assert (run.status, run.error) == ("failed", "it broke")
    assert not run.is_active and run.finished >= run.started
    # a later status without an error keeps the first error
    store.set_status(run_id, "interrupted")
    assert store.get_run(run_id).error == "it broke"


def test_progress_and_final_metrics(store):
    run_id = store.create_run(CONFIG)
    store.set_progress(run_id, 2, 7, 10)
    store.set_final_metrics(run_id, {"loss": 0.5, "accuracy": 0.75})
    run = store.get_run(run_id)
    assert (run.epoch, run.step, run.steps_per_epoch) == (2, 7, 10)
    assert run.final_metrics == {"loss": 0.5, "accuracy": 0.75}
    summary = run.summary()
    assert {"id", "status", "dataset", "model", "created", "metrics"} <= set(summary)
    assert summary["metrics"] == {"loss": 0.5, "accuracy": 0.75}


def test_batch_metrics_round_trip(store):
    run_id = store.create_run(CONFIG)
    other = store.create_run(CONFIG)
    rows = [
        (s, (s - 1) // 5, 1000.0 + s, {"loss": 1.0 / s, "accuracy": s / 10}) for s in range(1, 11)
    ]
    store.add_batch_metrics(run_id, rows)
    store.add_batch_metrics(run_id, [])  # nothing to write is fine
    store.add_batch_metrics(other, [(1, 0, 1.0, {"loss": 9.0})])
    got = store.batch_metrics(run_id)
    assert [r["global_step"] for r in got] == list(range(1, 11))
    assert got[0] == {
        "global_step": 1,
        "epoch": 0,
        "wall_time": 1001.0,
        "loss": 1.0,
        "accuracy": 0.1,
    }
    assert got[9]["epoch"] == 1 and got[9]["loss"] == pytest.approx(0.1)
    assert [r["global_step"] for r in store.batch_metrics(run_id, after_step=7)] == [8, 9, 10]
    assert store.latest_batch(run_id)["global_step"] == 10
    assert store.latest_batch(store.create_run(CONFIG)) is None


def test_batch_metrics_thinning(store):
    run_id = store.create_run(CONFIG)
    store.add_batch_metrics(run_id, [(s, 0, float(s), {"loss": float(s)}) for s in range(1, 1001)])
    assert len(store.batch_metrics(run_id)) == 1000  # below the default max_points
    thinned = store.batch_metrics(run_id, max_points=100)
    steps = [r["global_step"] for r in thinned]
    assert 50 <= len(steps) <= 100
    assert steps == sorted(steps)
    gaps = {b - a for a, b in zip(steps, steps[1:], strict=False)}
    assert len(gaps) == 1  # evenly spaced
    assert steps[-1] > 900  # spans the whole run
    assert all(r["loss"] == r["global_step"] for r in thinned)
    for max_points in (1, 3, 7, 333, 999):
        assert 1 <= len(store.batch_metrics(run_id, max_points=max_points)) <= max_points


def test_epoch_metrics_keep_the_latest_row_per_epoch(store):
    run_id = store.create_run(CONFIG)
    store.add_epoch_metrics(run_id, 0, {"loss": 1.0, "val_loss": 1.5})
    store.add_epoch_metrics(run_id, 1, {"loss": 0.8, "val_loss": 1.2})
    time.sleep(0.01)
    store.add_epoch_metrics(run_id, 1, {"loss": 0.7, "val_loss": 1.1})  # repeated after a resume
    rows = store.epoch_metrics(run_id)
    assert [r["epoch"] for r in rows] == [0, 1]
    assert rows[1]["loss"] == 0.7 and rows[1]["val_loss"] == 1.1
    assert set(rows[0]) == {"epoch", "wall_time", "loss", "val_loss"}


def test_non_finite_values_survive_the_round_trip(store):
    run_id = store.create_run(CONFIG)
    store.add_epoch_metrics(run_id, 0, {"loss": None, "weird": float("nan")})
    row = store.epoch_metrics(run_id)[0]
    assert row["loss"] is None and math.isnan(row["weird"])


def test_drop_metrics_from_epoch(store):
    run_id = store.create_run(CONFIG)
    store.add_batch_metrics(run_id, [(s, s // 4, float(s), {"loss": 1.0}) for s in range(12)])
    for epoch in range(3):
        store.add_epoch_metrics(run_id, epoch, {"loss": 1.0})
    store.drop_metrics_from_epoch(run_id, 1)
    assert {r["epoch"] for r in store.batch_metrics(run_id)} == {0}
    assert [r["epoch"] for r in store.epoch_metrics(run_id)] == [0]


def test_events_in_order_with_levels(store):
    run_id = store.create_run(CONFIG)
    store.add_event(run_id, "first")
    store.add_event(run_id, "second", level="warning")
    store.add_event(store.create_run(CONFIG), "someone else")
    events = store.events(run_id)
    assert [(e["level"], e["message"]) for e in events] == [
        ("info", "first"),
        ("warning", "second"),
    ]
    assert events[0]["time"] <= events[1]["time"]


def test_stop_flag(store):
    run_id = store.create_run(CONFIG)
    assert store.stop_requested(run_id) is False
    store.request_stop(run_id)
    assert store.stop_requested(run_id) is True
    assert store.get_run(run_id).stop_requested is True
    store.requeue(run_id)
    assert store.stop_requested(run_id) is False
    assert store.stop_requested("no-such-run") is False


def test_stop_requested_before_the_worker_starts_is_kept(store):
    """Pressing stop while a run is still queued must not be forgotten when its worker starts."""
    run_id = store.create_run(CONFIG)
    store.request_stop(run_id)
    store.mark_started(run_id, 1234)
    assert store.stop_requested(run_id) is True


def test_requeue_prepares_a_resume(store):
    run_id = store.create_run(CONFIG)
    store.mark_started(run_id, dead_pid())
    store.request_stop(run_id)
    store.set_status(run_id, "interrupted", error="lost")
    store.requeue(run_id)
    run = store.get_run(run_id)
    assert run.status == "queued" and run.error is None and run.finished is None
    assert run.stop_requested is False
    # the old worker's pid is dead: until the new worker is spawned the run must not look lost
    assert store.mark_lost_runs() == []
    assert store.get_run(run_id).status == "queued"


def test_delete_run_removes_everything(store):
    run_id = store.create_run(CONFIG)
    keep = store.create_run(CONFIG)
    for rid in (run_id, keep):
        store.add_batch_metrics(rid, [(1, 0, 1.0, {"loss": 1.0})])
        store.add_epoch_metrics(rid, 0, {"loss": 1.0})
        store.add_event(rid, "hello")
    store.delete_run(run_id)
    assert store.get_run(run_id) is None
    assert store.batch_metrics(run_id) == [] and store.epoch_metrics(run_id) == []
    assert store.events(run_id) == []
    assert store.get_run(keep) is not None and len(store.events(keep)) == 1


def test_readers_do_not_wait_for_an_open_write_transaction(store):
    run_id = store.create_run(CONFIG)
    store.add_epoch_metrics(run_id, 0, {"loss": 1.0})
    writer = sqlite3.connect(store.path, isolation_level=None)
    try:
        writer.execute("BEGIN IMMEDIATE")  # holds the write lock until COMMIT
        writer.execute("UPDATE runs SET status = 'running' WHERE id = ?", (run_id,))
        writer.execute(
            "INSERT INTO events VALUES (?, ?, 'info', 'uncommitted')", (run_id, time.time())
        )
        start = time.monotonic()
        reader = RunStore(store.path)  # a dashboard opening the store meanwhile
        assert reader.get_run(run_id).status == "queued"  # sees the last committed state
        assert [r.id for r in reader.list_runs()] == [run_id]
        assert reader.events(run_id) == []
        assert len(reader.epoch_metrics(run_id)) == 1
        assert reader.batch_metrics(run_id) == []
        assert reader.stop_requested(run_id) is False
        assert reader.mark_lost_runs() == []  # nothing to write, so it does not wait either
        assert time.monotonic() - start < 2.0
        writer.execute("COMMIT")
    finally:
        writer.close()
    assert store.get_run(run_id).status == "running"
    assert store.events(run_id)[0]["message"] == "uncommitted"


def test_writers_from_threads_do_not_lose_rows(store):
    run_id = store.create_run(CONFIG)
    errors = []

    def write(offset):
        try:
            for i in range(20):
                store.add_batch_metrics(run_id, [(offset + i, 0, 0.0, {"loss": 1.0})])
                store.beat(run_id)
        except Exception as err:  # noqa: BLE001 - reported below
            errors.append(err)

    threads = [threading.Thread(target=write, args=(k * 100,)) for k in range(4)]
    for t in threads:
        t.start()
    while any(t.is_alive() for t in threads):
        store.get_run(run_id)
        store.batch_metrics(run_id)
    for t in threads:
        t.join()
    assert errors == []
    assert len(store.batch_metrics(run_id)) == 80
