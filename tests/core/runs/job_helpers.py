"""Helpers for running heavy jobs in-process through core.runs.job_worker.run_job: a store that
asks a job to stop right after its first progress report (so the job's loop must notice)."""

from __future__ import annotations

from pathlib import Path

from core.access import os_user
from core.runs.job_worker import run_job
from core.runs.store import RunStore


class CancelOnFirstProgress(RunStore):
    """A RunStore whose first job_progress is followed by the owner's cancel (stop request)."""

    cancelled: list[str]

    def job_progress(self, job_id: str, fraction: float, message: str = "") -> None:
        super().job_progress(job_id, fraction, message)
        if not getattr(self, "cancelled", None):
            self.cancelled = [self.cancel_job(job_id, user=os_user())]


def run_in_process(store: RunStore, kind: str, params: dict) -> tuple[str, dict, Path]:
    """Create a job owned by the OS user, run it to its end here; (id, outcome, folder)."""
    job_id = store.create_job(kind, params, owner=os_user())
    folder = store.path.parent / "jobs" / job_id
    run_job(store, job_id, folder)
    return job_id, store.job_outcome(job_id), folder
