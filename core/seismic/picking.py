"""Phase picking on continuous data of any length with a window model (e.g. PhaseNet).

    data (samples, 3) float32 E, N, Z
      -> sliding windows of the model's length, `overlap` fraction in common
      -> batched predictions (batch, window, 3) [noise, P, S]
      -> stitched into one (samples, 3) probability trace
      -> peaks above a threshold per phase, at least `min_distance_s` apart -> Picks

Stitching is a weighted average: each window's output is weighted by a taper that is 1 in the
middle and falls to ~0 at its ends, so where windows overlap the one that sees the sample in its
interior dominates (a network's output is least reliable near the window edges, where it lacks
context), while a sample that only one window covers (the record's two ends) keeps that window's
value. `stacking="max"` takes the largest value among the windows that see the sample in their
interior instead. The predict function is injectable: anything mapping (batch, window, 3) float32
to (batch, window, 3) probabilities, so the stitching can be tested with a known function; it
is called from one worker thread, one batch at a time, the next batch while the last one is
stitched (core.seismic.stitching); peaks come from core.seismic.peaks.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from core.runs import artifacts
from core.seismic.fast_inference import FastPredictor
from core.seismic.peaks import find_peaks_above
from core.seismic.stitching import Stitcher
from core.seismic.windows import resample

PHASES = ("P", "S")
STACKING = ("avg", "max")
EDGE_FLOOR = 1e-3  # weight of a window's first and last sample (relative to its middle)

PredictFn = Callable[[np.ndarray], np.ndarray]
ProgressFn = Callable[[int, int], None]


class PickingError(ValueError):
    """Input or a model that cannot be used for picking; the message is meant for the user."""


@dataclass
class PickOptions:
    """How to slide, stitch and pick (thresholds are probabilities, distances seconds)."""

    p_threshold: float = 0.3
    s_threshold: float = 0.3
    min_distance_s: float = 0.5  # between two picks of the same phase
    overlap: float = 0.5  # fraction of the window shared by neighbouring windows, [0, 1)
    batch_size: int = 64
    stacking: str = "avg"  # avg (edge-weighted) | max (of the window interiors)

    def validate(self) -> None:
        for name in ("p_threshold", "s_threshold"):
            if not 0 < getattr(self, name) <= 1:
                raise PickingError(f"{name} must be in (0, 1], got {getattr(self, name)}")
        if not 0 <= self.overlap < 1:
            raise PickingError(f"overlap must be in [0, 1), got {self.overlap}")
        if self.batch_size < 1:
            raise PickingError(f"batch size must be at least 1, got {self.batch_size}")
        if self.min_distance_s < 0:
            raise PickingError(f"min distance must not be negative, got {self.min_distance_s}")
        if self.stacking not in STACKING:
            raise PickingError(f"stacking must be one of {STACKING}, got {self.stacking!r}")


@dataclass
class Pick:
    """One phase arrival found in a record."""

    phase: str  # "P" or "S"
    sample: int  # index into the record's samples (at the model's sampling rate)
    time: float  # POSIX seconds (UTC)
    probability: float  # peak value of the phase's probability trace
    station: str = ""  # NET.STA.LOC.BI as in core.seismic.obspy_source
    channel: str = ""  # SEED channel the pick refers to (Z for P, a horizontal for S), if known

    @property
    def time_iso(self) -> str:
        """ISO 8601 UTC with microseconds and a Z, e.g. 2024-01-01T00:00:12.340000Z."""
        from obspy import UTCDateTime

        return str(UTCDateTime(self.time))

    def to_dict(self) -> dict:
        return {**asdict(self), "time_iso": self.time_iso}


@dataclass
class PickingResult:
    """Stitched probabilities and picks of one record."""

    probabilities: np.ndarray  # (samples, 3) float32 [noise, P, S]
    picks: list[Pick]
    sampling_rate: float  # Hz of `probabilities` (the model's)
    start_time: float  # POSIX s of sample 0
    station: str = ""
    windows: int = 0  # model windows evaluated
    seconds: float = 0.0  # wall time of prediction and picking
    notes: list[str] = field(default_factory=list)


def window_starts(samples: int, window: int, overlap: float) -> np.ndarray:
    """(k,) int64 start samples: step window - round(window * overlap); the last ends at the end.

    A record shorter than one window gets the single start 0 (it is zero-padded).
    """
    if window < 1:
        raise PickingError(f"window must be at least 1 sample, got {window}")
    step = max(1, window - int(round(window * overlap)))
    if samples <= window:
        return np.zeros(1, np.int64)
    starts = np.arange(0, samples - window + 1, step, dtype=np.int64)
    if starts[-1] != samples - window:
        starts = np.append(starts, samples - window)
    return starts


def edge_weights(window: int, overlap: float) -> np.ndarray:
    """(window,) float32 taper: a half-cosine from EDGE_FLOOR to 1 over each end, 1 in between.

    Each ramp is half the overlap long, so in an overlap the window that sees a sample further
    from its own edge gets the larger weight. No overlap: all ones.
    """
    weights = np.ones(window, np.float32)
    ramp = int(round(window * overlap)) // 2
    if ramp < 1:
        return weights
    x = (np.arange(ramp, dtype=np.float64) + 0.5) / ramp
    rise = EDGE_FLOOR + (1 - EDGE_FLOOR) * 0.5 * (1 - np.cos(np.pi * x))
    weights[:ramp] = rise
    weights[window - ramp :] = rise[::-1]
    return weights


def predict_probabilities(
    predict: PredictFn,
    data: np.ndarray,
    window: int,
    overlap: float = 0.5,
    batch_size: int = 64,
    stacking: str = "avg",
    progress: ProgressFn | None = None,
) -> tuple[np.ndarray, int]:
    """(samples, 3) float32 data -> ((samples, 3) float32 stitched probabilities, windows)."""
    data = np.asarray(data, np.float32)
    if data.ndim != 2 or data.shape[1] != 3:
        raise PickingError(f"expected data of shape (samples, 3), got {data.shape}")
    if not np.isfinite(data).all():
        raise PickingError("the data contain NaN or infinite values")
    samples = data.shape[0]
    if samples == 0:
        raise PickingError("the record has no samples")
    if samples < window:
        data = np.concatenate([data, np.zeros((window - samples, 3), np.float32)])
    starts = window_starts(samples, window, overlap)
    stitcher = Stitcher(data.shape[0], window, starts, edge_weights(window, overlap), stacking)
    # (positions, window, 3) read-only view: indexing it with starts copies a batch in one go
    step, channel = data.strides
    views = np.lib.stride_tricks.as_strided(
        data, (data.shape[0] - window + 1, window, 3), (step, step, channel), writeable=False
    )

    def run(first: int) -> tuple[tuple, np.ndarray]:
        batch = views[starts[first : first + batch_size]]
        return batch.shape, np.asarray(predict(batch), np.float32)

    # the next batch is assembled and predicted in a second thread while this one is stitched
    # (one predict call at a time; the progress callback stays on the caller's thread)
    with ThreadPoolExecutor(1, thread_name_prefix="picking-prefetch") as pool:
        pending = pool.submit(run, 0)
        for first in range(0, len(starts), batch_size):
            shape, probs = pending.result()
            if first + batch_size < len(starts):
                pending = pool.submit(run, first + batch_size)
            if probs.shape != shape:
                raise PickingError(f"the model returned shape {probs.shape} for input {shape}")
            stitcher.add(first, probs)
            if progress is not None:
                progress(min(first + batch_size, len(starts)), len(starts))
    out = stitcher.result()
    return out[:samples], len(starts)


def find_picks(
    probabilities: np.ndarray,
    sampling_rate: float,
    start_time: float = 0.0,
    options: PickOptions | None = None,
    station: str = "",
    channels: tuple[str, str, str] = ("", "", ""),
) -> list[Pick]:
    """Peaks of the P and S columns above their thresholds, >= min_distance_s apart, by time
    (scipy.signal.find_peaks with height and distance, on the parts above the threshold)."""
    options = options or PickOptions()
    distance = max(1, int(round(options.min_distance_s * sampling_rate)))
    picks = []
    for column, phase in ((1, "P"), (2, "S")):
        threshold = options.p_threshold if phase == "P" else options.s_threshold
        peaks, heights = find_peaks_above(probabilities[:, column], threshold, distance)
        channel = _pick_channel(phase, channels)
        picks += [
            Pick(phase, int(i), start_time + i / sampling_rate, float(h), station, channel)
            for i, h in zip(peaks, heights, strict=True)
        ]
    return sorted(picks, key=lambda p: (p.sample, p.phase))


def pick_array(
    predict: PredictFn,
    data: np.ndarray,
    sampling_rate: float,
    window: int,
    start_time: float = 0.0,
    options: PickOptions | None = None,
    station: str = "",
    channels: tuple[str, str, str] = ("", "", ""),
    progress: ProgressFn | None = None,
) -> PickingResult:
    """Slide, predict, stitch and pick one (samples, 3) record."""
    options = options or PickOptions()
    options.validate()
    began = time.perf_counter()
    probs, windows = predict_probabilities(
        predict, data, window, options.overlap, options.batch_size, options.stacking, progress
    )
    picks = find_picks(probs, sampling_rate, start_time, options, station, channels)
    return PickingResult(
        probs, picks, sampling_rate, start_time, station, windows, time.perf_counter() - began
    )


def read_picking_meta(run_dir: Path) -> dict:
    """model.json of a finished picking run (PickingError if missing or another task)."""
    try:
        meta = artifacts.read_model_meta(run_dir)
    except artifacts.ArtifactError as err:
        raise PickingError(str(err)) from None
    if meta["task"] != "picking":
        raise PickingError(f"run {Path(run_dir).name} is a {meta['task']} run, not a phase picker")
    return meta


def _pick_channel(phase: str, channels: tuple[str, str, str]) -> str:
    """The SEED code a pick refers to: Z for P; N (else E) for S; "" when unknown."""
    e, n, z = (c if c and c != "-" else "" for c in channels)
    return z if phase == "P" else (n or e)


class Picker:
    """A trained picking model with its window length and sampling rate (from model.json)."""

    def __init__(self, model, meta: dict):
        self.model = model
        self.meta = meta
        self.window = int(model.input_shape[1])
        self.sampling_rate = float(meta.get("sampling_rate", 100.0))
        self.dataset = str(meta.get("dataset", ""))
        # backend from TFLAB_FAST_INFERENCE: onnx (default; BN folded, onnxruntime), tf, xla, 0
        # (plain Keras); onnxruntime missing -> folded TF graph; unknown layers -> plain Keras
        self._fast = FastPredictor(model, self.window)

    @classmethod
    def from_run(cls, run_dir: Path) -> Picker:
        """Load run_dir/model.keras (Keras safe mode) and model.json of a picking run."""
        meta = read_picking_meta(run_dir)
        try:
            model = artifacts.load_model(run_dir, compile=False)
        except artifacts.ArtifactError as err:
            raise PickingError(str(err)) from None
        return cls(model, meta)

    def predict(self, batch: np.ndarray) -> np.ndarray:
        """(batch, window, 3) float32 -> (batch, window, 3) float32 probabilities."""
        return self._fast(batch)

    def pick(
        self,
        data: np.ndarray,
        sampling_rate: float,
        start_time: float = 0.0,
        options: PickOptions | None = None,
        station: str = "",
        channels: tuple[str, str, str] = ("", "", ""),
        progress: ProgressFn | None = None,
    ) -> PickingResult:
        """Pick a (samples, 3) record, resampled to the model's rate first if needed."""
        notes = []
        if abs(sampling_rate - self.sampling_rate) > 1e-6 * self.sampling_rate:
            data = resample(data, sampling_rate, self.sampling_rate)
            notes.append(f"resampled {sampling_rate:g} Hz -> {self.sampling_rate:g} Hz")
        result = pick_array(
            self.predict,
            data,
            self.sampling_rate,
            self.window,
            start_time,
            options,
            station,
            channels,
            progress,
        )
        result.notes = notes
        return result

    def pick_record(self, record, options=None, progress=None) -> PickingResult:
        """Pick a core.seismic.obspy_source.ContinuousRecord."""
        result = self.pick(
            record.data,
            record.sampling_rate,
            record.start_time,
            options,
            record.station,
            tuple(record.channels),
            progress,
        )
        result.notes = list(record.notes) + result.notes
        return result
