"""Plotly figure builders for seismic waveforms: arrays in, figures out (no streamlit).

Long traces are thinned for display by min/max decimation: each pixel-sized bucket of samples
keeps its minimum and maximum (in time order), so peaks and arrivals survive while an hour of
100 Hz data (360,000 samples) becomes at most `max_points` points per trace, drawn with WebGL.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

PHASE_COLOURS = {"P": "#d62728", "S": "#1f77b4"}
LABEL_COLOURS = {"noise": "#7f7f7f", "P": PHASE_COLOURS["P"], "S": PHASE_COLOURS["S"]}
TRACE_COLOUR = "#333333"
MAX_POINTS = 4000
ROW_HEIGHT = 130


def minmax_decimate(y: np.ndarray, max_points: int = MAX_POINTS) -> tuple[np.ndarray, np.ndarray]:
    """(sample indices, values) of at most max_points points keeping each bucket's min and max."""
    y = np.asarray(y)
    n = len(y)
    if n <= max_points:
        return np.arange(n), y
    buckets = max(1, max_points // 2)
    size = math.ceil(n / buckets)
    buckets = math.ceil(n / size)
    padded = np.concatenate([y, np.full(buckets * size - n, y[-1], dtype=y.dtype)])
    blocks = padded.reshape(buckets, size)
    lo, hi = blocks.argmin(axis=1), blocks.argmax(axis=1)
    first, second = np.minimum(lo, hi), np.maximum(lo, hi)
    idx = np.stack([first, second], axis=1) + (np.arange(buckets) * size)[:, None]
    idx = np.minimum(idx.reshape(-1), n - 1)
    return idx, y[idx]


def three_component_figure(
    data: np.ndarray,
    sampling_rate: float,
    start_time: float | None = None,
    picks: dict[str, list[int]] | None = None,
    labels: np.ndarray | None = None,
    title: str = "",
    channel_names: tuple[str, ...] = ("E", "N", "Z"),
    present: tuple[bool, ...] | None = None,
    max_points: int = MAX_POINTS,
) -> go.Figure:
    """Rows E, N, Z of data (samples, 3) with P/S marks, plus a label row when labels is given.

    x: seconds after the first sample (start_time, POSIX s, names it in the axis title);
    picks: {"P": [sample, ...], "S": [...]}; labels: (samples, 3) [noise, P, S] in [0, 1].
    """
    data = np.asarray(data)
    if data.ndim != 2 or data.shape[1] != 3:
        raise ValueError(f"data must be (samples, 3), got {data.shape}")
    rows = 3 + (labels is not None)
    names = [c if c not in ("", "-", "?") else "ENZ"[k] for k, c in enumerate(channel_names[:3])]
    names += ["labels"] if labels is not None else []
    fig = make_subplots(
        rows=rows, cols=1, shared_xaxes=True, vertical_spacing=0.03, subplot_titles=None
    )
    times = np.arange(data.shape[0]) / sampling_rate
    for c in range(3):
        idx, values = minmax_decimate(data[:, c], max_points)
        fig.add_trace(
            go.Scattergl(
                x=times[idx],
                y=values,
                mode="lines",
                name=names[c],
                line={"color": TRACE_COLOUR, "width": 1},
                showlegend=False,
                hovertemplate="%{x:.2f} s: %{y:.4g}<extra>" + names[c] + "</extra>",
            ),
            row=c + 1,
            col=1,
        )
        fig.update_yaxes(title_text=names[c], row=c + 1, col=1)
        if present is not None and not present[c]:
            fig.add_annotation(
                text="missing component",
                showarrow=False,
                row=c + 1,
                col=1,
                x=times[-1] / 2 if len(times) else 0,
                y=0,
                font={"color": "#999999"},
            )
    _add_picks(fig, data, picks or {}, sampling_rate)
    if labels is not None:
        _add_labels(fig, np.asarray(labels), times, rows, max_points)
    x_title = "time (s)"
    if start_time is not None:
        stamp = datetime.fromtimestamp(float(start_time), UTC).isoformat(timespec="milliseconds")
        x_title = f"seconds after {stamp[:23]} UTC"
    fig.update_xaxes(title_text=x_title, row=rows, col=1)
    fig.update_layout(
        title=title or None,
        height=ROW_HEIGHT * rows + 90,
        margin={"l": 60, "r": 10, "t": 40 if title else 10, "b": 40},
        legend={"orientation": "h", "y": 1.02, "x": 1, "xanchor": "right", "yanchor": "bottom"},
        hovermode="x",
    )
    return fig


def _add_picks(fig: go.Figure, data: np.ndarray, picks: dict, sampling_rate: float) -> None:
    """One line trace per phase and row: vertical segments at each pick, legend entry once."""
    for phase, samples in picks.items():
        samples = [s for s in samples if s is not None and 0 <= s < data.shape[0]]
        if not samples:
            continue
        colour = PHASE_COLOURS.get(phase, "#2ca02c")
        for c in range(3):
            low, high = float(np.min(data[:, c])), float(np.max(data[:, c]))
            if low == high:
                low, high = low - 1, high + 1
            xs, ys = [], []
            for s in samples:
                xs += [s / sampling_rate, s / sampling_rate, None]
                ys += [low, high, None]
            fig.add_trace(
                go.Scatter(
                    x=xs,
                    y=ys,
                    mode="lines",
                    name=phase,
                    legendgroup=phase,
                    line={"color": colour, "width": 1.5, "dash": "dash"},
                    showlegend=c == 0,
                    hoverinfo="skip",
                ),
                row=c + 1,
                col=1,
            )


def _add_labels(fig, labels, times, row, max_points) -> None:
    if labels.shape != (len(times), 3):
        raise ValueError(f"labels must be (samples, 3) like the data, got {labels.shape}")
    for k, name in enumerate(("noise", "P", "S")):
        idx, values = minmax_decimate(labels[:, k], max_points)
        fig.add_trace(
            go.Scattergl(
                x=times[idx],
                y=values,
                mode="lines",
                name=f"{name} label",
                line={"color": LABEL_COLOURS[name], "width": 1.5},
                showlegend=True,
            ),
            row=row,
            col=1,
        )
    fig.update_yaxes(title_text="labels", range=[-0.05, 1.05], row=row, col=1)


def spectrogram_figure(
    trace: np.ndarray, sampling_rate: float, title: str = "", max_columns: int = 1500
) -> go.Figure:
    """Power spectral density (dB) against time (s) and frequency (Hz) of one (samples,) trace.

    scipy.signal.spectrogram, Hann window of up to 256 samples; the hop grows on long traces so
    the image has at most `max_columns` time columns.
    """
    from scipy.signal import spectrogram

    x = np.asarray(trace, dtype=np.float64)
    n = len(x)
    if n < 16:
        raise ValueError(f"a spectrogram needs at least 16 samples, got {n}")
    nperseg = int(min(256, 2 ** math.floor(math.log2(max(16, n // 8)))))
    hop = max(nperseg // 8, math.ceil((n - nperseg) / max_columns))
    nperseg = max(nperseg, hop)
    freqs, times, power = spectrogram(
        x - x.mean(), fs=sampling_rate, window="hann", nperseg=nperseg, noverlap=nperseg - hop
    )
    z = 10 * np.log10(power + max(float(power.max()), 1e-30) * 1e-12)
    fig = go.Figure(
        go.Heatmap(
            x=times,
            y=freqs,
            z=z.astype(np.float32),
            colorscale="Viridis",
            colorbar={"title": {"text": "dB"}},
            hovertemplate="%{x:.2f} s, %{y:.2f} Hz: %{z:.1f} dB<extra></extra>",
        )
    )
    fig.update_layout(
        title=title or None,
        xaxis_title="time (s)",
        yaxis_title="frequency (Hz)",
        height=300,
        margin={"l": 60, "r": 10, "t": 40 if title else 10, "b": 40},
    )
    return fig


def histogram_figure(
    values: np.ndarray, title: str, x_title: str, bins: int = 30, y_title: str = "windows"
) -> go.Figure:
    """Histogram of the finite values (NaN dropped); an empty set shows a note instead."""
    values = np.asarray(values, dtype=np.float64)
    values = values[np.isfinite(values)]
    fig = go.Figure()
    if len(values):
        fig.add_trace(go.Histogram(x=values, nbinsx=bins, marker={"color": "#4c78a8"}))
    else:
        fig.add_annotation(
            text="no values", showarrow=False, x=0.5, y=0.5, xref="paper", yref="paper"
        )
    fig.update_layout(
        title=title,
        xaxis_title=x_title,
        yaxis_title=y_title,
        height=280,
        bargap=0.05,
        margin={"l": 50, "r": 10, "t": 40, "b": 40},
    )
    return fig


def bar_figure(counts: dict[str, int], title: str, y_title: str = "windows") -> go.Figure:
    """Bars of named counts, in the dict's order."""
    fig = go.Figure(go.Bar(x=list(counts), y=list(counts.values()), marker={"color": "#4c78a8"}))
    fig.update_layout(
        title=title, yaxis_title=y_title, height=280, margin={"l": 50, "r": 10, "t": 40, "b": 40}
    )
    return fig
