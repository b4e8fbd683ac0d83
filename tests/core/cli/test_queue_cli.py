"""`python -m core queue --json`, `cancel ID` and `scheduler` as a user runs them."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

from core.paths import REPO_ROOT
from core.runs import scheduler
from core.runs.store import RunStore
from tests.conftest import TINY, wait_until


def cli(*args: str, runs_dir, user: str = "alice", timeout: float = 60):
    env = dict(os.environ, TFLAB_RUNS_DIR=str(runs_dir), TFLAB_GPUS="none", USER=user)
    env["LOGNAME"] = user
    return subprocess.run(
        [sys.executable, "-m", "core", *args],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.fixture
def runs(tmp_path):
    """A runs folder with one running run (this test's pid holds the CPU slot), a queued heavy
    job and a queued run; any scheduler `queue` starts ends with the test."""
    store = RunStore(tmp_path / "runs.sqlite")
    running = store.create_run(dict(TINY), "ahead", owner="alice")
    (job,) = store.active_jobs()
    store.claim_job(job, [])
    store.mark_started(running, os.getpid())
    with sqlite3.connect(store.path) as db:  # a worker that beats for the whole test
        db.execute("UPDATE runs SET heartbeat = ? WHERE id = ?", (time.time() + 3600, running))
    waiting = store.create_job("sleep", {"seconds": 30}, owner="alice", resources={"gpus": 2})
    other = store.create_run(dict(TINY), "mine too", owner="bob")
    yield tmp_path, store, running, waiting, other
    end_processes_of(tmp_path)


def end_processes_of(folder) -> None:
    """SIGKILL schedulers and workers of this test's runs folder (found by command line)."""
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            args = open(f"/proc/{entry}/cmdline", "rb").read().decode().split("\0")
        except OSError:
            continue
        if str(folder) in args and any(a.startswith("core.runs.") for a in args):
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(entry), signal.SIGKILL)


def test_queue_json_lists_jobs_first_come_first_served(runs):
    root, store, running, waiting, other = runs
    proc = cli("queue", "--json", runs_dir=root)
    assert proc.returncode == 0, proc.stderr
    rows = json.loads(proc.stdout)
    assert [r["id"] for r in rows] == [running, waiting, other]
    assert {"id", "kind", "status", "position", "owner", "resources", "estimated_start"} <= set(
        rows[0]
    )
    assert [r["kind"] for r in rows] == ["train", "sleep", "train"]
    assert [r["status"] for r in rows] == ["running", "queued", "queued"]
    assert [r["position"] for r in rows] == [0, 1, 2]
    assert [r["owner"] for r in rows] == ["alice", "alice", "bob"]
    assert rows[1]["resources"] == {"gpus": 2}
    assert rows[0]["estimated_start"] == store.get_run(running).started
    assert rows[1]["estimated_start"] is None  # no progress ahead yet, no history
    # jobs wait: `queue` made sure a scheduler runs
    wait_until(lambda: scheduler.scheduler_running(root), timeout=30)


def test_queue_table_and_cancel(runs):
    root, store, running, waiting, other = runs
    table = cli("queue", runs_dir=root)
    assert table.returncode == 0, table.stderr
    lines = table.stdout.splitlines()
    assert len(lines) == 3 and waiting in lines[1] and lines[1].strip().startswith("#1")
    assert "2 GPUs (any free; CPU without GPUs)" in lines[1]

    done = cli("cancel", waiting, "--json", runs_dir=root)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"id": waiting, "outcome": "cancelled"}
    assert store.get_job(waiting).status == "cancelled"
    stop = cli("cancel", running, runs_dir=root)
    assert stop.stdout.strip() == f"{running}: stop requested" and store.stop_requested(running)
    again = cli("cancel", waiting, runs_dir=root)
    assert again.returncode == 2 and "has already ended (cancelled)" in again.stderr
    assert "Traceback" not in again.stderr
    missing = cli("cancel", "nope", runs_dir=root)
    assert missing.returncode == 2 and missing.stderr.strip() == "error: no job nope"


def test_scheduler_command_in_the_foreground(runs):
    root, store, running, waiting, other = runs
    store.cancel_job(waiting, user="alice")
    store.cancel_job(other, user="bob")
    proc = cli("scheduler", "--idle-exit", "0.5", runs_dir=root)  # nothing waits: it ends
    assert proc.returncode == 0, proc.stderr
    assert "nothing queued for 0.5 s: scheduler ends" in proc.stdout
    assert f"for {root}: Slots(gpus=(), jobs_per_gpu=1, cpu_jobs=1)" in proc.stdout
