"""The job queue on the page: a queued run's place, estimated start and Cancel button, and the
table of queued and running jobs on Home. Times are seconds since the epoch."""

from __future__ import annotations

import time

import streamlit as st

from core import access, paths
from core.runs import launcher, scheduler
from core.runs.queue_report import describe_resources, describe_start, queue_report
from core.runs.store import Run, RunStore
from dashboard.login import current_user, run_permission


def render_queue_status(store: RunStore, run: Run) -> None:
    """For a run waiting in the queue: 'position 2 of 3 · starts in about 4 min' and Cancel.
    Nothing for a run that has started or ended."""
    if run.status != "queued":
        return
    rows = queue_report(store, scheduler.current_slots())
    row = next((r for r in rows if r["id"] == run.id), None)
    if row is None:
        return
    if not row["position"]:
        st.caption(f"Starting on {describe_resources(row['resources'], row['devices'])} ...")
        return
    scheduler.ensure_scheduler(paths.runs_dir())  # e.g. after a reboot: someone must start it
    waiting = sum(1 for r in rows if r["position"])
    ahead = [r for r in rows if r["position"] and r["position"] < row["position"]]
    running = sum(1 for r in rows if not r["position"])
    st.info(
        f"Queued: position {row['position']} of {waiting} · {len(ahead)} waiting ahead, "
        f"{running} running · asks for {describe_resources(row['resources'], None)} · "
        f"{describe_start(row)}",
        icon=":material/schedule:",
    )
    allowed, who_may = run_permission(run)
    if st.button(
        "Cancel",
        icon=":material/cancel:",
        key=f"cancel-{run.id}",
        disabled=not allowed,
        help=who_may or "Take this run out of the queue; it never starts.",
    ):
        try:
            outcome = launcher.cancel(run.id, user=current_user())
        except (access.RunPermissionError, ValueError) as err:
            st.error(str(err))
        else:
            st.toast(f"Run {run.id}: {outcome}.")
            st.rerun()


def job_place(store: RunStore, job_id: str) -> str:
    """'position 2 of 3 · starts in about 4 min' of a waiting job ('starting' once taken)."""
    rows = queue_report(store, scheduler.current_slots())
    row = next((r for r in rows if r["id"] == job_id), None)
    if row is None or not row["position"]:
        return "starting ..."
    scheduler.ensure_scheduler(paths.runs_dir())
    waiting = sum(1 for r in rows if r["position"])
    return f"position {row['position']} of {waiting} · {describe_start(row)}"


def queue_rows(store: RunStore, now: float | None = None) -> list[dict]:
    """Rows of the queue table: position, job, kind, status, owner, resources, start."""
    now = time.time() if now is None else now
    return [
        {
            "position": str(r["position"] or "running"),
            "job": r["label"] or r["id"],
            "id": r["id"],
            "kind": r["kind"],
            "status": r["status"],
            "owner": r["owner"] or "-",
            "resources": describe_resources(r["resources"], r["devices"]),
            "start": describe_start(r, now) if r["position"] else "started",
        }
        for r in queue_report(store, scheduler.current_slots(), now)
    ]


def render_queue_table(store: RunStore) -> None:
    """The queued and running jobs of the server (Home), or nothing when the queue is empty."""
    rows = queue_rows(store)
    if not rows:
        return
    waiting = sum(1 for r in rows if r["position"] != "running")  # positions are strings
    st.subheader("Queue")
    st.caption(
        f"{len(rows) - waiting} running, {waiting} waiting; first come first served. "
        "Cancel a queued run from its page, or with `python -m core cancel ID`."
    )
    st.dataframe(rows, hide_index=True)
