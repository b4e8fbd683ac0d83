"""core.runs.store: lost workers. A dead pid is lost at once; a live process on this machine
after LIVE_PID_TIMEOUT_S without a heartbeat; a worker with no pid after the timeout (s)."""

from __future__ import annotations

import os
import time

import pytest

from core.runs.store import LIVE_PID_TIMEOUT_S, RunStore, pid_alive
from tests.core.runs.test_store import CONFIG, dead_pid, no_login, set_heartbeat  # noqa: F401


@pytest.fixture
def store(tmp_path) -> RunStore:
    return RunStore(tmp_path / "runs.sqlite")


def test_pid_alive():
    assert pid_alive(os.getpid())
    assert not pid_alive(dead_pid())


def test_mark_lost_runs(store):
    dead = store.create_run(CONFIG)
    store.mark_started(dead, dead_pid())  # fresh heartbeat, but the process is gone
    stale = store.create_run(CONFIG)
    store.mark_started(stale, os.getpid())  # live process, but no heartbeat for two minutes
    set_heartbeat(store, stale, time.time() - 120)
    live = store.create_run(CONFIG)
    store.mark_started(live, os.getpid())  # live process, fresh heartbeat
    queued = store.create_run(CONFIG)  # waiting for its worker, created just now
    finished = store.create_run(CONFIG)
    store.mark_started(finished, dead_pid())
    store.set_status(finished, "succeeded")

    assert sorted(store.mark_lost_runs()) == sorted([dead, stale])
    for run_id in (dead, stale):
        run = store.get_run(run_id)
        assert run.status == "interrupted"
        assert run.finished is not None
        assert "killed or crashed" in run.error
        assert any("worker lost" in e["message"] for e in store.events(run_id))
    assert store.get_run(live).status == "running"
    assert store.get_run(queued).status == "queued"
    assert store.get_run(finished).status == "succeeded"
    assert store.mark_lost_runs() == []  # idempotent


def test_mark_lost_runs_with_a_clock_and_timeout(store):
    run_id = store.create_run(CONFIG)
    store.mark_started(run_id, None)  # no pid to look at (a worker elsewhere): the timeout
    assert store.mark_lost_runs(now=time.time() + 3, timeout=5) == []
    assert store.mark_lost_runs(now=time.time() + 10, timeout=5) == [run_id]


def test_a_live_worker_that_missed_beats_for_seconds_is_not_lost(store):
    """A busy server stalls a worker's heartbeat thread for seconds (loading TensorFlow's
    libraries): while its process exists it gets LIVE_PID_TIMEOUT_S, not the 5 s timeout."""
    run_id = store.create_run(CONFIG)
    store.mark_started(run_id, os.getpid())
    assert store.mark_lost_runs(now=time.time() + 10, timeout=5) == []
    assert store.mark_lost_runs(now=time.time() + LIVE_PID_TIMEOUT_S - 5) == []
    assert store.mark_lost_runs(now=time.time() + LIVE_PID_TIMEOUT_S + 5) == [run_id]


def test_queued_run_whose_worker_never_started_is_lost_after_the_timeout(store):
    waiting = store.create_run(CONFIG)  # waiting in the queue: never lost, however long
    run_id = store.create_run(CONFIG)
    (job,) = [j for j in store.active_jobs() if j.id == run_id]
    assert store.claim_job(job, [])  # a scheduler took it, but its worker never started
    assert store.mark_lost_runs() == []
    assert store.mark_lost_runs(now=time.time() + 60) == [run_id]
    assert store.get_run(waiting).status == "queued"
