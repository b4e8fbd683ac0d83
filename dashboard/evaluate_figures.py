"""Plotly figures of the Evaluate page: confusion-matrix heatmap (counts, rows true, columns
predicted), reliability diagram (accuracy against confidence per bin, ECE in the title) and the
reconstruction-error histogram (mean absolute error in pixel units of [0, 1])."""

from __future__ import annotations

import plotly.graph_objects as go


def confusion_heatmap(matrix: list[list[int]], class_names: list[str]) -> go.Figure:
    """Counts as a heatmap with the numbers written in the cells; click a cell to select it."""
    names = [str(c) for c in class_names]
    fig = go.Figure(
        go.Heatmap(
            z=matrix,
            x=names,
            y=names,
            colorscale="Blues",
            text=[[str(v) for v in row] for row in matrix],
            texttemplate="%{text}",
            hovertemplate="true %{y}, predicted %{x}: %{z}<extra></extra>",
            colorbar={"title": "images"},
        )
    )
    fig.update_layout(
        xaxis={"title": "predicted", "type": "category", "side": "top"},
        yaxis={"title": "true", "type": "category", "autorange": "reversed"},
        height=max(320, 32 * len(names) + 120),
        margin={"l": 60, "r": 20, "t": 60, "b": 20},
    )
    return fig


def reliability_diagram(bins: list[dict], ece: float) -> go.Figure:
    """Per confidence bin: accuracy (bars) and mean confidence (markers) against the diagonal."""
    centers = [(b["lo"] + b["hi"]) / 2 for b in bins]
    width = bins[0]["hi"] - bins[0]["lo"] if bins else 0.1
    fig = go.Figure()
    fig.add_bar(
        x=centers,
        y=[b["accuracy"] if b["count"] else 0 for b in bins],
        width=width * 0.95,
        name="accuracy",
        customdata=[b["count"] for b in bins],
        hovertemplate="confidence %{x:.2f}: accuracy %{y:.2f} (%{customdata} images)"
        "<extra></extra>",
    )
    used = [b for b in bins if b["count"]]
    fig.add_scatter(
        x=[(b["lo"] + b["hi"]) / 2 for b in used],
        y=[b["confidence"] for b in used],
        mode="markers",
        name="mean confidence",
    )
    fig.add_scatter(
        x=[0, 1], y=[0, 1], mode="lines", name="perfect calibration", line={"dash": "dot"}
    )
    fig.update_layout(
        title=f"Reliability (ECE {ece:.3f})",
        xaxis={"title": "confidence", "range": [0, 1]},
        yaxis={"title": "accuracy", "range": [0, 1]},
        height=360,
    )
    return fig


def error_histogram(histogram: dict) -> go.Figure:
    """Per-image reconstruction error counts between the histogram's edges."""
    edges, counts = histogram["edges"], histogram["counts"]
    fig = go.Figure(
        go.Bar(
            x=[(a + b) / 2 for a, b in zip(edges[:-1], edges[1:], strict=True)],
            y=counts,
            width=[b - a for a, b in zip(edges[:-1], edges[1:], strict=True)],
            hovertemplate="error %{x:.4f}: %{y} images<extra></extra>",
        )
    )
    fig.update_layout(
        title="Reconstruction error per image",
        xaxis={"title": "mean absolute error"},
        yaxis={"title": "images"},
        height=320,
    )
    return fig
