"""Target curves for phase picking: per-sample noise / P / S probabilities.

Output (samples, 3) float32 with columns [noise, P, S]; noise = 1 - P - S (clipped at 0).
A missing arrival (None or negative) gives an all-zero curve for that phase: "no label".
"""

from __future__ import annotations

import numpy as np

LABEL_SHAPES = ("gaussian", "box", "triangle")
CLASS_NAMES = ("noise", "P", "S")  # the label columns, and the picker's output classes


def phase_curve(samples: int, arrival: float | None, shape: str, width: float) -> np.ndarray:
    """(samples,) float32 in [0, 1], peaking at `arrival` (sample index, may be fractional).

    gaussian: exp(-(t - arrival)^2 / (2 width^2)), width = standard deviation in samples;
    box: 1 within +-width samples (PhaseNet's build_label style); triangle: linear to 0 at +-width.
    """
    if shape not in LABEL_SHAPES:
        raise ValueError(f"label shape must be one of {LABEL_SHAPES}, got {shape!r}")
    curve = np.zeros(samples, np.float32)
    if arrival is None or arrival < 0 or arrival >= samples or width <= 0:
        return curve
    t = np.arange(samples, dtype=np.float32) - np.float32(arrival)
    if shape == "gaussian":
        curve = np.exp(-(t**2) / (2 * width**2))
        curve[np.abs(t) > 5 * width] = 0.0
    elif shape == "box":
        curve = (np.abs(t) <= width).astype(np.float32)
    else:
        curve = np.clip(1.0 - np.abs(t) / width, 0.0, 1.0)
    return curve.astype(np.float32)


def make_labels(
    samples: int, itp: float | None, its: float | None, shape: str = "gaussian", width: float = 20
) -> np.ndarray:
    """(samples, 3) float32 [noise, P, S] targets for one window."""
    p = phase_curve(samples, itp, shape, width)
    s = phase_curve(samples, its, shape, width)
    overlap = p + s
    scale = np.where(overlap > 1.0, overlap, 1.0)  # keep P + S <= 1 where curves overlap
    p, s = p / scale, s / scale
    noise = np.clip(1.0 - p - s, 0.0, 1.0)
    return np.stack([noise, p, s], axis=-1).astype(np.float32)
