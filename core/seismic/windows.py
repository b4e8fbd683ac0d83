"""Three-component waveform windows and sets of them, with P/S arrival labels.

Data are float32 (samples, 3) in channel order E, N, Z (counts, or whatever the source holds);
arrival labels are sample indices, -1 (in arrays) or None (in a single window) for "no label".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np

NO_PICK = -1


@dataclass
class WaveformWindow:
    """One three-component window with its P and S arrival sample indices."""

    data: np.ndarray  # (samples, 3) float32, E, N, Z
    sampling_rate: float  # Hz
    itp: int | None  # P arrival (sample index) or None when unknown
    its: int | None  # S arrival (sample index) or None when unknown
    station: str = ""
    channels: tuple[str, str, str] = ("E", "N", "Z")
    present: tuple[bool, bool, bool] = (True, True, True)  # False: the component was missing
    start_time: float | None = None  # POSIX seconds (UTC) of the first sample, if known
    source: str = ""  # file name or generator description

    @property
    def samples(self) -> int:
        return int(self.data.shape[0])

    @property
    def duration_s(self) -> float:
        return self.samples / self.sampling_rate


@dataclass
class WaveformSet:
    """n windows of equal length, stored as arrays for fast pipelines."""

    data: np.ndarray  # (n, samples, 3) float32
    itp: np.ndarray  # (n,) int64, NO_PICK = no P label
    its: np.ndarray  # (n,) int64, NO_PICK = no S label
    sampling_rate: float  # Hz, the same for all windows
    meta: list[dict] = field(default_factory=list)  # per window: station, channels, present, ...

    def __len__(self) -> int:
        return int(self.data.shape[0])

    def window(self, i: int) -> WaveformWindow:
        meta = self.meta[i] if i < len(self.meta) else {}
        return WaveformWindow(
            data=self.data[i],
            sampling_rate=self.sampling_rate,
            itp=None if self.itp[i] < 0 else int(self.itp[i]),
            its=None if self.its[i] < 0 else int(self.its[i]),
            station=meta.get("station", ""),
            channels=tuple(meta.get("channels", ("E", "N", "Z"))),
            present=tuple(meta.get("present", (True, True, True))),
            start_time=meta.get("start_time"),
            source=meta.get("source", ""),
        )

    def subset(self, idx: np.ndarray) -> WaveformSet:
        idx = np.asarray(idx, dtype=np.int64)
        meta = [self.meta[i] for i in idx] if self.meta else []
        return WaveformSet(self.data[idx], self.itp[idx], self.its[idx], self.sampling_rate, meta)

    @classmethod
    def from_windows(cls, windows: list[WaveformWindow]) -> WaveformSet:
        """Stack windows of equal length and sampling rate."""
        if not windows:
            raise ValueError("no windows")
        lengths = {w.samples for w in windows}
        rates = {w.sampling_rate for w in windows}
        if len(lengths) != 1 or len(rates) != 1:
            raise ValueError(f"windows differ in length {sorted(lengths)} or rate {sorted(rates)}")
        return cls(
            data=np.stack([w.data for w in windows]).astype(np.float32),
            itp=np.array([NO_PICK if w.itp is None else w.itp for w in windows], np.int64),
            its=np.array([NO_PICK if w.its is None else w.its for w in windows], np.int64),
            sampling_rate=float(rates.pop()),
            meta=[
                {
                    "station": w.station,
                    "channels": list(w.channels),
                    "present": list(w.present),
                    "start_time": w.start_time,
                    "source": w.source,
                }
                for w in windows
            ],
        )


def resample(data: np.ndarray, rate: float, target: float) -> np.ndarray:
    """Samples along axis 0 at `rate` Hz -> float32 at `target` Hz: anti-aliased polyphase
    resampling by the nearest ratio with a denominator <= 1000 (shorter than 2: unchanged)."""
    from scipy.signal import resample_poly

    data = np.asarray(data, np.float64)
    if len(data) < 2:
        return data.astype(np.float32)
    ratio = Fraction(target / rate).limit_denominator(1000)
    return resample_poly(data, ratio.numerator, ratio.denominator, axis=0).astype(np.float32)
