"""The run panel's heading (status badge, health warnings) and its "Continue for N more epochs".

A continuation is a new run (core.runs.continue_run) from the old run's weights and optimizer
state; only the old run's owner or an admin may start one.
"""

from __future__ import annotations

import streamlit as st

from core import paths
from core.runs.continue_run import CHECKPOINT, CONTINUABLE, continue_run
from core.runs.queries import run_warnings
from core.runs.store import Run, RunStore
from dashboard.login import current_user, run_permission
from dashboard.widgets import status_label


def render_heading(store: RunStore, run: Run) -> None:
    """The run's name and status; a finished run with health warnings gets a warning badge
    instead of a check, and each warning (what went wrong, what to try) in a box."""
    warnings = [] if run.is_active else run_warnings(store, [run.id]).get(run.id, [])
    st.subheader(f"{run.name or run.id}  ·  {status_label(run.status, warned=bool(warnings))}")
    for message in warnings:
        st.warning(message, icon=":material/warning:")


def render_continue(run: Run) -> None:
    """Epochs field and button for a succeeded or stopped run that kept a checkpoint."""
    if run.status not in CONTINUABLE:
        return
    if not (paths.run_dir(run.id) / CHECKPOINT).is_file():
        st.caption("This run kept no checkpoint (it predates them): clone it to train again.")
        return
    allowed, who_may = run_permission(run)
    epochs_col, button_col = st.columns([1, 2], vertical_alignment="bottom")
    epochs = epochs_col.number_input(
        "More epochs", min_value=1, max_value=1000, value=5, step=1, key=f"more-{run.id}"
    )
    if button_col.button(
        f"Continue for {int(epochs)} more epochs",
        icon=":material/fast_forward:",
        key=f"continue-{run.id}",
        disabled=not allowed,
        help=who_may or "a new run that starts from this run's weights and optimizer state",
    ):
        try:
            new_id = continue_run(run.id, int(epochs), user=current_user())
        except (PermissionError, ValueError, OSError) as err:
            st.error(f"Could not continue the run: {err}")
            return
        st.query_params["run"] = new_id
        st.toast(f"Started run {new_id}: {run.id} for {int(epochs)} more epochs.")
        st.rerun(scope="app")
