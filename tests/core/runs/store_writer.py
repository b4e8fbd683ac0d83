"""A training worker's store writes, as a process: `python -m tests.core.runs.store_writer
STORE RUN_ID SECONDS`. Writes batches of metric rows with progress and heartbeats, then prints
how many rows it committed."""

from __future__ import annotations

import sys
import time

from core.runs.store import RunStore

ROWS_PER_FLUSH = 20


def write_metrics(path: str, run_id: str, seconds: float) -> int:
    store = RunStore(path)
    keeper = store.keep_open()
    step, deadline = 0, time.monotonic() + seconds
    while time.monotonic() < deadline:
        rows = [
            (step + i, 0, time.time(), {"loss": 1.0 / (step + i + 1)})
            for i in range(ROWS_PER_FLUSH)
        ]
        store.add_batch_metrics(run_id, rows)
        step += ROWS_PER_FLUSH
        store.set_progress(run_id, 0, step, None)
        store.beat(run_id)
    keeper.close()
    return step


if __name__ == "__main__":
    print(write_metrics(sys.argv[1], sys.argv[2], float(sys.argv[3])))
