"""A mirrored run (2 logical CPUs) in a real worker: live metrics, a SIGKILL, resume, then stop.

The same path as one device: StoreCallback streams each batch, BackupAndRestore resumes after
the kill, the stop flag ends the resumed run after its batch.
"""

from __future__ import annotations

import contextlib
import os
import signal

from core.config import RunConfig
from core.runs import launcher
from core.runs.store import pid_alive
from tests.conftest import TINY, wait_for_end, wait_until

MIRRORED = TINY | {
    "epochs": 10,
    "batch_size": 8,
    "max_train_examples": 400,
    "devices": {"cpu_replicas": 2},
}


def _kill(pid: int | None) -> None:
    if pid and pid_alive(pid):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)  # the worker leads its own process group


def test_mirrored_run_streams_resumes_and_stops(runs_root):
    run_id = launcher.launch(RunConfig.from_dict(MIRRORED), runs_root)
    store = launcher.open_store(runs_root)
    pids: list[int | None] = []
    try:

        def in_second_epoch():
            latest = store.latest_batch(run_id)
            return latest and latest["epoch"] >= 1 and store.epoch_metrics(run_id)

        wait_until(in_second_epoch, timeout=240, every=0.05)
        pids.append(store.get_run(run_id).pid)  # the scheduler may have started it
        os.kill(pids[0], signal.SIGKILL)

        def interrupted():
            store.mark_lost_runs()
            return store.get_run(run_id).status == "interrupted"

        wait_until(interrupted, timeout=30, every=0.1)
        launcher.resume(run_id, runs_root)

        def in_third_epoch_or_ended():
            latest = store.latest_batch(run_id)
            return (latest and latest["epoch"] >= 2) or store.get_run(run_id).status == "failed"

        wait_until(in_third_epoch_or_ended, timeout=240, every=0.05)
        pids.append(store.get_run(run_id).pid)
        launcher.stop(run_id, runs_root)
        run = wait_for_end(store, run_id, timeout=120)
    finally:
        for pid in pids:
            _kill(pid)
    events = [e["message"] for e in store.events(run_id)]
    assert run.status == "stopped", (run.error, events)
    assert sum("MirroredStrategy over 2 devices" in e for e in events) == 2  # both workers
    assert any(e.startswith("resumed from the end of epoch") for e in events)
    epochs = [e["epoch"] for e in store.epoch_metrics(run_id)]
    assert epochs == list(range(len(epochs))) and 2 <= len(epochs) < 10  # stopped early, none twice
    steps = [b["global_step"] for b in store.batch_metrics(run_id)]
    assert steps == sorted(set(steps)) and steps[0] == 1  # one row per step, no gap, no repeat
