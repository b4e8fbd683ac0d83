"""Peaks of a long probability trace: (samples,) float -> (peaks,) int64 indices, (peaks,) heights.

The same result as `scipy.signal.find_peaks(trace, height=threshold, distance=distance)`, but
only the parts of the trace at or above the threshold are searched: contiguous runs above it
(with one sample either side, for the local-maximum test) are grouped into clusters whose gaps
are shorter than `distance` (only peaks in one cluster can suppress each other), the clusters
are laid end to end with `distance` samples of -1 between them, and find_peaks runs once on
that short trace. A day of 100 Hz probabilities is 8.64 M samples, of which a few % are above a
pick threshold: ~10x less work than scanning the whole trace.
"""

from __future__ import annotations

import numpy as np

GAP = -1.0  # below any probability threshold (thresholds are in (0, 1])


def find_peaks_above(trace: np.ndarray, threshold: float, distance: int):
    """(indices int64, heights float64) of find_peaks(trace, height=threshold, distance=...)."""
    from scipy.signal import find_peaks

    trace = np.asarray(trace)
    n, distance = len(trace), max(1, int(distance))
    above = np.flatnonzero(trace >= np.float64(threshold))
    if len(above) == 0 or threshold <= GAP:
        return np.zeros(0, np.int64), np.zeros(0, np.float64)
    # runs of samples above the threshold, widened by one sample on each side
    breaks = np.flatnonzero(np.diff(above) > 1)
    first = np.maximum(np.r_[above[0], above[breaks + 1]] - 1, 0)
    last = np.minimum(np.r_[above[breaks], above[-1]] + 2, n)  # exclusive
    # clusters: runs closer than `distance` to the previous one stay together
    new = np.r_[True, first[1:] - last[:-1] >= distance]
    first, last = first[new], np.r_[last[np.flatnonzero(new)[1:] - 1], last[-1]]
    lengths = last - first
    # positions of the clusters in the short trace: each after the previous one and a gap
    offsets = np.r_[0, np.cumsum(lengths[:-1] + distance)]
    total = int(offsets[-1] + lengths[-1])
    index = np.full(total, -1, np.int64)  # record sample of each position, -1 in the gaps
    begins = np.r_[0, np.cumsum(lengths)[:-1]]  # of each cluster among the kept samples
    kept = np.arange(int(lengths.sum())) + np.repeat(first - begins, lengths)  # record samples
    index[kept + np.repeat(offsets - first, lengths)] = kept
    short = np.full(total, GAP, np.float64)
    inside = index >= 0
    short[inside] = trace[index[inside]]
    peaks, props = find_peaks(short, height=threshold, distance=distance)
    return index[peaks], props["peak_heights"]
