"""The Predict page's "Evaluate on labelled windows" tab for a picker run.

Windows are predicted once per (dataset, split, overlap, batch, stacking); moving a threshold
re-scores the stored probabilities ((samples, 3) per window) without predicting again. Shows P/S
F1, precision and recall at 0.1 s and 0.5 s, the residuals and precision/recall against the
threshold; the latest evaluation is kept in the run folder (core.tasks.picker_summary), so the
runs tables can show it for runs without validation scores (imported ones).
"""

from __future__ import annotations

import time
from pathlib import Path

import streamlit as st

from core.seismic.picking import PickingError
from core.tasks.evaluate_images import SPLITS, default_split
from core.tasks.pick_scores import evaluate_probabilities, threshold_curve, window_probabilities
from core.tasks.picker_summary import (
    evaluation_dataset,
    evaluation_windows,
    local_picking_datasets,
    save_evaluation,
)
from dashboard.pick_options_view import EVALUATED_CURVE, pick_options, threshold_chart
from dashboard.picking_figures import residual_figure

PROBS = "ev-probs"  # session key: (what was predicted, probabilities, windows, rate, seconds)


def render_evaluate(run_id: str, run_dir: Path, picker) -> None:
    """Choose a local labelled dataset and split, evaluate, show the scores."""
    own = picker.dataset
    default, note = evaluation_dataset(own)
    names = list(dict.fromkeys([default, *local_picking_datasets()]))
    if note:
        st.caption(f"This run's own dataset cannot be used: {note}.")
    a, b = st.columns([2, 1])
    name = a.selectbox("Labelled dataset", names, key="ev-dataset")
    split_default = default_split(own, name)
    split = b.selectbox("Split", SPLITS, index=SPLITS.index(split_default), key=f"ev-split-{name}")
    options = pick_options("ev", run_id, picker.meta)
    wanted = (run_id, name, split, options.overlap, options.batch_size, options.stacking)
    stored = st.session_state.get(PROBS)
    if st.button("Evaluate", key="ev-run"):
        stored = _predict(picker, name, split, options, wanted)
        if stored is None:
            return
        st.session_state[PROBS] = stored
    if not stored or stored[0] != wanted:
        st.info("Press **Evaluate** to pick every window of this split and score the picks.")
        return
    _, probs, windows, rate, seconds = stored
    label = f"{name} ({split})"
    report = evaluate_probabilities(probs, windows, rate, options, (0.1, 0.5), label, seconds)
    if st.session_state.get("ev-saved") != (wanted, repr(options)):
        save_evaluation(run_dir, report, own)  # the runs tables show it for imported runs
        st.session_state["ev-saved"] = (wanted, repr(options))
    st.write(f"{report.dataset}: {report.windows} windows predicted in {report.seconds:.1f} s")
    cols = st.columns(4)
    for col, (phase, tol) in zip(
        cols, [("P", 0.1), ("S", 0.1), ("P", 0.5), ("S", 0.5)], strict=True
    ):
        s = report.score(phase, tol)
        col.metric(
            f"{phase} F1 at {tol:g} s",
            f"{s.f1:.3f}",
            f"P {s.precision:.2f} · R {s.recall:.2f}",
            delta_color="off",
            delta_arrow="off",
        )
    st.dataframe(report.rows(), hide_index=True)
    left, right = st.columns(2)
    with left:
        residuals = {p: report.score(p, 0.5).residuals_s for p in ("P", "S")}
        st.plotly_chart(residual_figure(residuals, 0.5), key="ev-residuals")
    with right:
        threshold_chart(run_id, picker.meta, options, key="ev-thresholds")


def _predict(picker, name: str, split: str, options, wanted: tuple):
    """(wanted, probabilities, windows, rate, seconds) of one split, or None after a message."""
    try:
        windows, rate = evaluation_windows(name, split)
        if abs(rate - picker.sampling_rate) > 1e-6 * rate:
            raise PickingError(
                f"{name} is sampled at {rate:g} Hz, the model at {picker.sampling_rate:g} Hz"
            )
        if len(windows) == 0:
            raise PickingError(f"{name} has no {split} windows to evaluate")
        options.validate()
        bar = st.progress(0.0, text="Evaluating ...")
        began = time.perf_counter()
        probs = window_probabilities(
            picker.predict,
            windows,
            picker.window,
            options,
            lambda done, total: bar.progress(done / total, text=f"window {done} of {total}"),
        )
        seconds = time.perf_counter() - began
        bar.empty()
    except ValueError as err:
        st.error(str(err))
        return None
    curve = threshold_curve(probs, windows, rate)
    st.session_state[EVALUATED_CURVE] = (wanted[0], f"{name} ({split})", curve)
    return wanted, probs, windows, rate, seconds
