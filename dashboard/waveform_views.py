"""Streamlit views for waveform datasets; pages/data.py and pages/augment.py call these.

render_waveform_data(name)     one window (three components, P/S marks, labels), spectrogram,
                               ObsPy filter preview, metadata, dataset statistics
render_waveform_augment(name)  compose an augmentation pipeline, preview N variants with their
                               drawn parameters and labels; "Use for training" offers it to the
                               Train page (dashboard.handover) and returns the spec
render_waveform_file()         open any file ObsPy reads: its records with a filter choice, a
                               spectrogram and "Pick this file" (to the Predict page)

User errors (DatasetError, ValueError) are shown with st.error, never as a traceback.
"""

from __future__ import annotations

import numpy as np
import streamlit as st

from core.data.types import DatasetError
from core.seismic.labels import LABEL_SHAPES, make_labels
from core.seismic.obspy_source import (
    DETREND_KINDS,
    FILTER_KINDS,
    WaveformError,
    obspy_filter,
    read_stream_bytes,
)
from core.seismic.sources import load_waveform_dataset
from core.seismic.stats import (
    components_present,
    dataset_summary,
    metadata_table,
    snr_db,
    sp_times,
)
from core.seismic.waveform_augment import WAVEFORM_OPS, WaveformPipeline, preview
from dashboard.handover import AugmentationChoice, offer, pending
from dashboard.pick_handover import pick_this_file
from dashboard.step_editor import step_editor
from dashboard.waveform_figures import (
    bar_figure,
    histogram_figure,
    spectrogram_figure,
    three_component_figure,
)

EDITOR = "wf-aug"  # the step editor's session-state prefix (its steps: "wf-aug-steps")
DEFAULT_STEPS = ("time_shift", "add_noise", "normalize")
SPLITS = ("train", "validation", "test")
TABLE_ROWS = 2000
SPECTROGRAM_S = 1800.0  # a file's spectrogram covers at most its first 30 minutes


@st.cache_resource(max_entries=4, show_spinner="Loading the waveform dataset ...")
def cached_waveforms(name: str):
    """Shared by all sessions; the arrays are read-only for the views."""
    return load_waveform_dataset(name)


@st.cache_data(max_entries=16, show_spinner="Computing statistics ...")
def split_statistics(name: str, split: str) -> dict:
    wset = cached_waveforms(name).split(split)
    snr = snr_db(wset)
    return {
        "summary": dataset_summary(wset),
        "sp": sp_times(wset),
        "snr": snr,
        "components": components_present(wset),
        "rows": metadata_table(wset, snr)[:TABLE_ROWS],
    }


def _load(name: str):
    try:
        return cached_waveforms(name)
    except (DatasetError, ValueError) as err:
        st.error(str(err))
        return None


def render_waveform_data(dataset_name: str) -> None:
    """Inspect a waveform dataset: one window in detail, then statistics of its split."""
    data = _load(dataset_name)
    if data is None:
        return
    st.caption(data.info.description)
    sizes = data.split_sizes()
    st.write(" · ".join(f"{k}: **{v:,}** windows" for k, v in sizes.items()))
    if data.report is not None and getattr(data.report, "skipped", None):
        with st.expander(f"{len(data.report.skipped):,} file(s) skipped"):
            st.dataframe(
                [{"file": f, "reason": r} for f, r in data.report.skipped], hide_index=True
            )
    a, b, c = st.columns([1, 1, 1])
    split = a.selectbox("Split", SPLITS, key="wf-data-split")
    wset = data.split(split)
    first = first_with_both(wset)
    index = int(b.number_input("Window", 0, len(wset) - 1, first, key="wf-data-index"))
    show_labels = c.checkbox("Show label curves", value=True, key="wf-data-labels")
    window = wset.window(index)

    shown = filtered(window.data, window.sampling_rate, "wf")
    labels = make_labels(window.samples, window.itp, window.its) if show_labels else None
    picks = {"P": [window.itp] if window.itp is not None else [], "S": []}
    picks["S"] = [window.its] if window.its is not None else []
    title = f"{window.station or 'window'} #{index} ({split})"
    st.plotly_chart(
        three_component_figure(
            shown,
            window.sampling_rate,
            window.start_time,
            picks,
            labels,
            title,
            tuple(window.channels),
            tuple(window.present),
        ),
        key="wf-data-figure",
    )
    left, right = st.columns([2, 1])
    with left:
        comp = st.radio(
            "Spectrogram of", ("E", "N", "Z"), index=2, horizontal=True, key="wf-spec-comp"
        )
        column = "ENZ".index(comp)
        if np.any(shown[:, column]):
            st.plotly_chart(
                spectrogram_figure(shown[:, column], window.sampling_rate), key="wf-spectrogram"
            )
        else:
            st.info(f"The {comp} component is missing in this window.")
    with right:
        st.markdown("**This window**")
        st.dataframe(_window_meta(window, wset.meta[index] if wset.meta else {}), hide_index=True)
    _render_statistics(dataset_name, split)


def filtered(data: np.ndarray, rate: float, prefix: str) -> np.ndarray:
    """The "Filter (ObsPy)" expander on (samples, 3) data at `rate` Hz: the data as chosen
    (detrend, taper, band-pass, ...), with what was done as captions; widget keys `prefix-*`."""
    with st.expander("Filter (ObsPy): detrend, taper, filter", expanded=False):
        f1, f2, f3 = st.columns(3)
        detrend = f1.selectbox("Detrend", DETREND_KINDS, index=1, key=f"{prefix}-detrend")
        taper = f2.slider("Taper (fraction each end)", 0.0, 0.2, 0.0, 0.01, key=f"{prefix}-taper")
        kind = f3.selectbox("Filter", FILTER_KINDS, index=0, key=f"{prefix}-filter")
        g1, g2, g3 = st.columns(3)
        nyquist = rate / 2
        low_default, high_default = min(1.0, 0.1 * nyquist), min(20.0, 0.9 * nyquist)
        freqmin = g1.number_input(
            "Low corner (Hz)", 0.001, nyquist, low_default, key=f"{prefix}-fmin"
        )
        freqmax = g2.number_input(
            "High corner (Hz)", 0.001, nyquist, high_default, key=f"{prefix}-fmax"
        )
        corners = g3.slider("Corners", 1, 8, 4, key=f"{prefix}-corners")
        zerophase = st.checkbox("Zero phase", value=True, key=f"{prefix}-zerophase")
    try:
        shown, notes = obspy_filter(
            data, rate, detrend, taper, kind, freqmin, freqmax, corners, zerophase
        )
    except ValueError as err:
        st.error(f"Filter: {err}")
        return data
    for note in notes:
        st.caption(note)
    return shown


def first_with_both(wset) -> int:
    """Index of the first window with a P and an S arrival (0 if none): the window shown first,
    so a new user sees both phases."""
    for i in range(min(len(wset), 200)):
        w = wset.window(i)
        if w.itp is not None and w.its is not None:
            return i
    return 0


def _window_meta(window, meta: dict) -> list[dict]:
    rate = window.sampling_rate
    rows = {
        "station": window.station,
        "channels": " ".join(window.channels),
        "present": "".join(c for c, p in zip("ENZ", window.present, strict=True) if p),
        "samples": f"{window.samples:,} at {rate:g} Hz ({window.duration_s:.1f} s)",
        "P": "-" if window.itp is None else f"sample {window.itp} ({window.itp / rate:.2f} s)",
        "S": "-" if window.its is None else f"sample {window.its} ({window.its / rate:.2f} s)",
        "source": window.source,
    }
    extra = {
        k: v
        for k, v in meta.items()
        if k not in {"station", "channels", "present", "source", "start_time"}
    }
    rows.update({k: str(v) for k, v in extra.items()})
    return [{"field": k, "value": str(v)} for k, v in rows.items()]


def _render_statistics(name: str, split: str) -> None:
    st.subheader(f"Statistics of the {split} split")
    stats = split_statistics(name, split)
    summary = stats["summary"]
    cols = st.columns(5)
    for col, key in zip(cols, ("windows", "P and S", "P only", "no pick", "stations"), strict=True):
        col.metric(key, f"{summary[key]:,}")
    a, b, c = st.columns(3)
    a.plotly_chart(histogram_figure(stats["sp"], "S-P time", "S-P (s)"), key="wf-sp-hist")
    b.plotly_chart(
        histogram_figure(stats["snr"], "SNR (2 s after vs before P)", "SNR (dB)"), key="wf-snr-hist"
    )
    c.plotly_chart(bar_figure(stats["components"], "Components present"), key="wf-comp-bar")
    with st.expander("Station / channel metadata", expanded=False):
        rows = stats["rows"]
        if summary["windows"] > len(rows):
            st.caption(f"First {len(rows):,} of {summary['windows']:,} windows.")
        st.dataframe(rows, hide_index=True)


def render_waveform_augment(dataset_name: str, train_page=None) -> list[dict] | None:
    """Compose and preview a waveform pipeline; the spec when 'Use for training' is pressed
    (then also a "Go to Train" link to `train_page`, a page registered with st.navigation)."""
    data = _load(dataset_name)
    if data is None:
        return None
    train = data.train
    pipeline_col, preview_col = st.columns([1, 2], gap="large")
    with pipeline_col:
        st.subheader("Pipeline")
        spec = _pipeline_editor(train.data.shape[1])
        if not spec:
            st.info("Add operations above; they run in this order.")
    with preview_col:
        st.subheader("Preview")
        a, b, c = st.columns(3)
        seed = int(
            a.number_input(
                "Seed",
                0,
                2**31 - 1,
                0,
                key="wf-aug-seed",
                help="The same seed gives the same variants.",
            )
        )
        variants = int(b.slider("Variants (epochs)", 1, 8, 3, key="wf-aug-variants"))
        index = int(
            c.number_input(
                "Training window", 0, len(train) - 1, first_with_both(train), key="wf-aug-index"
            )
        )
        d, e = st.columns(2)
        shape = d.selectbox("Label shape", LABEL_SHAPES, key="wf-aug-shape")
        width = float(e.slider("Label width (samples)", 1, 100, 20, key="wf-aug-width"))
        try:
            pipeline = WaveformPipeline.from_spec(spec, pool=train)
            results = preview(pipeline, train.window(index), seed, variants, index)
        except ValueError as err:
            st.error(f"This pipeline cannot run: {err}")
            return None
        original = train.window(index)
        with st.expander("Original window", expanded=False):
            st.plotly_chart(
                _augmented_figure(original, shape, width, "original"), key="wf-aug-original"
            )
        for v, (w, lines) in enumerate(results):
            st.plotly_chart(
                _augmented_figure(w, shape, width, f"variant {v} (epoch {v})"),
                key=f"wf-aug-variant-{v}",
            )
            st.caption("; ".join(lines) if lines else "unchanged")
        st.caption(
            "Variant v is exactly what training feeds the model for this training window in "
            "epoch v with this seed."
        )
        with st.expander("The pipeline as training runs it"):
            st.code(str(pipeline), language=None)
        if st.button("Use for training", type="primary", key="wf-aug-use", disabled=not spec):
            labels = {"label_shape": shape, "label_width": width}  # PickingSettings keys
            offer(AugmentationChoice("waveform", spec, seed, labels))
            st.success(
                f"Training will use these {len(spec)} step(s). On Train, choose a waveform "
                "dataset and the phasenet model."
            )
            if train_page is not None:
                st.page_link(train_page, label="Go to Train", icon=":material/model_training:")
            return spec
    return None


def _augmented_figure(w, shape: str, width: float, title: str):
    picks = {
        "P": ([w.itp] if w.itp is not None else []) + list(getattr(w, "extra_p", [])),
        "S": ([w.its] if w.its is not None else []) + list(getattr(w, "extra_s", [])),
    }
    if hasattr(w, "labels"):
        labels = w.labels(shape, width)
    else:
        labels = make_labels(w.samples, w.itp, w.its, shape, width)
    return three_component_figure(
        w.data, w.sampling_rate, None, picks, labels, title, present=tuple(w.present)
    )


def _pipeline_editor(samples: int) -> list[dict]:
    """The step editor on WAVEFORM_OPS: starts from the offered pipeline or DEFAULT_STEPS."""
    offered = pending().get("waveform")
    defaults = offered.spec if offered else [{"op": n} for n in DEFAULT_STEPS]
    low = WAVEFORM_OPS["random_window"].PARAMS["length"][0]
    limits = {"random_window": {"length": (low, max(low, samples))}}  # at most the window
    return step_editor(WAVEFORM_OPS, EDITOR, defaults=defaults, limits=limits)


def render_waveform_file() -> None:
    """Upload a file ObsPy reads (MiniSEED, SAC, GSE2, SEG-Y, ...) and inspect its records."""

    upload = st.file_uploader(
        "Waveform file (MiniSEED, SAC, GSE2, SEG-Y, ...)", key="wf-file-upload"
    )
    if upload is None:
        return
    try:
        records = read_stream_bytes(upload.getvalue(), upload.name)
    except (WaveformError, ValueError) as err:
        st.error(str(err))
        return
    if not records:
        st.error(f"{upload.name}: no trace with E, N, Z (or 1, 2, 3) components")
        return
    names = [f"{r.station} ({r.duration_s:,.1f} s at {r.sampling_rate:g} Hz)" for r in records]
    k = names.index(st.selectbox("Station", names, key="wf-file-station"))
    record = records[k]
    for note in record.notes:
        st.caption(note)
    shown = filtered(record.data, record.sampling_rate, "wf-file")
    st.plotly_chart(
        three_component_figure(
            shown,
            record.sampling_rate,
            record.start_time,
            None,
            None,
            record.station,
            tuple(c or "-" for c in record.channels),
            record.present,
        ),
        key="wf-file-figure",
    )
    comp = st.radio("Spectrogram of", ("E", "N", "Z"), index=2, horizontal=True, key="wf-file-spec")
    column = "ENZ".index(comp)
    part = shown[: int(SPECTROGRAM_S * record.sampling_rate), column]
    if len(part) < len(shown):
        st.caption(f"Spectrogram of the first {SPECTROGRAM_S / 60:g} minutes.")
    if np.any(part) and len(part) >= 16:
        st.plotly_chart(spectrogram_figure(part, record.sampling_rate), key="wf-file-spectrogram")
    else:
        st.info(f"The {comp} component is missing in this record.")
    pick_this_file(upload.name, upload.getvalue())
