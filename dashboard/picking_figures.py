"""Figures of the picker's Predict view: data with P/S probabilities and picks, residuals.

picking_figure: (samples, 3) data and probabilities -> rows E, N, Z and [P, S] probabilities,
pick marks dashed, true arrivals dotted; residual_figure: pick time residuals (s) per phase;
threshold_figure: precision, recall and F1 in [0, 1] against the threshold (probability).
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from core.seismic.picking import Pick
from dashboard.waveform_figures import PHASE_COLOURS, TRACE_COLOUR, minmax_decimate

PROB_COLOURS = {"P": PHASE_COLOURS["P"], "S": PHASE_COLOURS["S"]}


def _times(start_time: float | None, seconds: np.ndarray):
    """x values: absolute UTC datetimes when the start is known, else seconds."""
    if start_time is None:
        return seconds
    ms = np.round((start_time + seconds) * 1000).astype("int64")
    return ms.astype("datetime64[ms]")


def picking_figure(
    data: np.ndarray,
    probabilities: np.ndarray,
    sampling_rate: float,
    start_time: float | None = None,
    picks: list[Pick] | tuple = (),
    true_picks: dict[str, list[int]] | None = None,
    channel_names: tuple[str, ...] = ("E", "N", "Z"),
    view: tuple[float, float] | None = None,
    max_points: int = 4000,
) -> go.Figure:
    """Rows E, N, Z and [P, S] probabilities with pick marks (dashed), true arrivals (dotted).

    data, probabilities: (samples, 3); picks: Pick objects; true_picks: {"P": [sample, ...]};
    view: (first s, last s) after the start, shown in detail; long data are min/max decimated.
    """
    data, probabilities = np.asarray(data), np.asarray(probabilities)
    n = len(probabilities)
    a, b = (
        (0, n)
        if view is None
        else (max(0, int(view[0] * sampling_rate)), int(view[1] * sampling_rate))
    )
    b = min(max(b, a + 1), n)
    names = [c if c not in ("", "-", "?") else "ENZ"[k] for k, c in enumerate(channel_names[:3])]
    fig = make_subplots(rows=4, cols=1, shared_xaxes=True, vertical_spacing=0.02)
    for c in range(3):
        idx, values = minmax_decimate(data[a:b, c], max_points)
        fig.add_trace(
            go.Scattergl(
                x=_times(start_time, (a + idx) / sampling_rate),
                y=values,
                mode="lines",
                line={"color": TRACE_COLOUR, "width": 1},
                name=names[c],
                showlegend=False,
            ),
            row=c + 1,
            col=1,
        )
        fig.update_yaxes(title_text=names[c], row=c + 1, col=1)
    for column, phase in ((1, "P"), (2, "S")):
        idx, values = minmax_decimate(probabilities[a:b, column], max_points)
        fig.add_trace(
            go.Scattergl(
                x=_times(start_time, (a + idx) / sampling_rate),
                y=values,
                mode="lines",
                line={"color": PROB_COLOURS[phase], "width": 1.5},
                name=f"{phase} probability",
            ),
            row=4,
            col=1,
        )
    fig.update_yaxes(title_text="probability", range=[-0.02, 1.05], row=4, col=1)
    shown = {p: [k.sample for k in picks if k.phase == p and a <= k.sample < b] for p in "PS"}
    _marks(fig, shown, sampling_rate, start_time, "dash", "pick")
    if true_picks:
        inside = {p: [s for s in v if a <= s < b] for p, v in true_picks.items()}
        _marks(fig, inside, sampling_rate, start_time, "dot", "true")
    fig.update_layout(
        height=650,
        margin={"l": 60, "r": 10, "t": 10, "b": 40},
        legend={"orientation": "h", "y": 1.02, "x": 1, "xanchor": "right", "yanchor": "bottom"},
        hovermode="x",
    )
    return fig


def _marks(fig, samples_by_phase: dict, rate: float, start, dash: str, kind: str) -> None:
    """Vertical segments on the probability row (0..1) and a tick band on the Z row."""
    for phase, samples in samples_by_phase.items():
        if not samples:
            continue
        xs, ys = [], []
        for s in samples:
            x = _times(start, np.asarray([s / rate]))[0]
            xs += [x, x, None]
            ys += [0.0, 1.0, None]
        fig.add_trace(
            go.Scatter(
                x=xs,
                y=ys,
                mode="lines",
                name=f"{phase} {kind} ({len(samples)})",
                line={"color": PHASE_COLOURS.get(phase, "#2ca02c"), "width": 1.2, "dash": dash},
                hoverinfo="skip",
            ),
            row=4,
            col=1,
        )


def residual_figure(residuals: dict[str, list[float]], tolerance_s: float) -> go.Figure:
    """Histogram of predicted - true pick times (s) per phase, within +-tolerance_s."""
    fig = go.Figure()
    bins = {"start": -tolerance_s, "end": tolerance_s, "size": max(tolerance_s / 25, 0.005)}
    for phase, values in residuals.items():
        fig.add_trace(
            go.Histogram(
                x=values,
                name=f"{phase} ({len(values)})",
                xbins=bins,
                marker={"color": PHASE_COLOURS.get(phase)},
                opacity=0.65,
            )
        )
    fig.update_layout(
        barmode="overlay",
        xaxis_title="predicted - true (s)",
        yaxis_title="picks",
        height=300,
        margin={"l": 50, "r": 10, "t": 30, "b": 40},
        title=f"Residuals of matched picks (tolerance {tolerance_s:g} s)",
    )
    return fig


def threshold_figure(
    curve: list[dict], p_threshold: float, s_threshold: float, title: str = ""
) -> go.Figure:
    """Precision (solid), recall (dashed) and F1 (dotted) of P and S against the threshold.

    curve: core.tasks.pick_scores.threshold_curve rows; the chosen thresholds are vertical lines.
    """
    fig = go.Figure()
    xs = [row["threshold"] for row in curve]
    for phase in ("P", "S"):
        for metric, dash in (("precision", "solid"), ("recall", "dash"), ("f1", "dot")):
            fig.add_trace(
                go.Scatter(
                    x=xs,
                    y=[row[f"{phase.lower()}_{metric}"] for row in curve],
                    mode="lines+markers",
                    marker={"size": 4},
                    name=f"{phase} {'F1' if metric == 'f1' else metric}",
                    line={"color": PHASE_COLOURS[phase], "dash": dash, "width": 1.5},
                )
            )
    marks = [("P", p_threshold), ("S", s_threshold)]
    if abs(p_threshold - s_threshold) < 1e-9:  # one line, one label
        marks = [("P and S", p_threshold)]
    for phase, x in marks:
        fig.add_vline(
            x=x,
            line={"color": PHASE_COLOURS.get(phase, "#555"), "width": 1, "dash": "longdash"},
            annotation_text=f"{phase} {x:g}",
            annotation_position="top left" if phase == "P" else "top right",
        )
    fig.update_layout(
        title=title,
        xaxis_title="threshold (probability)",
        yaxis_title="precision / recall / F1",
        yaxis_range=[0, 1.05],
        xaxis_range=[0, 1],
        height=340,
        margin={"l": 50, "r": 10, "t": 50, "b": 40},
        legend={"orientation": "v", "x": 1.02, "y": 1},
    )
    return fig
