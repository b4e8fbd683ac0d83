"""The job scheduler: starts queued jobs first come first served when their GPUs or CPU slot is
free. One per runs folder (flock on runs/scheduler.lock); `python -m core.runs.scheduler
--runs-dir DIR [--idle-exit S]`, or `python -m core scheduler` in the foreground.

Slots: TFLAB_JOBS_PER_GPU jobs per GPU (default 1), TFLAB_CPU_JOBS concurrent CPU jobs
(default 1); TFLAB_GPUS overrides the detected GPU indices ("0,1"; "none" for none). A GPU job
at the head of the queue that does not fit blocks later GPU jobs (strict FCFS: nothing starves).
Times are seconds since the epoch.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

try:  # nvidia-ml-py: talks to the driver, never initialises CUDA
    import pynvml
except ImportError:  # pragma: no cover - it is a dependency, but optional for the scheduler
    pynvml = None

from core import paths
from core.runs.executor import Executor, LocalProcessExecutor, worker_environment
from core.runs.job_store import Job
from core.runs.store import RunStore

SCHEDULER_LOCK = "scheduler.lock"  # held for a scheduler's lifetime
DISPATCH_LOCK = "dispatch.lock"  # held during one dispatch pass (scheduler or launcher)
STORE_FILE = "runs.sqlite"
POLL_S = 1.0
AUTO_IDLE_EXIT_S = 60.0  # an auto-started scheduler ends after this long with an empty queue
ENV_JOBS_PER_GPU, ENV_CPU_JOBS, ENV_GPUS = "TFLAB_JOBS_PER_GPU", "TFLAB_CPU_JOBS", "TFLAB_GPUS"


@dataclass(frozen=True)
class Slots:
    """What this machine offers: GPU indices, jobs per GPU, concurrent CPU jobs."""

    gpus: tuple[int, ...] = ()
    jobs_per_gpu: int = 1
    cpu_jobs: int = 1


def detect_gpus() -> list[int]:
    """GPU indices without initialising TensorFlow: NVML if installed, else `nvidia-smi -L`,
    limited to the CUDA_VISIBLE_DEVICES the workers would get; [] when there is none."""
    found: list[int] = []
    try:
        pynvml.nvmlInit()  # raises without a driver (and without the package)
        try:
            found = list(range(pynvml.nvmlDeviceGetCount()))
        finally:
            pynvml.nvmlShutdown()
    except Exception:  # noqa: BLE001 - not installed, no driver: fall back
        try:
            out = subprocess.run(
                ["nvidia-smi", "-L"], capture_output=True, text=True, timeout=10, check=True
            ).stdout
            found = [i for i, line in enumerate(out.splitlines()) if line.startswith("GPU ")]
        except (OSError, subprocess.SubprocessError):
            found = []
    visible = worker_environment().get("CUDA_VISIBLE_DEVICES")
    if visible is None:
        return found
    allowed = _indices(visible)
    return [g for g in found if g in allowed]


def _indices(text: str) -> list[int]:
    try:
        return [i for i in (int(p) for p in text.split(",") if p.strip()) if i >= 0]
    except ValueError:
        return []


def configured_slots(
    env: Mapping[str, str] | None = None, detect: Callable[[], list[int]] = detect_gpus
) -> Slots:
    """Slots from the environment (see the module docstring); ValueError on a bad number."""
    env = os.environ if env is None else env
    gpus = env.get(ENV_GPUS)
    indices = (_indices(gpus) if gpus.strip().lower() != "none" else []) if gpus else detect()

    def count(name: str) -> int:
        raw = env.get(name, "1")
        if not raw.strip().isdigit() or int(raw) < 1:
            raise ValueError(f"{name} must be a whole number >= 1, not {raw!r}")
        return int(raw)

    return Slots(tuple(indices), count(ENV_JOBS_PER_GPU), count(ENV_CPU_JOBS))


def plan(jobs: list[Job], slots: Slots) -> tuple[list[tuple[Job, list[int]]], list[tuple]]:
    """Which waiting jobs start now on which GPUs ([] = CPU), and (job, reason) of jobs that can
    never start here. jobs: active jobs, first come first; started ones hold their slots."""
    load = {g: 0 for g in slots.gpus}
    cpu_used = 0
    for job in jobs:
        if job.waiting:
            continue
        if slots.gpus and job.devices is None:  # started before the queue: it saw every GPU
            load = {g: n + 1 for g, n in load.items()}
        elif slots.gpus and job.devices:
            for d in job.devices:
                if d in load:
                    load[d] += 1
        else:
            cpu_used += 1
    starts, impossible = [], []
    gpu_blocked = cpu_blocked = False
    for job in (j for j in jobs if j.waiting):
        need = job.gpus if slots.gpus else 0
        if need == 0:
            if not cpu_blocked and cpu_used < slots.cpu_jobs:
                starts.append((job, []))
                cpu_used += 1
            else:
                cpu_blocked = True
            continue
        pinned = job.resources.get("gpu_indices")
        if need > len(slots.gpus) or (pinned and not set(pinned) <= set(slots.gpus)):
            have = ", ".join(map(str, slots.gpus))
            impossible.append((job, f"it asks for GPUs {pinned or need}; this machine has {have}"))
            continue
        if gpu_blocked:
            continue
        free = sorted((n, g) for g, n in load.items() if n < slots.jobs_per_gpu)
        devices = [g for _, g in free if not pinned or g in pinned][:need]
        if len(devices) < need:
            gpu_blocked = True  # head of the GPU line: later GPU jobs wait behind it
            continue
        for d in devices:
            load[d] += 1
        starts.append((job, sorted(devices)))
    return starts, impossible


def dispatch(store: RunStore, root: Path, executor: Executor, slots: Slots) -> list[str]:
    """One pass: free the slots of lost workers, claim and start what fits; started job ids."""
    store.mark_lost_runs()
    starts, impossible = plan(store.active_jobs(), slots)
    for job, reason in impossible:
        if store.claim_job(job, []):
            store.fail_job(job, f"cannot start: {reason}")
            store.add_event(job.id, f"cannot start: {reason}", level="error")
    started = []
    for job, devices in starts:
        if not store.claim_job(job, devices):
            continue  # another dispatcher took it
        try:
            pid = executor.start(job, root, devices if slots.gpus else None)
        except OSError as err:
            store.fail_job(job, f"could not start its worker: {err}")
            continue
        store.set_job_pid(job, pid)
        where = f"GPU {','.join(map(str, devices))}" if devices else "CPU"
        store.add_event(job.id, f"started by the scheduler on {where}")
        started.append(job.id)
    return started


@contextlib.contextmanager
def file_lock(path: Path, wait_s: float = 0.0) -> Iterator[bool]:
    """An exclusive flock on path for the block; yields False if not had within wait_s."""
    try:
        handle = open(path, "a+")
    except OSError:
        yield False
        return
    deadline = time.monotonic() + wait_s
    try:
        got = _try_flock(handle)
        while not got and time.monotonic() < deadline:
            time.sleep(0.05)
            got = _try_flock(handle)
        yield got
    finally:
        handle.close()  # releases the lock


def _try_flock(handle) -> bool:
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def dispatch_now(root: Path, executor: Executor | None = None, slots: Slots | None = None) -> list:
    """A dispatch pass from any process (the launcher's, so a free slot starts at once)."""
    with file_lock(root / DISPATCH_LOCK, wait_s=2.0) as got:
        if not got:
            return []
        store = RunStore(root / STORE_FILE)
        return dispatch(store, root, executor or LocalProcessExecutor(), slots or current_slots())


_SLOTS_CACHE: dict[str, tuple[float, Slots]] = {}


def current_slots(max_age_s: float = 30.0) -> Slots:
    """configured_slots(), detected at most every max_age_s in this process."""
    cached = _SLOTS_CACHE.get("slots")
    if cached and time.monotonic() - cached[0] < max_age_s:
        return cached[1]
    slots = configured_slots()
    _SLOTS_CACHE["slots"] = (time.monotonic(), slots)
    return slots


def scheduler_running(root: Path) -> bool:
    """True if a scheduler holds this runs folder's lock."""
    if not (root / SCHEDULER_LOCK).exists():
        return False
    with file_lock(root / SCHEDULER_LOCK) as got:
        return not got


def ensure_scheduler(root: Path, idle_exit_s: float = AUTO_IDLE_EXIT_S) -> bool:
    """Start a detached scheduler for root unless one runs; True if one was started. The lock
    is taken here and handed to the child (an inherited fd), so two callers never both start
    one."""
    try:
        handle = open(root / SCHEDULER_LOCK, "a+")
    except OSError:
        return False
    with handle:
        if not _try_flock(handle):
            return False
        fd = handle.fileno()
        command = [sys.executable, "-m", "core.runs.scheduler", "--runs-dir", str(root)]
        with open(root / "scheduler.log", "ab") as log:
            proc = subprocess.Popen(
                [*command, "--idle-exit", str(idle_exit_s), "--lock-fd", str(fd)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                close_fds=True,
                pass_fds=(fd,),
                cwd=paths.REPO_ROOT,
                env=worker_environment(),
            )
    threading.Thread(target=proc.wait, daemon=True).start()  # reap it when it ends, no zombie
    return True


@contextlib.contextmanager
def _scheduler_lock(root: Path, lock_fd: int | None) -> Iterator[bool]:
    if lock_fd is None:
        with file_lock(root / SCHEDULER_LOCK) as got:
            yield got
        return
    with os.fdopen(lock_fd, "a+") as handle:  # taken by ensure_scheduler for us
        yield _try_flock(handle)


def run_scheduler(
    root: Path,
    executor: Executor | None = None,
    slots: Slots | None = None,
    poll_s: float = POLL_S,
    idle_exit_s: float = 0.0,
    should_stop: Callable[[], bool] = lambda: False,
    lock_fd: int | None = None,
) -> int:
    """The scheduler loop. Returns 0 when it ends: stop asked, the store or folder is gone, or
    nothing waited for idle_exit_s (0 = never); 3 if another scheduler already runs."""
    executor = executor or LocalProcessExecutor()
    with _scheduler_lock(root, lock_fd) as got:
        if not got:
            print(f"a scheduler already runs for {root}")
            return 3
        print(f"scheduler {os.getpid()} for {root}: {slots or current_slots()}", flush=True)
        store = RunStore(root / STORE_FILE) if (root / STORE_FILE).is_file() else None
        idle_since = time.monotonic()
        while not should_stop():
            if store is None or not store.path.is_file():
                print(f"{root / STORE_FILE} is gone: scheduler ends", flush=True)
                return 0
            with file_lock(root / DISPATCH_LOCK, wait_s=poll_s) as locked:
                if locked:
                    for job_id in dispatch(store, root, executor, slots or current_slots()):
                        print(f"started {job_id}", flush=True)
            if any(j.waiting for j in store.active_jobs()):
                idle_since = time.monotonic()
            elif idle_exit_s and time.monotonic() - idle_since > idle_exit_s:
                print(f"nothing queued for {idle_exit_s:g} s: scheduler ends", flush=True)
                return 0
            time.sleep(poll_s)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs-dir", type=Path, default=None)
    parser.add_argument("--idle-exit", type=float, default=0.0, help="seconds; 0 = never")
    parser.add_argument("--lock-fd", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    root = args.runs_dir or paths.runs_dir()
    return run_scheduler(root, idle_exit_s=args.idle_exit, lock_fd=args.lock_fd)


if __name__ == "__main__":
    raise SystemExit(main())
