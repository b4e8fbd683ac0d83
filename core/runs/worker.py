"""Worker process of one run: `python -m core.runs.worker --run-id ID --runs-dir DIR`.

Started by the scheduler's executor (core.runs.executor) in its own session; beats a heartbeat into
the store every second and ends the run as succeeded, stopped or failed. SIGTERM asks the run to
stop after its batch. Heavy jobs (pick, evaluate, export) run in core.runs.job_worker.
"""

from __future__ import annotations

import argparse
import errno
import os
import signal
import traceback
from pathlib import Path

from core.config import RunConfig
from core.runs.job_control import heartbeat
from core.runs.oom import out_of_memory_message
from core.runs.run_health import TrainingDiverged
from core.runs.store import RunStore
from core.runs.training import train_run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--run-id", required=True)
    parser.add_argument("--runs-dir", required=True)
    args = parser.parse_args(argv)
    runs_dir = Path(args.runs_dir)
    store = RunStore(runs_dir / "runs.sqlite")
    return run_worker(store, args.run_id, runs_dir / args.run_id)


def run_worker(store: RunStore, run_id: str, run_dir: Path) -> int:
    """Run one training job to its end; the exit code is 0 unless it failed."""
    run = store.get_run(run_id)
    if run is None:
        print(f"no run {run_id} in {store.path}")
        return 2
    keeper = store.keep_open()  # makes each metrics flush cheap (see RunStore.keep_open)
    store.mark_started(run_id, os.getpid())
    done = heartbeat(lambda: store.beat(run_id))  # every second, in a daemon thread
    signal.signal(signal.SIGTERM, lambda *_: store.request_stop(run_id))
    try:
        metrics = train_run(RunConfig.from_dict(run.config), store, run_id, run_dir)
        status = "stopped" if store.stop_requested(run_id) else "succeeded"
        store.add_event(
            run_id,
            f"{status}: "
            + ", ".join(f"{k}={v:.4g}" for k, v in metrics.items() if isinstance(v, float)),
        )
        store.set_status(run_id, status)
        return 0
    except BaseException as err:  # noqa: BLE001 - every failure must reach the store
        traceback.print_exc()
        message = failure_message(err, run_dir)
        store.add_event(run_id, message, level="error")
        store.set_status(run_id, "failed", error=message[:2000])
        return 1
    finally:
        done.set()
        keeper.close()


def failure_message(err: BaseException, run_dir: Path) -> str:
    """What the user reads when a run fails: plain words for a full or read-only runs folder."""
    if (oom := out_of_memory_message(err, run_dir)) is not None:  # GPU or host memory full
        return oom
    if isinstance(err, TrainingDiverged):  # its message already says where and what to try
        return str(err)
    if isinstance(err, OSError) and err.errno == errno.ENOSPC:
        return (
            f"the runs folder {run_dir.parent} is full ({err.strerror}); free some space, e.g. "
            "delete old runs, then start the run again. The previous model file is unchanged."
        )
    if isinstance(err, OSError) and err.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        return (
            f"cannot write to the runs folder {run_dir.parent} ({err.strerror}): it is read-only "
            "or not writable by the dashboard's user. The previous model file is unchanged."
        )
    return f"{type(err).__name__}: {err}".strip()


if __name__ == "__main__":
    raise SystemExit(main())
