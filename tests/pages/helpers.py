"""Helpers shared by the page tests: pick one AppTest widget by its label; a fake live worker."""

from __future__ import annotations

import contextlib
import os

from core.runs.job_control import heartbeat


def widget(widgets, label: str):
    """The one element of `widgets` (e.g. at.button) labelled `label`; fails unless exactly one."""
    matches = [w for w in widgets if w.label == label]
    assert len(matches) == 1, f"{label!r} among {[w.label for w in widgets]}"
    return matches[0]


@contextlib.contextmanager
def live_worker(store, run_id: str):
    """Mark the run started by this process and beat its heartbeat every 0.5 s like a worker
    until the block ends, so a slow page run (a busy CI machine) never sees it as lost."""
    store.mark_started(run_id, os.getpid())
    done = heartbeat(lambda: store.beat(run_id), every_s=0.5)
    try:
        yield
    finally:
        done.set()
