"""A real worker SIGKILLed mid-epoch: interrupted at once (its pid is gone; the heartbeat timeout
is 5 s for workers on other hosts), the metrics written before the kill kept, and Resume goes on
with the optimizer's state: its step count continues from the last finished epoch.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import time

import h5py

from core.config import RunConfig
from core.runs import launcher
from core.runs.continue_run import CHECKPOINT
from core.runs.store import HEARTBEAT_TIMEOUT_S, pid_alive
from core.runs.store_health import check_store
from tests.conftest import TINY, wait_for_end, wait_until
from tests.core.runs.test_launcher import kill_worker, no_login, started  # noqa: F401, F811

EPOCHS = 2
# 700 examples in batches of 2: an epoch of ~1 s, so the store's rows (flushed every 0.2 s)
# land mid-epoch several times; with 88 steps of 8 an epoch took 0.3 s and CI missed it
STEPS = 350
QUICK = TINY | {"epochs": EPOCHS, "batch_size": 2, "max_train_examples": 700}


def optimizer_step(checkpoint) -> int:
    """The optimizer's iteration counter in a Keras weights file (its first variable)."""
    with h5py.File(checkpoint, "r") as f:
        return int(f["optimizer/vars/0"][()])


def steps_per_row(store, run_id: str) -> dict[int, int]:
    """{global_step: number of batch_metrics rows}, straight from SQLite (no API thinning)."""
    with sqlite3.connect(store.path) as db:
        rows = db.execute(
            "SELECT global_step, COUNT(*) FROM batch_metrics WHERE run_id = ? GROUP BY 1",
            (run_id,),
        ).fetchall()
    return dict(rows)


def test_sigkill_mid_epoch_then_resume_keeps_metrics_and_optimizer_state(
    tmp_path,
    started,  # noqa: F811 - the fixture imported above
):
    assert HEARTBEAT_TIMEOUT_S <= 5.0
    root = tmp_path / "runs"
    run_id = launcher.launch(RunConfig(**QUICK), root)
    store = launcher.open_store(root)
    pid = store.get_run(run_id).pid
    started(pid, run_id)

    def mid_second_epoch():
        latest = store.latest_batch(run_id)
        return latest and latest["epoch"] == 1 and latest["global_step"] < STEPS + STEPS * 3 // 4

    wait_until(mid_second_epoch, timeout=150, every=0.02)
    os.killpg(pid, signal.SIGKILL)
    killed = time.monotonic()
    wait_until(lambda: not pid_alive(pid), timeout=10, every=0.01)
    assert store.mark_lost_runs() == [run_id]  # the first check after the kill finds it
    seconds = time.monotonic() - killed
    print(f"interrupted {seconds:.2f} s after SIGKILL")
    run = store.get_run(run_id)
    assert run.status == "interrupted" and "killed or crashed" in run.error

    # every batch written before the kill is still there, once, with no gap
    kept = steps_per_row(store, run_id)
    assert STEPS < max(kept) < 2 * STEPS
    assert kept == {step: 1 for step in range(1, max(kept) + 1)}
    assert [e["epoch"] for e in store.epoch_metrics(run_id)] == [0]
    with sqlite3.connect(store.path) as db:  # killed mid-write: the store is still sound
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert check_store(root, thorough=True) is None

    launcher.resume(run_id, root)
    started(store.get_run(run_id).pid, run_id)
    run = wait_for_end(store, run_id, timeout=150)
    assert run.status == "succeeded", run.error
    messages = [e["message"] for e in store.events(run_id)]
    assert "resumed from the end of epoch 1" in messages
    # not 0: the state came back
    assert f"optimizer state restored at step {STEPS}" in messages
    # STEPS before the kill + STEPS after the resume; a fresh optimizer would have counted STEPS
    assert optimizer_step(root / run_id / CHECKPOINT) == EPOCHS * STEPS
    assert steps_per_row(store, run_id) == {s: 1 for s in range(1, EPOCHS * STEPS + 1)}
    kill_worker(pid, run_id)
