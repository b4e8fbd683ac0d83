"""core.runs.scheduler's logic with a recording executor (no processes): order, slots, GPU
assignment, no starvation, cancel, lost jobs free their slot, claims, estimates, migration."""

from __future__ import annotations

import shutil
import sqlite3
import time
from pathlib import Path

import pytest

from core import access
from core.runs import launcher, scheduler
from core.runs.queue_report import queue_report
from core.runs.scheduler import Slots
from core.runs.store import RunStore
from tests.conftest import TINY
from tests.core.test_access import login_settings

LEGACY = Path(__file__).resolve().parents[2] / "data" / "legacy_runs"


class RecordingExecutor:
    """Records (job id, devices) of every start; `pid` is what start() returns."""

    def __init__(self, pid: int | None = None):
        self.starts: list[tuple[str, list[int] | None]] = []
        self.pid = pid

    def start(self, job, root, devices):
        self.starts.append((job.id, devices))
        return self.pid or _live_pid()

    def is_alive(self, handle):
        return True

    def kill(self, handle):
        pass


def _live_pid() -> int:
    import os

    return os.getpid()


def dead_pid() -> int:
    import subprocess

    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


@pytest.fixture
def store(tmp_path) -> RunStore:
    return RunStore(tmp_path / "runs.sqlite")


def job(store: RunStore, gpus: int = 0, pinned=None, owner: str = "alice") -> str:
    return store.create_job(
        "sleep", {}, owner=owner, resources={"gpus": gpus, "gpu_indices": pinned}
    )


def finish(store: RunStore, job_id: str) -> None:
    store.finish_job(job_id, "succeeded", result={})


def run_pass(store, executor, slots) -> list[str]:
    return scheduler.dispatch(store, store.path.parent, executor, slots)


def test_first_come_first_served_one_cpu_slot(store):
    ids = [job(store) for _ in range(3)]
    ex = RecordingExecutor()
    assert run_pass(store, ex, Slots()) == ids[:1]
    assert run_pass(store, ex, Slots()) == []  # the slot is busy
    finish(store, ids[0])
    assert run_pass(store, ex, Slots()) == ids[1:2]
    finish(store, ids[1])
    assert run_pass(store, ex, Slots()) == ids[2:]
    assert [s[0] for s in ex.starts] == ids
    assert all(devices is None for _, devices in ex.starts)  # no GPUs: CUDA setting untouched


def test_cpu_slots_and_runs_and_jobs_share_one_queue(store):
    run_id = store.create_run(dict(TINY), resources={"gpus": 1})  # no GPU here: a CPU job
    ids = [job(store) for _ in range(2)]
    ex = RecordingExecutor()
    assert run_pass(store, ex, Slots(cpu_jobs=2)) == [run_id, ids[0]]
    assert store.get_run(run_id).devices == "" and store.get_run(run_id).claimed
    assert [j.id for j in store.active_jobs()] == [run_id, *ids]


def test_gpu_slots_are_balanced_and_limited_per_gpu(store):
    ids = [job(store, gpus=1) for _ in range(5)]
    ex = RecordingExecutor()
    started = run_pass(store, ex, Slots(gpus=(0, 1), jobs_per_gpu=2))
    assert started == ids[:4]
    assert [d for _, d in ex.starts] == [[0], [1], [0], [1]]
    assert [store.get_job(i).devices for i in ids[:4]] == [[0], [1], [0], [1]]
    finish(store, ids[1])
    assert run_pass(store, ex, Slots(gpus=(0, 1), jobs_per_gpu=2)) == [ids[4]]
    assert ex.starts[-1] == (ids[4], [1])  # the GPU that had room


def test_a_two_gpu_job_is_not_starved_by_one_gpu_jobs(store):
    slots = Slots(gpus=(0, 1))
    ex = RecordingExecutor()
    first = job(store, gpus=1)
    assert run_pass(store, ex, slots) == [first]  # on GPU 0
    big = job(store, gpus=2)
    small = [job(store, gpus=1) for _ in range(3)]
    cpu = job(store, gpus=0)
    # GPU 1 is free, but the 2-GPU job at the head waits for both: nothing overtakes it
    # (a CPU job does not compete for GPUs and starts)
    assert run_pass(store, ex, slots) == [cpu]
    assert run_pass(store, ex, slots) == []
    finish(store, first)
    assert run_pass(store, ex, slots) == [big]
    assert ex.starts[-1] == (big, [0, 1])
    finish(store, big)
    assert run_pass(store, ex, slots) == small[:2]


def test_pinned_gpus_and_impossible_requests(store):
    slots = Slots(gpus=(0, 1))
    ex = RecordingExecutor()
    pinned = job(store, gpus=1, pinned=[1])
    too_many = job(store, gpus=3)
    missing = job(store, gpus=1, pinned=[7])
    assert run_pass(store, ex, slots) == [pinned]
    assert ex.starts == [(pinned, [1])]
    for job_id in (too_many, missing):
        outcome = store.job_outcome(job_id)
        assert outcome["status"] == "failed"
        assert outcome["error"].startswith("cannot start: it asks for GPUs")
        assert "this machine has 0, 1" in outcome["error"]


def test_a_killed_job_frees_its_slot(store):
    first, second = job(store), job(store)
    assert run_pass(store, RecordingExecutor(pid=dead_pid()), Slots()) == [first]
    ex = RecordingExecutor()
    assert run_pass(store, ex, Slots()) == [second]  # the dead worker was found and its slot freed
    assert store.get_job(first).status == "interrupted"


def test_a_claimed_job_is_never_started_twice(store):
    job_id = job(store)
    (queued,) = store.active_jobs()
    assert store.claim_job(queued, [])
    assert not store.claim_job(queued, [])  # a second scheduler (or a restarted one) loses
    ex = RecordingExecutor()
    assert run_pass(store, ex, Slots(cpu_jobs=5)) == [] and ex.starts == []
    store.set_job_pid(queued, _live_pid())
    restarted = RunStore(store.path)  # a new scheduler process opening the same store
    assert run_pass(restarted, ex, Slots(cpu_jobs=5)) == []
    assert restarted.get_job(job_id).status == "queued" and restarted.get_job(job_id).claimed


def test_cancel_a_queued_job_and_stop_a_started_one(store, tmp_path, monkeypatch):
    secrets = login_settings(tmp_path / "s.toml", users={"alice": "pw-1", "bob": "pw-2"})
    monkeypatch.setenv(access.SECRETS_ENV, str(secrets))
    running, queued = job(store), job(store)
    run_pass(store, RecordingExecutor(), Slots())
    with pytest.raises(access.RunPermissionError, match="bob may not cancel"):
        store.cancel_job(queued, user="bob")
    assert store.cancel_job(queued, user="alice") == "cancelled"
    assert store.get_job(queued).status == "cancelled"
    assert store.cancel_job(running, user="alice") == "stop requested"
    assert store.get_job(running).stop_requested
    with pytest.raises(ValueError, match="has already ended"):
        store.cancel_job(queued, user="alice")
    with pytest.raises(ValueError, match="no job nope"):
        store.cancel_job("nope", user="alice")
    assert [j.id for j in store.active_jobs()] == [running]


def test_stop_on_a_waiting_run_cancels_it(tmp_path, monkeypatch):
    monkeypatch.setattr(launcher, "_spawn", lambda *a: None)
    run_id = launcher.launch(launcher.RunConfig(**TINY), tmp_path)
    launcher.stop(run_id, tmp_path)
    run = launcher.open_store(tmp_path).get_run(run_id)
    assert run.status == "cancelled" and run.finished and not run.is_active


def test_launch_starts_at_once_when_a_slot_is_free_else_queues(tmp_path, monkeypatch):
    ex = RecordingExecutor()
    ensured = []
    monkeypatch.setattr(scheduler, "LocalProcessExecutor", lambda: ex)
    monkeypatch.setattr(scheduler, "current_slots", lambda: Slots())
    monkeypatch.setattr(scheduler, "ensure_scheduler", lambda root: ensured.append(root))
    first = launcher.launch(launcher.RunConfig(**TINY), tmp_path, owner="alice")
    store = launcher.open_store(tmp_path)
    assert ex.starts == [(first, None)] and ensured == []
    assert store.get_run(first).pid  # recorded before launch() returned
    assert store.get_run(first).resources == {"gpus": 1, "gpu_indices": None}
    second = launcher.launch(launcher.RunConfig(**TINY), tmp_path, owner="alice")
    assert len(ex.starts) == 1 and ensured == [tmp_path]  # waits; a scheduler will start it
    assert store.get_run(second).status == "queued" and store.get_run(second).claimed is None


def test_queue_report_positions_and_estimated_start(store):
    now = time.time()
    running = store.create_run(dict(TINY, epochs=2), owner="alice")
    waiting = [job(store, owner="bob"), store.create_run(dict(TINY), owner="carol")]
    run_pass(store, RecordingExecutor(), Slots())
    store.mark_started(running, _live_pid())
    with sqlite3.connect(store.path) as db:  # half done after 100 s: 100 s left
        db.execute("UPDATE runs SET started = ? WHERE id = ?", (now - 100, running))
    store.set_progress(running, 1, 0, 10)
    rows = queue_report(store, Slots(), now=now)
    assert [r["id"] for r in rows] == [running, *waiting]
    assert [r["position"] for r in rows] == [0, 1, 2]
    assert [r["status"] for r in rows] == ["running", "queued", "queued"]
    assert [r["owner"] for r in rows] == ["alice", "bob", "carol"]
    assert rows[1]["kind"] == "sleep" and rows[1]["resources"] == {"gpus": 0, "gpu_indices": None}
    assert rows[1]["estimated_start"] == pytest.approx(now + 100, abs=1)
    assert rows[2]["estimated_start"] is None  # nobody knows how long a sleep job takes yet


def test_configured_slots_from_the_environment():
    detected = []

    def detect():
        detected.append(1)
        return [0, 1, 2]

    assert scheduler.configured_slots({}, detect) == Slots((0, 1, 2), 1, 1)
    env = {"TFLAB_GPUS": "1,3", "TFLAB_JOBS_PER_GPU": "2", "TFLAB_CPU_JOBS": "4"}
    assert scheduler.configured_slots(env, detect) == Slots((1, 3), 2, 4)
    assert scheduler.configured_slots({"TFLAB_GPUS": "none"}, detect).gpus == ()
    assert len(detected) == 1  # TFLAB_GPUS replaces detection
    with pytest.raises(ValueError, match="TFLAB_CPU_JOBS must be a whole number >= 1, not 'x'"):
        scheduler.configured_slots({"TFLAB_CPU_JOBS": "x"}, detect)


def test_gpu_detection_without_gpus_is_empty(monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")  # no nvidia-smi
    assert scheduler.detect_gpus() == []


def test_a_legacy_store_opens_with_queue_columns(tmp_path):
    root = tmp_path / "runs"
    shutil.copytree(LEGACY, root)
    store = RunStore(root / "runs.sqlite")
    runs = store.list_runs()
    assert len(runs) == 3 and all(r.kind == "train" and r.resources == {} for r in runs)
    assert store.active_jobs() == []  # finished and interrupted runs are not in the queue
    job_id = job(store)
    assert [j.id for j in store.active_jobs()] == [job_id]
    interrupted = next(r.id for r in runs if r.status == "interrupted")
    store.requeue(interrupted)  # a resumed legacy run queues behind the job
    assert [j.id for j in store.active_jobs()] == [job_id, interrupted]
