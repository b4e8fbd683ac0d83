"""Image helpers for pages: display-ready thumbnails and the class histogram figure."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go


def thumbnail(image: np.ndarray, size: int = 96) -> np.ndarray:
    """(h, w, c) float in [0, 1] (or any range) -> (>=size, >=size, 3) uint8, nearest-neighbour
    upscaled so small images stay crisp; values outside [0, 1] are min-max scaled."""
    img = np.asarray(image, dtype=np.float32)
    low, high = float(img.min()), float(img.max())
    if low < 0.0 or high > 1.0:
        img = (img - low) / (high - low) if high > low else np.zeros_like(img)
    factor = max(1, size // max(img.shape[0], img.shape[1]))
    img = np.repeat(np.repeat(img, factor, axis=0), factor, axis=1)
    if img.shape[-1] == 1:
        img = np.repeat(img, 3, axis=-1)
    return (np.clip(img, 0, 1) * 255).astype(np.uint8)


def class_histogram(counts: np.ndarray, class_names: list[str]) -> go.Figure:
    """Bar chart of examples per class."""
    fig = go.Figure(
        go.Bar(
            x=[str(c) for c in class_names],
            y=counts.tolist(),
            text=counts.tolist(),
            textposition="auto",
        )
    )
    fig.update_layout(
        xaxis={"title": "class", "type": "category"},
        yaxis_title="examples",
        height=300,
        margin={"l": 40, "r": 10, "t": 20, "b": 40},
    )
    return fig
