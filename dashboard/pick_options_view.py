"""The Predict page's pick options for a picker run and the chart that helps choose thresholds.

pick_options(prefix, run_id, meta) draws thresholds (probabilities in (0, 1]), min distance (s),
overlap, batch size and stacking; the thresholds start at the run's saved best-F1 ones
(core.tasks.pick_scores.saved_options) whenever another run is chosen, and a caption says where
they came from. threshold_chart(...) draws precision and recall against the threshold from the
run's validation windows (model.json) or from the windows just evaluated on the page.
"""

from __future__ import annotations

import streamlit as st

from core.seismic.picking import PickOptions
from core.tasks.pick_scores import saved_options, threshold_origin
from dashboard.picking_figures import threshold_figure

EVALUATED_CURVE = "ev-curve"  # session key: (run id, dataset label, threshold curve)


def pick_options(prefix: str, run_id: str, meta: dict) -> PickOptions:
    """The options widgets; thresholds reset to the run's defaults when the run changes."""
    defaults = saved_options(meta)
    marker = f"{prefix}-thresholds-of"
    if st.session_state.get(marker) != run_id:
        st.session_state[f"{prefix}-p"] = round(defaults.p_threshold, 2)
        st.session_state[f"{prefix}-s"] = round(defaults.s_threshold, 2)
        st.session_state[marker] = run_id
    a, b, c = st.columns(3)
    p = a.slider("P threshold", 0.05, 1.0, step=0.05, key=f"{prefix}-p")
    s = b.slider("S threshold", 0.05, 1.0, step=0.05, key=f"{prefix}-s")
    dist = c.number_input("Min distance (s)", 0.0, 60.0, 0.5, 0.1, key=f"{prefix}-dist")
    st.caption(
        f"Default P threshold: {threshold_origin(meta, 'P')}. "
        f"Default S threshold: {threshold_origin(meta, 'S')}."
    )
    a, b, c = st.columns(3)
    overlap = a.slider("Window overlap", 0.0, 0.9, 0.5, 0.05, key=f"{prefix}-overlap")
    batch = b.select_slider("Batch size", [8, 16, 32, 64, 128, 256], 64, key=f"{prefix}-batch")
    stacking = c.radio("Stacking", ["avg", "max"], horizontal=True, key=f"{prefix}-stack")
    return PickOptions(float(p), float(s), float(dist), float(overlap), int(batch), stacking)


def threshold_chart(run_id: str, meta: dict, options: PickOptions, key: str) -> None:
    """Precision and recall against the threshold, with the chosen thresholds marked: from the
    windows evaluated on this page (when this run was evaluated), else the run's validation."""
    evaluated = st.session_state.get(EVALUATED_CURVE)
    saved = meta.get("thresholds") or {}
    if evaluated and evaluated[0] == run_id:
        curve, where = evaluated[2], f"the evaluated windows of {evaluated[1]}"
    elif saved.get("curve"):
        n = saved.get("windows")
        curve = saved["curve"]
        where = f"this run's {n} validation windows" if n else "this run's validation windows"
    else:
        st.caption(
            "This run saved no precision/recall curve (it was imported, or trained before runs "
            "kept one). Evaluate it on labelled windows (the next tab) to draw it here."
        )
        return
    title = "Precision and recall against the threshold"
    st.plotly_chart(
        threshold_figure(curve, options.p_threshold, options.s_threshold, title), key=key
    )
    st.caption(
        f"On {where}, picks within {saved.get('tolerance_s', 0.5):g} s. A higher threshold makes "
        "fewer picks: precision rises (fewer false picks), recall falls (more arrivals missed). "
        "The best F1 balances the two."
    )
