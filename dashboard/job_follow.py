"""Following one heavy job on a page: its place in the queue, its progress (a fraction in
[0, 1] with the worker's message), its end state, and a Cancel button for its owner or an
admin. While the job can still change it is redrawn by a fragment every second; the whole page
is redrawn once when it ends, so the result appears without a reload."""

from __future__ import annotations

import streamlit as st

from core.runs import launcher
from core.runs.store import RunStore
from dashboard.login import current_user
from dashboard.queue_view import job_place

ACTIVE = ("queued", "running")


def follow_job(store: RunStore, job_id: str, doing: str, what: str, starting: str) -> dict:
    """Draw the job's state (polling while active) and return its outcome.

    doing: "Picking" (before the progress text); what: "picking job" (in end messages);
    starting: the progress text before the worker's first message.
    """
    status = (store.job_outcome(job_id) or {}).get("status")
    if status in ACTIVE:
        st.fragment(_follow, run_every=1.0)(store, job_id, doing, what, starting, polling=True)
    else:
        _follow(store, job_id, doing, what, starting)
    return store.job_outcome(job_id) or {}


def _follow(
    store: RunStore, job_id: str, doing: str, what: str, starting: str, polling: bool = False
) -> None:
    store.mark_lost_runs()
    outcome = store.job_outcome(job_id) or {"status": "missing", "error": ""}
    status = outcome["status"]
    if status == "queued":
        st.info(f"Waiting in the queue: {job_place(store, job_id)}", icon=":material/schedule:")
        cancel_button(job_id)
    elif status == "running":
        st.progress(outcome["progress"], text=f"{doing}: {outcome['message'] or starting}")
        cancel_button(job_id)
    elif status == "failed":
        st.error(f"The {what} failed: {outcome['error']}")
    elif status != "succeeded":
        st.warning(f"The {what} ended: {status}. {outcome['error'] or ''}".strip())
    if polling and status not in ACTIVE:
        st.rerun()  # the job just ended: the whole page draws its result, without a timer


def cancel_button(job_id: str) -> None:
    """Cancel a waiting job or stop a running one (its owner or an admin only)."""
    if st.button("Cancel", key=f"cancel-job-{job_id}", icon=":material/cancel:"):
        try:
            outcome = launcher.cancel(job_id, user=current_user())
        except (PermissionError, ValueError) as err:
            st.error(str(err))
        else:
            st.toast(f"Job {job_id}: {outcome}.")
