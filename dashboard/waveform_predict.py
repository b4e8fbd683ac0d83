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
from core.seismic.evaluation import score_continuous
from core.seismic.export import picks_to_csv, picks_to_quakeml
from core.seismic.obspy_source import read_stream_bytes
from core.seismic.picking import Pick, Picker, PickingError, find_picks
from dashboard.pick_job_view import LONG_RECORD_S, render_job_from_url, saved_upload, submit_pick
from dashboard.pick_options_view import pick_options, threshold_chart
from dashboard.picking_evaluate_view import render_evaluate
from dashboard.picking_figures import picking_figure

SYNTHETIC = "Built-in synthetic record"
UPLOAD = "Upload a file"
MAX_TABLE_ROWS = 5000
HANDOVER = "pk-handover"  # {"name", "content"}: a file the Data page sent ("Pick this file")
HANDOVER_NEW = "pk-handover-new"  # True once, so the radio switches to it on arrival


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
    trained = (
        f"imported: {picker.dataset}" if meta.get("imported") else f"trained on `{picker.dataset}`"
    )
    st.caption(
        f"Phase picker **{meta.get('model', '?')}** ({trained}): windows of "
        f"{picker.window} samples at {picker.sampling_rate:g} Hz, labels "
        f"{meta.get('label_shape', '?')} (width {meta.get('label_width', '?')} samples)."
    )
    pick_tab, eval_tab = st.tabs(["Pick continuous data", "Evaluate on labelled windows"])
    with pick_tab:
        _pick_view(run_id, picker)
    with eval_tab:
        render_evaluate(run_id, Path(run_dir), picker)


def _choose_records(picker):
    """(records, true picks or None, key, (job source spec, files)) from the synthetic record
    or an upload."""
    handed = st.session_state.get(HANDOVER)  # "Pick this file" on the Data page
    choices = [SYNTHETIC, UPLOAD]
    if handed:
        choices.append(f"{handed['name']} (from the Data page)")
        if st.session_state.pop(HANDOVER_NEW, False):
            st.session_state["pk-source"] = choices[-1]
    source = st.radio("Data", choices, horizontal=True, key="pk-source")
    if handed and source == choices[-1]:
        return _records_of(picker, handed["name"], handed["content"])
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
    return _records_of(picker, upload.name, upload.getvalue())


def _records_of(picker, name: str, content: bytes):
    """What _choose_records returns for a file's bytes (None values after a message)."""
    try:
        records = uploaded_input(content, name, picker.sampling_rate)
    except ValueError as err:
        st.error(str(err))
        return None, None, None, None
    spec = saved_upload(name, content, picker.sampling_rate)
    return records, None, hashlib.sha256(content).hexdigest()[:16], spec


def _pick_view(run_id: str, picker) -> None:
    def show_job_result(record, result, truth):
        options = pick_options("pk", run_id, picker.meta)
        _show_result(run_id, picker, record, result, options, truth)

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
    options = pick_options("pk", run_id, picker.meta)
    with st.expander("Precision and recall against the threshold"):
        threshold_chart(run_id, picker.meta, options, key="pk-thresholds")
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
