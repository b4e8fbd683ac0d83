"""Worker process of one heavy job: `python -m core.runs.job_worker --job-id ID --runs-dir DIR`.

The job's kind names its function in JOB_KINDS ("module:function", imported only in the worker
that runs that kind); the function gets (store, job_id, params, folder), reports progress in
[0, 1] with store.job_progress and returns a JSON-able result dict. Started by the scheduler's
executor in its own session; a heartbeat every second; SIGTERM asks the job to stop.
"""

from __future__ import annotations

import argparse
import importlib
import os
import signal
import threading
import time
import traceback
from pathlib import Path

from core.runs.store import RunStore

HEARTBEAT_EVERY_S = 1.0
JOB_KINDS = {
    "sleep": "core.runs.job_worker:sleep_job",
    "pick": "core.seismic.pick_job:run_pick_job",
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--job-id", required=True)
    parser.add_argument("--runs-dir", required=True)
    args = parser.parse_args(argv)
    runs_dir = Path(args.runs_dir)
    store = RunStore(runs_dir / "runs.sqlite")
    return run_job(store, args.job_id, runs_dir / "jobs" / args.job_id)


def run_job(store: RunStore, job_id: str, folder: Path) -> int:
    """Run one heavy job to its end; the exit code is 0 unless it failed."""
    job = store.get_job(job_id)
    if job is None or job.kind not in JOB_KINDS:
        print(f"no runnable job {job_id} in {store.path}")
        return 2
    folder.mkdir(parents=True, exist_ok=True)
    store.job_started(job_id, os.getpid())
    done = threading.Event()
    threading.Thread(target=_beat, args=(store, job_id, done), daemon=True).start()
    signal.signal(signal.SIGTERM, lambda *_: store.request_job_stop(job_id))
    try:
        module, name = JOB_KINDS[job.kind].split(":")
        result = getattr(importlib.import_module(module), name)(store, job_id, job.params, folder)
        status = "stopped" if store.get_job(job_id).stop_requested else "succeeded"
        store.finish_job(job_id, status, result=result)
        return 0
    except BaseException as err:  # noqa: BLE001 - every failure must reach the store
        traceback.print_exc()
        store.finish_job(job_id, "failed", error=f"{type(err).__name__}: {err}".strip()[:2000])
        return 1
    finally:
        done.set()


def sleep_job(store: RunStore, job_id: str, params: dict, folder: Path) -> dict:
    """Wait params["seconds"] (default 1) in tenths, reporting progress; stops early when asked.
    For tests and for checking a deployment's queue; the result names the GPUs it was given."""
    seconds = float(params.get("seconds", 1.0))
    steps = max(1, int(seconds / 0.1))
    for i in range(steps):
        if store.get_job(job_id).stop_requested:
            return {"slept_s": i * seconds / steps}
        time.sleep(seconds / steps)
        store.job_progress(job_id, (i + 1) / steps, f"slept {(i + 1) * seconds / steps:.1f} s")
    return {"slept_s": seconds, "cuda_visible_devices": os.environ.get("CUDA_VISIBLE_DEVICES")}


def _beat(store: RunStore, job_id: str, done: threading.Event) -> None:
    while not done.wait(HEARTBEAT_EVERY_S):
        try:
            store.job_beat(job_id)
        except Exception:  # noqa: BLE001 - a busy store must not kill the heartbeat
            pass


if __name__ == "__main__":
    raise SystemExit(main())
