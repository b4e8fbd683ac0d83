"""The scheduler as real processes with real (sleep) workers: one scheduler per runs folder, two
racing dispatchers never start a job twice, a SIGKILLed job frees its slot, a restarted scheduler
keeps the queue, and a scheduler ends by itself when idle or when its store is gone."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from core import paths
from core.runs import scheduler
from core.runs.executor import LocalProcessExecutor
from core.runs.store import RunStore, pid_alive
from tests.conftest import wait_until

PY = sys.executable


@pytest.fixture
def procs(tmp_path, monkeypatch):
    """Start processes (schedulers, racers); they and the store's workers end with the test."""
    monkeypatch.setenv("TFLAB_GPUS", "none")
    monkeypatch.setenv("TFLAB_CPU_JOBS", "1")
    started: list[subprocess.Popen] = []

    def start(*args: str) -> subprocess.Popen:
        log = open(tmp_path / f"proc-{len(started)}.log", "wb")  # noqa: SIM115 - closed below
        proc = subprocess.Popen(
            [PY, *args], cwd=paths.REPO_ROOT, stdout=log, stderr=subprocess.STDOUT, env=os.environ
        )
        proc.log = log
        started.append(proc)
        return proc

    yield start
    for proc in started:
        if proc.poll() is None:
            proc.kill()
        proc.wait(10)
        proc.log.close()
    db = tmp_path / "runs.sqlite"
    if db.exists():
        for job in RunStore(db).active_jobs():
            if job.pid and pid_alive(job.pid) and is_worker_of(job.pid, job.id):
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(job.pid, signal.SIGKILL)


def is_worker_of(pid: int, job_id: str) -> bool:
    """Only ever kill a worker this test started (checked by its command line)."""
    try:
        args = Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0")
    except FileNotFoundError:
        return False
    return "core.runs.job_worker" in args and job_id in args


def start_scheduler(procs, root: Path, idle_exit: float = 0.0) -> subprocess.Popen:
    args = ["-m", "core.runs.scheduler", "--runs-dir", str(root), "--idle-exit", str(idle_exit)]
    proc = procs(*args)
    wait_until(lambda: scheduler.scheduler_running(root), timeout=30)
    return proc


def sleep_job(store: RunStore, seconds: float) -> str:
    return store.create_job("sleep", {"seconds": seconds}, owner="alice")


def starts_of(store: RunStore, job_id: str) -> int:
    return sum(e["message"].startswith("started by the scheduler") for e in store.events(job_id))


def test_one_scheduler_per_folder_and_a_killed_job_frees_its_slot(tmp_path, procs):
    store = RunStore(tmp_path / "runs.sqlite")
    long, short = sleep_job(store, 60), sleep_job(store, 0.3)
    first = start_scheduler(procs, tmp_path)
    second = procs("-m", "core.runs.scheduler", "--runs-dir", str(tmp_path))
    assert second.wait(30) == 3  # the lock is held: it leaves at once
    running = wait_until(lambda: store.job_outcome(long)["status"] == "running", timeout=30)
    assert running and store.job_outcome(short)["status"] == "queued"  # one CPU slot
    pid = store.get_job(long).pid
    assert is_worker_of(pid, long)
    os.killpg(pid, signal.SIGKILL)
    done = wait_until(lambda: store.job_outcome(short)["status"] == "succeeded", timeout=30)
    assert done and store.job_outcome(long)["status"] == "interrupted"
    assert store.job_outcome(short)["result"]["slept_s"] == 0.3
    assert first.poll() is None


def test_a_restarted_scheduler_keeps_the_queue_and_starts_nothing_twice(tmp_path, procs):
    store = RunStore(tmp_path / "runs.sqlite")
    ids = [sleep_job(store, 1.5), sleep_job(store, 0.2), sleep_job(store, 0.2)]
    first = start_scheduler(procs, tmp_path)
    wait_until(lambda: store.job_outcome(ids[0])["status"] == "running", timeout=30)
    first.kill()  # the scheduler dies; its worker lives on in its own session
    first.wait(10)
    assert [store.job_outcome(i)["status"] for i in ids[1:]] == ["queued", "queued"]
    start_scheduler(procs, tmp_path)
    wait_until(lambda: store.job_outcome(ids[2])["status"] == "succeeded", timeout=60)
    assert [store.job_outcome(i)["status"] for i in ids] == ["succeeded"] * 3
    assert [starts_of(store, i) for i in ids] == [1, 1, 1]
    started = [store.job_outcome(i)["started"] for i in ids]
    assert started == sorted(started)  # first come first served


RACER = """
import json, os, sys, time
from pathlib import Path
from core.runs import scheduler
from core.runs.executor import LocalProcessExecutor
from core.runs.store import RunStore
root, out = Path(sys.argv[1]), Path(sys.argv[2])
class Recorder:
    def start(self, job, root, devices):
        with open(out, "a") as f:
            f.write(json.dumps(job.id) + "\\n")
        time.sleep(0.005)  # a start takes a moment: the other racer claims in between
        return os.getpid()  # alive while racing: the slot stays taken
store = RunStore(root / "runs.sqlite")
slots = scheduler.Slots(cpu_jobs=1000)
(root / (out.name + ".ready")).touch()  # imported and ready: both race from the same start
while not (root / "go").exists():
    time.sleep(0.01)
deadline = time.time() + 20
while time.time() < deadline and any(j.waiting for j in store.active_jobs()):
    scheduler.dispatch(store, root, Recorder(), slots)  # no lock: only the SQL claim protects
"""


def test_two_dispatchers_racing_without_a_lock_never_start_a_job_twice(tmp_path, procs):
    store = RunStore(tmp_path / "runs.sqlite")
    ids = {sleep_job(store, 1) for _ in range(60)}
    outs = [tmp_path / "a.jsonl", tmp_path / "b.jsonl"]
    racers = [procs("-c", RACER, str(tmp_path), str(out)) for out in outs]
    # on a busy CI machine one racer was still importing when the other claimed all 60
    wait_until(lambda: all((tmp_path / f"{o.name}.ready").exists() for o in outs), timeout=60)
    (tmp_path / "go").touch()
    assert [r.wait(60) for r in racers] == [0, 0]
    started = [json.loads(line) for out in outs if out.exists() for line in out.read_text().split()]
    assert sorted(started) == sorted(ids)  # every job exactly once
    assert all(out.exists() for out in outs), "one racer never won a claim: no race was tested"


def test_a_scheduler_ends_when_idle_or_when_its_store_is_gone(tmp_path, procs):
    RunStore(tmp_path / "runs.sqlite")
    idle = start_scheduler(procs, tmp_path, idle_exit=0.5)
    assert idle.wait(30) == 0
    gone = start_scheduler(procs, tmp_path)  # never idles out
    (tmp_path / "runs.sqlite").unlink()
    assert gone.wait(30) == 0
    assert "is gone: scheduler ends" in (tmp_path / "proc-1.log").read_text()


def test_ensure_scheduler_starts_one_detached_scheduler(tmp_path, procs):
    store = RunStore(tmp_path / "runs.sqlite")
    job_id = sleep_job(store, 0.2)
    assert scheduler.ensure_scheduler(tmp_path, idle_exit_s=0.5)
    assert not scheduler.ensure_scheduler(tmp_path)  # one is running (or starting) already
    wait_until(lambda: store.job_outcome(job_id)["status"] == "succeeded", timeout=30)
    wait_until(lambda: not scheduler.scheduler_running(tmp_path), timeout=30)  # it idled out
    assert "scheduler ends" in (tmp_path / "scheduler.log").read_text()


def test_the_local_executor_gives_a_worker_its_gpus_and_no_secrets(tmp_path, procs, monkeypatch):
    monkeypatch.setenv("LAB_DB_PASSWORD", "pw-value-1")
    store = RunStore(tmp_path / "runs.sqlite")
    job_id = sleep_job(store, 0.1)
    (job,) = store.active_jobs()
    assert store.claim_job(job, [1])
    executor = LocalProcessExecutor()
    pid = executor.start(job, tmp_path, [1])
    store.set_job_pid(job, pid)
    assert executor.is_alive(pid) and os.getsid(pid) == pid  # detached: its own session
    environ = Path(f"/proc/{pid}/environ").read_bytes().decode().split("\0")
    assert "TFLAB_ASSIGNED_GPUS=1" in environ and "CUDA_DEVICE_ORDER=PCI_BUS_ID" in environ
    assert not any("pw-value-1" in v for v in environ)
    wait_until(lambda: store.job_outcome(job_id)["status"] == "succeeded", timeout=30)
    assert store.job_outcome(job_id)["result"]["cuda_visible_devices"] == "1"
    assert (tmp_path / "jobs" / job_id / "worker.log").is_file()
