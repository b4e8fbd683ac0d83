"""Streamlit views for waveform datasets; pages/data.py and pages/augment.py call these.

render_waveform_data(name)     one window (three components, P/S marks, labels), spectrogram,
                               ObsPy filter preview, metadata, dataset statistics
render_waveform_augment(name)  compose an augmentation pipeline, preview N variants with their
                               drawn parameters and labels; returns the spec on "Use for training"
render_waveform_file()         open any file ObsPy reads and look at the continuous records

User errors (DatasetError, ValueError) are shown with st.error, never as a traceback.
"""

from __future__ import annotations

import itertools

import numpy as np
import streamlit as st

from core.data.types import DatasetError
from core.seismic.labels import LABEL_SHAPES, make_labels
from core.seismic.obspy_source import DETREND_KINDS, FILTER_KINDS, obspy_filter
from core.seismic.sources import load_waveform_dataset
from core.seismic.stats import (
    components_present,
    dataset_summary,
    metadata_table,
    snr_db,
    sp_times,
)
from core.seismic.waveform_augment import WAVEFORM_OPS, WaveformPipeline, preview
from dashboard.waveform_figures import (
    bar_figure,
    histogram_figure,
    spectrogram_figure,
    three_component_figure,
)

SPEC_KEY = "waveform_augmentation"  # where "Use for training" stores the spec
STEPS_KEY = "wf-augment-steps"
DEFAULT_STEPS = ("time_shift", "add_noise", "normalize")
SPLITS = ("train", "validation", "test")
TABLE_ROWS = 2000
_uid = itertools.count(1)


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
    index = int(b.number_input("Window", 0, len(wset) - 1, 0, key="wf-data-index"))
    show_labels = c.checkbox("Show label curves", value=True, key="wf-data-labels")
    window = wset.window(index)

    with st.expander("Filter (ObsPy): detrend, taper, filter", expanded=False):
        f1, f2, f3 = st.columns(3)
        detrend = f1.selectbox("Detrend", DETREND_KINDS, index=1, key="wf-detrend")
        taper = f2.slider("Taper (fraction each end)", 0.0, 0.2, 0.0, 0.01, key="wf-taper")
        kind = f3.selectbox("Filter", FILTER_KINDS, index=0, key="wf-filter")
        g1, g2, g3 = st.columns(3)
        nyquist = window.sampling_rate / 2
        low_default, high_default = min(1.0, 0.1 * nyquist), min(20.0, 0.9 * nyquist)
        freqmin = g1.number_input("Low corner (Hz)", 0.001, nyquist, low_default, key="wf-fmin")
        freqmax = g2.number_input("High corner (Hz)", 0.001, nyquist, high_default, key="wf-fmax")
        corners = g3.slider("Corners", 1, 8, 4, key="wf-corners")
        zerophase = st.checkbox("Zero phase", value=True, key="wf-zerophase")
    try:
        shown, notes = obspy_filter(
            window.data,
            window.sampling_rate,
            detrend,
            taper,
            kind,
            freqmin,
            freqmax,
            corners,
            zerophase,
        )
    except ValueError as err:
        st.error(f"Filter: {err}")
        shown, notes = window.data, []
    for note in notes:
        st.caption(note)
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


def render_waveform_augment(dataset_name: str) -> list[dict] | None:
    """Compose and preview a waveform pipeline; the spec when 'Use for training' is pressed."""
    data = _load(dataset_name)
    if data is None:
        return None
    train = data.train
    pipeline_col, preview_col = st.columns([1, 2], gap="large")
    with pipeline_col:
        st.subheader("Pipeline")
        spec = _step_editor(train.data.shape[1])
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
        index = int(c.number_input("Training window", 0, len(train) - 1, 0, key="wf-aug-index"))
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
            st.session_state[SPEC_KEY] = spec
            st.session_state[f"{SPEC_KEY}_seed"] = seed
            st.session_state[f"{SPEC_KEY}_labels"] = {"shape": shape, "width": width}
            st.success(f"Training will use these {len(spec)} step(s).")
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


def _step_editor(samples: int) -> list[dict]:
    """Ordered steps in session state (add, move, remove, settings) -> spec without uids."""
    steps = st.session_state.get(STEPS_KEY)
    if steps is None:
        stored = st.session_state.get(SPEC_KEY)
        base = stored or [{"op": n, **WAVEFORM_OPS[n]().settings()} for n in DEFAULT_STEPS]
        steps = [{"uid": next(_uid), **dict(s)} for s in base]
        st.session_state[STEPS_KEY] = steps
    add_col, button_col = st.columns([2, 1], vertical_alignment="bottom")
    new_op = add_col.selectbox(
        "Add an operation",
        list(WAVEFORM_OPS),
        key="wf-aug-add-op",
        format_func=lambda n: WAVEFORM_OPS[n].LABEL,
    )
    if button_col.button("Add", key="wf-aug-add"):
        op = WAVEFORM_OPS[new_op]()
        steps.append({"uid": next(_uid), "op": new_op, **op.settings()})
    for k, step in enumerate(list(steps)):
        op_cls = WAVEFORM_OPS.get(step["op"])
        if op_cls is None:
            steps.remove(step)
            continue
        with st.container(border=True):
            st.markdown(f"**{k + 1}. {op_cls.LABEL}**")
            up, down, remove = st.columns(3)
            if up.button("Up", key=f"wf-up-{step['uid']}", disabled=k == 0):
                steps[k - 1], steps[k] = steps[k], steps[k - 1]
                st.rerun()
            if down.button("Down", key=f"wf-down-{step['uid']}", disabled=k == len(steps) - 1):
                steps[k + 1], steps[k] = steps[k], steps[k + 1]
                st.rerun()
            if remove.button("Remove", key=f"wf-remove-{step['uid']}"):
                steps.remove(step)
                st.rerun()
            _settings_widgets(op_cls, step, samples)
    return [{k: v for k, v in s.items() if k != "uid"} for s in steps]


def _settings_widgets(op_cls, step: dict, samples: int) -> None:
    for name, (low, high, size) in op_cls.PARAMS.items():
        is_int = all(isinstance(v, int) for v in (low, size))
        if op_cls.NAME == "random_window" and name == "length":
            high = max(low, samples)
        cast = int if is_int else float
        value = min(max(cast(step.get(name, low)), cast(low)), cast(high))
        step[name] = st.slider(
            _pretty(name),
            cast(low),
            cast(high),
            value,
            cast(size),
            key=f"wf-{step['uid']}-{name}",
        )
    for name, options in op_cls.CHOICES.items():
        current = step.get(name, options[0])
        step[name] = st.selectbox(
            _pretty(name),
            options,
            index=options.index(current) if current in options else 0,
            key=f"wf-{step['uid']}-{name}",
        )


def _pretty(name: str) -> str:
    """Setting name -> slider label: 'snr_db_min' -> 'SNR min (dB)', 'max_gap_s' -> '... (s)'."""
    units = {"db": "dB", "s": "s"}
    words = name.split("_")
    unit = next((units[w] for w in words if w in units), "")
    words = [w for w in words if w not in units]
    text = " ".join(words).replace("snr", "SNR").replace("freqmin", "low corner (Hz)")
    text = text.replace("freqmax", "high corner (Hz)")
    return f"{text} ({unit})" if unit else text


def render_waveform_file() -> None:
    """Upload a file ObsPy reads (MiniSEED, SAC, GSE2, SEG-Y, ...) and inspect its records."""
    from core.seismic.obspy_source import WaveformError, read_stream_bytes

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
    st.plotly_chart(
        three_component_figure(
            record.data,
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
