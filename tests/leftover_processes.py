"""Processes a test left behind: schedulers, run workers and job workers (`python -m
core.runs.{scheduler,worker,job_worker} --runs-dir DIR`) whose runs folder lies in the test's own
tmp_path. tests/conftest.py ends them when the test is over, so that a run a page test queued
(e.g. through the queue view's ensure_scheduler) does not train on, at full size, next to the
tests that follow. Paths are absolute; nothing outside the given folder is touched.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from pathlib import Path

MODULES = ("core.runs.scheduler", "core.runs.worker", "core.runs.job_worker")
STORE_GLOBS = ("runs.sqlite", "*/runs.sqlite", "*/*/runs.sqlite")


def may_have_workers(folder: Path) -> bool:
    """Cheap first check: a worker or scheduler needs a runs.sqlite in its runs folder."""
    return any(next(folder.glob(pattern), None) for pattern in STORE_GLOBS)


def _command(pid: int) -> list[str]:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
    except OSError:
        return []


def _runs_dir_within(argv: list[str], folder: Path) -> bool:
    if "-m" not in argv or "--runs-dir" not in argv:
        return False
    module = argv[argv.index("-m") + 1] if argv.index("-m") + 1 < len(argv) else ""
    runs = argv.index("--runs-dir") + 1
    return module in MODULES and runs < len(argv) and Path(argv[runs]).is_relative_to(folder)


def leftover_pids(folder: Path) -> list[int]:
    """Pids of our schedulers and workers whose --runs-dir is inside `folder`."""
    own = os.getuid()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            if entry.stat().st_uid != own:
                continue
            if _runs_dir_within(_command(int(entry.name)), folder):
                found.append(int(entry.name))
    return found


def end_leftovers(folder: Path, wait_s: float = 5.0) -> list[int]:
    """SIGKILL (their process group when they lead one) every leftover of `folder`; wait until
    they are gone. Returns the pids that were ended."""
    folder = folder.resolve()
    pids = leftover_pids(folder) if may_have_workers(folder) else []
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            if os.getpgid(pid) == pid:
                os.killpg(pid, signal.SIGKILL)
            else:
                os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + wait_s
    while (
        pids
        and time.monotonic() < deadline
        and any(_runs_dir_within(_command(pid), folder) for pid in pids)
    ):
        time.sleep(0.05)
    return pids
