"""Plotly figure builders: arrays and rows in, figures out (testable without a browser)."""

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
            fig.add_trace(
                go.Scatter(
                    x=[r["epoch"] + 1 for r in points],
                    y=[r[key] for r in points],
                    mode="lines+markers",
                    name=label,
                    line={"color": colour, "width": 2},
                )
            )
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
