"""Plotly figure builders: arrays and rows in, figures out (testable without a browser).

metric_curves: one metric against epochs (x in epochs); pick_f1_curves: a picker's P and S F1 on
its validation windows per epoch (y in [0, 1]); top_k_bar: class probabilities."""

from __future__ import annotations

import plotly.graph_objects as go

TRAIN_COLOUR = "#1f77b4"
VAL_COLOUR = "#ff7f0e"


def metric_curves(
    batch_rows: list[dict],
    epoch_rows: list[dict],
    metric: str,
    steps_per_epoch: int | None,
    log_y: bool = False,
) -> go.Figure:
    """One metric against epochs: per-batch train values (thin), per-epoch train and validation.

    batch_rows: dicts with global_step and the metric; epoch_rows: dicts with epoch (0-based),
    the metric and val_<metric>. The x axis is in epochs (a batch at step s sits at s / steps).
    log_y: a logarithmic y axis (a loss that spans decades, e.g. a diverging run).
    """
    fig = go.Figure()
    per_epoch = max(1, steps_per_epoch or 1)
    batches = [r for r in batch_rows if r.get(metric) is not None]
    if batches:
        fig.add_trace(
            go.Scatter(
                x=[r["global_step"] / per_epoch for r in batches],
                y=[r[metric] for r in batches],
                mode="lines",
                name="train (batch)",
                line={"color": TRAIN_COLOUR, "width": 1},
                opacity=0.35,
            )
        )
    for key, label, colour in (
        (metric, "train (epoch)", TRAIN_COLOUR),
        (f"val_{metric}", "validation", VAL_COLOUR),
    ):
        points = [r for r in epoch_rows if r.get(key) is not None]
        if points:
            fig.add_trace(_epoch_trace(points, key, label, {"color": colour, "width": 2}))
    if metric == "learning_rate":
        fig.update_yaxes(rangemode="tozero", exponentformat="e")
    fig.update_layout(
        title=metric.replace("_", " "),
        xaxis_title="epoch",
        yaxis_title=metric,
        height=320,
        margin={"l": 40, "r": 10, "t": 40, "b": 40},
        legend={"orientation": "h", "y": -0.25},
    )
    return log_scaled(fig) if log_y else fig


PICK_F1_CURVES = (  # (epoch metric, label, colour, dash): 0.5 s solid, 0.1 s dotted
    ("val_p_f1_0.5s", "P F1 at 0.5 s", TRAIN_COLOUR, "solid"),
    ("val_s_f1_0.5s", "S F1 at 0.5 s", VAL_COLOUR, "solid"),
    ("val_p_f1_0.1s", "P F1 at 0.1 s", TRAIN_COLOUR, "dot"),
    ("val_s_f1_0.1s", "S F1 at 0.1 s", VAL_COLOUR, "dot"),
)
PICK_F1_TITLE = "P and S F1 (validation windows)"


def pick_f1_curves(epoch_rows: list[dict]) -> go.Figure | None:
    """A picker's P and S F1 on its validation windows against epochs (1-based), 0.5 s tolerance
    solid and 0.1 s dotted, y fixed to [0, 1]; None when no epoch row has any of them.

    epoch_rows: dicts with epoch (0-based) and val_{p,s}_f1_{0.5,0.1}s (core.tasks.pick_scores).
    """
    fig = go.Figure()
    for key, label, colour, dash in PICK_F1_CURVES:
        points = [r for r in epoch_rows if isinstance(r.get(key), (int, float))]
        if points:
            line = {"color": colour, "width": 2, "dash": dash}
            fig.add_trace(_epoch_trace(points, key, label, line))
    if not fig.data:
        return None
    fig.update_layout(
        title=PICK_F1_TITLE,
        xaxis_title="epoch",
        yaxis={"title": "F1", "range": [0, 1]},
        height=320,
        margin={"l": 40, "r": 10, "t": 40, "b": 40},
        legend={"orientation": "h", "y": -0.25},
    )
    return fig


def log_scaled(fig: go.Figure) -> go.Figure:
    """A copy of `fig` with a logarithmic y axis (figures shared between sessions, such as
    dashboard.run_watch's, stay as they are)."""
    copy = go.Figure(fig)
    copy.update_yaxes(type="log", exponentformat="power", rangemode="normal")
    return copy


def top_k_bar(top_k: list[dict]) -> go.Figure:
    """Horizontal bars of class probabilities, best at the top ; top_k: image_predict."""
    labels = [str(c["class"]) for c in top_k][::-1]
    probs = [c["probability"] for c in top_k][::-1]
    fig = go.Figure(
        go.Bar(
            x=probs,
            y=labels,
            orientation="h",
            text=[f"{p:.1%}" for p in probs],
            textposition="auto",
            marker_color=TRAIN_COLOUR,
        )
    )
    fig.update_layout(
        xaxis={"range": [0, 1], "tickformat": ".0%", "title": "probability"},
        yaxis={"title": "class", "type": "category"},
        height=60 + 40 * len(labels),
        margin={"l": 40, "r": 10, "t": 20, "b": 40},
    )
    return fig


def _epoch_trace(points: list[dict], key: str, label: str, line: dict) -> go.Scatter:
    """One epoch curve: x = epoch + 1 (1-based), y = points' `key`."""
    return go.Scatter(
        x=[r["epoch"] + 1 for r in points],
        y=[r[key] for r in points],
        mode="lines+markers",
        name=label,
        line=line,
    )
