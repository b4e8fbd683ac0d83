"""A built-in continuous record for demos and benchmarks: synthetic events back to back.

Windows of core.seismic.synthetic (30 s each, one event in most) are scaled to a common noise
level (unit standard deviation before P) and concatenated, then cut to the requested duration.
The true arrivals come along, so picks on this record can be scored.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.seismic.obspy_source import ContinuousRecord

DEFAULT_START = 1_704_067_200.0  # 2024-01-01T00:00:00Z
STATION = "SY.SYN..HH"
CHANNELS = ("HHE", "HHN", "HHZ")


@dataclass
class SyntheticRecord:
    """A ContinuousRecord with its true P and S arrivals (sample indices into the record)."""

    record: object  # core.seismic.obspy_source.ContinuousRecord
    itp: np.ndarray  # (events,) int64
    its: np.ndarray  # (events with S,) int64


def synthetic_record(
    duration_s: float,
    seed: int = 0,
    sampling_rate: float = 100.0,
    start_time: float = DEFAULT_START,
    window_s: float = 30.0,
) -> SyntheticRecord:
    """(duration_s * sampling_rate, 3) float32 record of concatenated synthetic events."""
    from core.seismic.synthetic import make_synthetic

    samples = int(round(duration_s * sampling_rate))
    per_window = int(round(window_s * sampling_rate)) + 1
    if samples < 1:
        raise ValueError(f"duration must be positive, got {duration_s} s")
    count = -(-samples // per_window)
    windows = make_synthetic(count, seed, samples=max(per_window, 100), sampling_rate=sampling_rate)
    data = windows.data.copy()
    for i in range(count):  # unit noise level: std of the samples before P (or of all)
        quiet = data[i, : windows.itp[i]] if windows.itp[i] > 100 else data[i]
        data[i] /= max(float(np.std(quiet)), 1e-12)
    data = data.reshape(-1, 3)[:samples]
    offsets = np.arange(count, dtype=np.int64) * per_window
    itp = offsets + windows.itp
    its = offsets + windows.its
    itp = itp[(windows.itp >= 0) & (itp < samples)]
    its = its[(windows.its >= 0) & (its < samples)]
    record = ContinuousRecord(
        station=STATION,
        data=np.ascontiguousarray(data),
        sampling_rate=float(sampling_rate),
        start_time=float(start_time),
        present=(True, True, True),
        notes=[f"synthetic: {count} events of {window_s:g} s back to back (seed {seed})"],
        channels=CHANNELS,
        source=f"synthetic {duration_s / 60:g} min",
    )
    return SyntheticRecord(record, itp.astype(np.int64), its.astype(np.int64))
