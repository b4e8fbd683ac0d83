"""Write tests/data/legacy_runs/ with the code of commit f15930f (before the core restructure).

Kept for the record of how the fixture was made; it is not run by the tests. The folder holds a
store and three run folders: a finished CNN on digits, a finished PhaseNet on synthetic data and
a 3-epoch CNN SIGKILLed in its second epoch (interrupted, resumable). Usage, from the repository
root at that commit: .venv/bin/python tests/legacy/make_legacy_runs.py
"""

from __future__ import annotations

import os
import shutil
import signal
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from core import launcher  # noqa: E402
from core.config import RunConfig  # noqa: E402

OUT = Path(__file__).resolve().parents[1] / "data" / "legacy_runs"
CNN = {"dataset": "digits", "model": "cnn", "epochs": 1, "batch_size": 32,
       "max_train_examples": 64, "model_settings": {"filters": [8], "dense_units": 16}}  # fmt: skip
PICKER = {"dataset": "synthetic", "model": "phasenet", "epochs": 1, "batch_size": 8,
          "max_train_examples": 32,
          "model_settings": {"filters": [4, 6], "kernel_size": 5}}  # fmt: skip


def wait(store, run_id, statuses, timeout=300):
    deadline = time.time() + timeout
    while time.time() < deadline:
        store.mark_lost_runs()
        run = store.get_run(run_id)
        if run.status in statuses:
            return run
        time.sleep(0.1)
    raise SystemExit(f"{run_id} did not reach {statuses}")


def main() -> None:
    shutil.rmtree(OUT, ignore_errors=True)
    OUT.mkdir(parents=True)
    store = launcher.open_store(OUT)
    for config in (CNN, PICKER):
        run_id = launcher.launch(RunConfig(**config), OUT)
        assert wait(store, run_id, {"succeeded", "failed"}).status == "succeeded", run_id
    slow = CNN | {"epochs": 3, "max_train_examples": 1024, "batch_size": 8}
    run_id = launcher.launch(RunConfig(**slow), OUT)
    deadline = time.time() + 300
    backup = OUT / run_id / "backup"
    while not (store.epoch_metrics(run_id) and backup.is_dir()) and time.time() < deadline:
        time.sleep(0.05)
    time.sleep(1.0)  # well into the second epoch, the first epoch's backup written
    os.killpg(store.get_run(run_id).pid, signal.SIGKILL)
    wait(store, run_id, {"interrupted"})
    store.close() if hasattr(store, "close") else None
    for log in OUT.glob("*/logs"):
        shutil.rmtree(log)  # TensorBoard event files: large and not needed
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
