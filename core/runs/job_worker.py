"""Worker process of one heavy job: `python -m core.runs.job_worker --job-id ID --runs-dir DIR`.

The job's kind names its function in JOB_KINDS ("module:function", imported only in the worker
that runs that kind); the function gets (store, job_id, params, folder), reports progress in
[0, 1] with store.job_progress (core.runs.job_control.JobReporter also checks the stop flag and
raises JobStopped) and returns a JSON-able result dict. Started by the scheduler's executor in
its own session; a heartbeat every second; SIGTERM asks the job to stop.
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

from core.runs.job_control import JobStopped, heartbeat
from core.runs.store import RunStore

JOB_KINDS = {
    "sleep": "core.runs.job_worker:sleep_job",
    "pick": "core.seismic.pick_job:run_pick_job",
    "evaluate": "core.tasks.evaluate_job:run_evaluate_job",
    "export": "core.runs.export_job:run_export_job",
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
    """Run one heavy job to its end; the exit code is 0 unless it failed. Also runs in-process
    (tests): the SIGTERM handler is only set in the main thread and put back afterwards."""
    job = store.get_job(job_id)
    if job is None or job.kind not in JOB_KINDS:
        print(f"no runnable job {job_id} in {store.path}")
        return 2
    folder.mkdir(parents=True, exist_ok=True)
    store.job_started(job_id, os.getpid())
    done = heartbeat(lambda: store.job_beat(job_id))
    main_thread = threading.current_thread() is threading.main_thread()
    if main_thread:
        previous = signal.signal(signal.SIGTERM, lambda *_: store.request_job_stop(job_id))
    try:
        if job.stop_requested:
            raise JobStopped(f"job {job_id} was stopped before it started")
        module, name = JOB_KINDS[job.kind].split(":")
        result = getattr(importlib.import_module(module), name)(store, job_id, job.params, folder)
        status = "stopped" if store.get_job(job_id).stop_requested else "succeeded"
        store.finish_job(job_id, status, result=result)
        return 0
    except JobStopped:
        store.finish_job(job_id, "stopped")
        return 0
    except BaseException as err:  # noqa: BLE001 - every failure must reach the store
        traceback.print_exc()
        store.finish_job(job_id, "failed", error=failure_message(err)[:2000])
        return 1
    finally:
        done.set()
        if main_thread:
            signal.signal(signal.SIGTERM, previous)


def failure_message(err: BaseException) -> str:
    """Our own errors (ValueError subclasses: EvaluateError, ExportError, PickingError,
    DatasetError ...) carry a message meant for the user; others get their type in front."""
    if isinstance(err, ValueError) and type(err) is not ValueError:
        return str(err).strip() or type(err).__name__
    return f"{type(err).__name__}: {err}".strip()


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


if __name__ == "__main__":
    raise SystemExit(main())
