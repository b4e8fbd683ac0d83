"""tests/leftover_processes.py: a scheduler left on the test's runs folder is ended, one on
another folder is not."""

from __future__ import annotations

import subprocess
import sys

from core.paths import REPO_ROOT
from core.runs.store import RunStore, pid_alive
from tests.conftest import wait_until
from tests.leftover_processes import end_leftovers, leftover_pids


def scheduler_on(runs):
    runs.mkdir(parents=True)
    RunStore(runs / "runs.sqlite")
    command = [sys.executable, "-m", "core.runs.scheduler", "--runs-dir", str(runs)]
    return subprocess.Popen(command, cwd=REPO_ROOT, start_new_session=True)


def test_only_the_folders_own_schedulers_are_ended(tmp_path, tmp_path_factory):
    mine = scheduler_on(tmp_path / "runs")
    other = scheduler_on(tmp_path_factory.mktemp("elsewhere") / "runs")
    try:
        wait_until(lambda: mine.pid in leftover_pids(tmp_path), timeout=30, every=0.05)
        assert other.pid not in leftover_pids(tmp_path)
        assert end_leftovers(tmp_path) == [mine.pid]
        assert mine.wait(10) is not None and pid_alive(other.pid)
        assert end_leftovers(tmp_path) == []  # nothing left the second time
    finally:
        for proc in (mine, other):
            proc.kill()
            proc.wait(10)
