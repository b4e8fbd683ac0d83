""" "Pick this file": the Data page hands an uploaded waveform file to the Predict page.

The file's bytes and name go into the session (dashboard.waveform_predict.HANDOVER); the
Predict page opens with the newest finished picking run and offers the file as its data.
"""

from __future__ import annotations

import streamlit as st

from core import paths
from core.runs.queries import runs_with_models
from core.tasks.picker_summary import is_picker_model
from dashboard.waveform_predict import HANDOVER, HANDOVER_NEW
from dashboard.widgets import get_store, page_path


def pick_this_file(name: str, content: bytes) -> None:
    """A "Pick this file" button (or why there is none: no picking run yet)."""
    runs = [r for r in runs_with_models(get_store(), paths.runs_dir()) if is_picker_model(r.model)]
    if not runs:
        st.caption(
            "To pick P and S arrivals in this file, train a picker on the Train page or import "
            "PhaseNet's published model on the Predict page first."
        )
        return
    if st.button("Pick this file", icon=":material/search:", key="wf-file-pick"):
        st.session_state[HANDOVER] = {"name": name, "content": content}
        st.session_state[HANDOVER_NEW] = True
        st.switch_page(page_path("predict"), query_params={"run": runs[0].id})
    st.caption(f"Opens the Predict page with the newest picking run ({runs[0].id}).")
