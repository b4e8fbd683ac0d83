"""find_peaks_above gives exactly scipy's find_peaks(height, distance) on the whole trace."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.signal import find_peaks

from core.seismic.peaks import find_peaks_above


def bumpy(n: int, seed: int) -> np.ndarray:
    """(n,) float32 probabilities: noise, bumps, flat tops and exact ties, values at the ends."""
    rng = np.random.default_rng(seed)
    x = np.abs(rng.normal(0, 0.1, n))
    for c in rng.integers(0, n, n // 40):
        x += 0.9 * np.exp(-(((np.arange(n) - c) / rng.uniform(2, 30)) ** 2))
    x = np.round(np.clip(x, 0, 1), 2)  # rounding makes plateaus and equal peak heights
    x[: rng.integers(0, 3)] = 0.95  # a run above the threshold at the very start
    x[n - rng.integers(1, 3) :] = 0.9  # and at the very end
    return x.astype(np.float32)


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("threshold, distance", [(0.3, 50), (0.5, 1), (0.3, 7), (0.95, 300)])
def test_same_peaks_and_heights_as_scipy(seed, threshold, distance):
    trace = bumpy(5000, seed)
    want, props = find_peaks(trace.astype(np.float64), height=threshold, distance=distance)
    got, heights = find_peaks_above(trace, threshold, distance)
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(heights, props["peak_heights"])


def test_strided_column_and_nothing_above_the_threshold():
    probs = np.stack([bumpy(3000, 1), bumpy(3000, 2), bumpy(3000, 3)], axis=1)
    want, _ = find_peaks(probs[:, 1].astype(np.float64), height=0.3, distance=50)
    np.testing.assert_array_equal(find_peaks_above(probs[:, 1], 0.3, 50)[0], want)
    peaks, heights = find_peaks_above(np.full(100, 0.2, np.float32), 0.3, 50)
    assert peaks.dtype == np.int64 and len(peaks) == 0 and len(heights) == 0
