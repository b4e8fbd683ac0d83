"""Predict page for picking runs: pick continuous data, export picks, score on labelled windows.

render_picking(run_id, run_dir) is the Predict page's view of runs whose task is "picking".
Its figures come from dashboard/picking_figures.py (arrays in, plotly figures out), so
they are testable without a browser. A record up to 10 min is picked in this process on the CPU,
with a progress bar; a longer one by a queued job in a worker (dashboard/pick_job_view.py).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import streamlit as st

from core.runs.artifacts import MODEL_FILE
from core.seismic.continuous import synthetic_record
from core.seismic.evaluation import evaluate_windows, score_continuous
from core.seismic.export import picks_to_csv, picks_to_quakeml
from core.seismic.obspy_source import read_stream_bytes
from core.seismic.picking import Pick, Picker, PickingError, PickOptions, find_picks
from core.seismic.sources import list_waveform_datasets
from core.tasks.picking import load_splits
from dashboard.pick_job_view import LONG_RECORD_S, render_job_from_url, saved_upload, submit_pick
from dashboard.picking_figures import picking_figure, residual_figure

SYNTHETIC = "Built-in synthetic record"
UPLOAD = "Upload a file"
MAX_TABLE_ROWS = 5000


def pick_rows(picks: list[Pick]) -> list[dict]:
    return [
        {
            "station": p.station,
            "phase": p.phase,
            "time (UTC)": p.time_iso,
            "probability": round(p.probability, 3),
            "sample": p.sample,
        }
        for p in picks[:MAX_TABLE_ROWS]
    ]


# ---- cached work -----------------------------------------------------------------------------
@st.cache_resource(max_entries=2, show_spinner="Loading the picker ...")
def load_picker(run_dir: str, stamp: float):
    """The run's Picker (shared by sessions; stamp = model file mtime, so a new file reloads)."""

    return Picker.from_run(Path(run_dir))


@st.cache_data(max_entries=4, show_spinner="Building the synthetic record ...")
def synthetic_input(minutes: int, seed: int):

    made = synthetic_record(minutes * 60.0, seed=seed)
    return [made.record], {"P": made.itp.tolist(), "S": made.its.tolist()}


@st.cache_data(max_entries=4, show_spinner="Reading the file ...")
def uploaded_input(content: bytes, name: str, rate: float):

    return read_stream_bytes(content, name, target_rate=rate)


# ---- the view --------------------------------------------------------------------------------
def render_picking(run_id: str, run_dir: Path) -> None:
    """Pick continuous data with a picking run, export the picks, or score it on a dataset."""
    model_file = Path(run_dir) / MODEL_FILE
    try:
        picker = load_picker(str(run_dir), model_file.stat().st_mtime)
    except (PickingError, OSError) as err:
        st.error(str(err))
        return
    meta = picker.meta
    st.caption(
        f"Phase picker **{meta.get('model', '?')}** trained on `{picker.dataset}`: windows of "
        f"{picker.window} samples at {picker.sampling_rate:g} Hz, labels "
        f"{meta.get('label_shape', '?')} (width {meta.get('label_width', '?')} samples)."
    )
    pick_tab, eval_tab = st.tabs(["Pick continuous data", "Evaluate on labelled windows"])
    with pick_tab:
        _pick_view(run_id, picker)
    with eval_tab:
        _evaluate_view(picker)


def _options(prefix: str) -> PickOptions:
    a, b, c = st.columns(3)
    p = a.slider("P threshold", 0.05, 1.0, 0.3, 0.05, key=f"{prefix}-p")
    s = b.slider("S threshold", 0.05, 1.0, 0.3, 0.05, key=f"{prefix}-s")
    dist = c.number_input("Min distance (s)", 0.0, 60.0, 0.5, 0.1, key=f"{prefix}-dist")
    a, b, c = st.columns(3)
    overlap = a.slider("Window overlap", 0.0, 0.9, 0.5, 0.05, key=f"{prefix}-overlap")
    batch = b.select_slider("Batch size", [8, 16, 32, 64, 128, 256], 64, key=f"{prefix}-batch")
    stacking = c.radio("Stacking", ["avg", "max"], horizontal=True, key=f"{prefix}-stack")
    return PickOptions(p, s, float(dist), float(overlap), int(batch), stacking)


def _choose_records(picker):
    """(records, true picks or None, key, (job source spec, files)) from the synthetic record
    or an upload."""
    source = st.radio("Data", [SYNTHETIC, UPLOAD], horizontal=True, key="pk-source")
    if source == SYNTHETIC:
        a, b = st.columns(2)
        minutes = int(a.number_input("Minutes", 1, 1440, 10, key="pk-minutes"))
        seed = int(b.number_input("Seed", 0, 10_000, 0, key="pk-seed"))
        records, truth = synthetic_input(minutes, seed)
        spec = ({"synthetic": {"minutes": minutes, "seed": seed}}, {})
        return records, truth, f"synthetic-{minutes}-{seed}", spec
    upload = st.file_uploader("A waveform file (MiniSEED, SAC, GSE2, SEG-Y, ...)", key="pk-file")
    if upload is None:
        return None, None, None, None
    content = upload.getvalue()
    try:
        records = uploaded_input(content, upload.name, picker.sampling_rate)
    except ValueError as err:
        st.error(str(err))
        return None, None, None, None
    spec = saved_upload(upload.name, content, picker.sampling_rate)
    return records, None, hashlib.sha256(content).hexdigest()[:16], spec


def _pick_view(run_id: str, picker) -> None:
    def show_job_result(record, result, truth):
        _show_result(run_id, picker, record, result, _options("pk"), truth)

    if render_job_from_url(run_id, synthetic_input, show_job_result):  # ?job=<id>
        return
    records, truth, key, spec = _choose_records(picker)
    if not records:
        return
    labels = [f"{r.station} · {r.duration_s / 60:,.1f} min" for r in records]
    k = st.selectbox("Record", range(len(records)), format_func=labels.__getitem__, key="pk-rec")
    record = records[k]
    for note in record.notes:
        st.caption(note)
    options = _options("pk")
    wanted = (run_id, key, k, options.overlap, options.batch_size, options.stacking)
    state = st.session_state.get("pk-result")
    if record.duration_s > LONG_RECORD_S:  # a long record: a worker picks it, not the page
        st.caption(f"Records over {LONG_RECORD_S / 60:g} min are picked by a background job.")
        if st.button("Pick", type="primary", key="pk-run"):
            submit_pick(run_id, spec[0], k, options, spec[1])
            st.rerun()
        return
    if st.button("Pick", type="primary", key="pk-run") or (state and state["key"] != wanted):
        bar = st.progress(0.0, text="Picking ...")

        def progress(done, total):
            bar.progress(done / total, text=f"Picking: window {done:,} of {total:,}")

        try:
            result = picker.pick_record(record, options, progress)
        except PickingError as err:
            st.error(str(err))
            return
        bar.empty()
        state = {"key": wanted, "result": result}
        st.session_state["pk-result"] = state
    if not state or state["key"] != wanted:
        st.info("Press **Pick** to run the picker on this record.")
        return
    _show_result(run_id, picker, record, state["result"], options, truth)


def _show_result(run_id, picker, record, result, options, truth) -> None:

    picks = find_picks(  # thresholds and distance re-pick the stored probabilities instantly
        result.probabilities,
        result.sampling_rate,
        result.start_time,
        options,
        record.station,
        tuple(record.channels),
    )
    n_p, n_s = sum(p.phase == "P" for p in picks), sum(p.phase == "S" for p in picks)
    st.write(
        f"**{n_p}** P and **{n_s}** S picks · {result.windows:,} windows in {result.seconds:.1f} s"
    )
    if truth is not None:
        _truth_summary(picks, truth, result.sampling_rate)
    duration = len(result.probabilities) / result.sampling_rate
    view = None
    if duration > 120:
        view = st.slider(
            "Time shown (s after the start)", 0.0, duration, (0.0, duration), key="pk-view"
        )
    fig = picking_figure(
        record.data,
        result.probabilities,
        result.sampling_rate,
        result.start_time,
        picks,
        truth,
        tuple(record.channels),
        view,
    )
    st.plotly_chart(fig, key="pk-figure")
    st.dataframe(pick_rows(picks), hide_index=True)
    a, b = st.columns(2)
    name = record.station.replace(".", "_") or "record"
    a.download_button("Picks as CSV", picks_to_csv(picks), f"picks_{name}.csv", "text/csv")
    b.download_button(
        "Picks as QuakeML",
        picks_to_quakeml(picks, None, str(picker.meta.get("model", "")), run_id),
        f"picks_{name}.xml",
        "application/xml",
    )


def _truth_summary(picks, truth, rate, tolerance_s: float = 0.5) -> None:
    """Recall and false picks against the synthetic record's true arrivals."""

    scores = score_continuous(picks, truth, rate, tolerance_s)
    for col, score in zip(st.columns(2), scores, strict=False):
        col.metric(
            f"{score.phase}: true arrivals with a pick within {tolerance_s:g} s",
            f"{score.recall:.0%} of {score.true_arrivals}",
            f"{score.far_picks} picks far from any true {score.phase}",
            delta_color="off",
            delta_arrow="off",
        )


def _evaluate_view(picker) -> None:

    names = list(dict.fromkeys([picker.dataset, *(i.name for i in list_waveform_datasets())]))
    a, b = st.columns([2, 1])
    name = a.selectbox("Labelled dataset", names, key="ev-dataset")
    split = b.selectbox("Split", ["test", "validation", "train"], key="ev-split")
    options = _options("ev")
    if not st.button("Evaluate", key="ev-run"):
        report = st.session_state.get("ev-report")
        if not report or report[0] != (name, split, picker.dataset, repr(options)):
            return
        report = report[1]
    else:
        report = _evaluate(picker, name, split, options)
        if report is None:
            return
        st.session_state["ev-report"] = ((name, split, picker.dataset, repr(options)), report)
    st.write(f"{report.dataset}: {report.windows} windows in {report.seconds:.1f} s")
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
    residuals = {p: report.score(p, 0.5).residuals_s for p in ("P", "S")}
    st.plotly_chart(residual_figure(residuals, 0.5), key="ev-residuals")


def _evaluate(picker, name: str, split: str, options: PickOptions):

    try:
        train, val, test, rate = load_splits(name)
        if abs(rate - picker.sampling_rate) > 1e-6 * rate:
            raise PickingError(
                f"{name} is sampled at {rate:g} Hz, the model at {picker.sampling_rate:g} Hz"
            )
        windows = {"train": train, "validation": val, "test": test}[split]
        bar = st.progress(0.0, text="Evaluating ...")
        report = evaluate_windows(
            picker.predict,
            windows,
            picker.window,
            options,
            (0.1, 0.5),
            f"{name} ({split})",
            lambda done, total: bar.progress(done / total, text=f"window {done} of {total}"),
        )
        bar.empty()
        return report
    except ValueError as err:
        st.error(str(err))
        return None
