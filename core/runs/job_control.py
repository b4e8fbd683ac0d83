"""What a heavy job uses while it works: progress into the store and the stop check.

JobReporter(done, total, message) writes progress (a fraction in [0, 1]) at most every
PROGRESS_EVERY_S seconds (and always at the end) and raises JobStopped once the job's stop flag
is set, so a cancelled job ends "stopped" within about a second of its next step. heartbeat()
beats every second in a daemon thread (the same shape for run workers and job workers).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

PROGRESS_EVERY_S = 0.5
HEARTBEAT_EVERY_S = 1.0


class JobStopped(Exception):
    """Raised inside a job whose stop was requested; the worker records the job as stopped."""


class JobReporter:
    """Progress callback of one job: reporter(done, total, message); raises JobStopped."""

    def __init__(self, store, job_id: str, every_s: float | None = None) -> None:
        self.store = store
        self.job_id = job_id
        self.every_s = PROGRESS_EVERY_S if every_s is None else every_s
        self._last = float("-inf")

    def __call__(self, done: float, total: float, message: str = "") -> None:
        now = time.monotonic()
        if now - self._last < self.every_s and done < total:
            return
        self._last = now
        self.check()
        self.store.job_progress(self.job_id, done / total if total else 0.0, message)

    def stop_requested(self) -> bool:
        job = self.store.get_job(self.job_id)
        return job is None or job.stop_requested

    def check(self) -> None:
        """Raise JobStopped if the job was asked to stop (cancelled, SIGTERM)."""
        if self.stop_requested():
            raise JobStopped(f"job {self.job_id} was stopped")


def heartbeat(beat: Callable[[], None], every_s: float = HEARTBEAT_EVERY_S) -> threading.Event:
    """Call beat() every every_s seconds in a daemon thread until the returned event is set.
    A failing beat (e.g. a busy store) is skipped, never fatal."""
    done = threading.Event()

    def loop() -> None:
        while not done.wait(every_s):
            try:
                beat()
            except Exception:  # noqa: BLE001, S110 - a busy store must not kill the heartbeat
                pass

    threading.Thread(target=loop, daemon=True, name="heartbeat").start()
    return done
