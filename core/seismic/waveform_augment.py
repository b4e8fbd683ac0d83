"""Waveform augmentation pipelines: the same code for the preview page and for training.

A WaveformPipeline is an ordered list of ops: those in core.seismic.waveform_ops (window, shift,
noise, gain, dropout, gaps) and the ones below (superposed event, band-pass, normalisation).
It prints one op per line, round-trips through a JSON spec, and takes its randomness from the
np.random.Generator passed in (never the global np.random).

Pipeline settings and slider ranges: WAVEFORM_OPS[name].PARAMS = {setting: (min, max, step)}
and .CHOICES = {setting: options}; a spec is [{"op": name, **settings}, ...]. SuperposeEvent's
pool of windows is not in the spec: pass it to from_spec(spec, pool=...) or with_pool(...).

Seeds. Example `index` of the training split in epoch `epoch` is augmented with

    element_rng(seed, epoch, index)        # np.random.default_rng([seed, epoch, index])

so the result depends only on (seed, epoch, index, pipeline): not on shuffling, batching or
parallel calls. `preview(pipeline, window, seed, variants, index)` shows variant v with
element_rng(seed, v, index): exactly what the model gets for that example in epoch v (0-based).

Training use (inside a generator or tf.numpy_function):

    w, _ = pipeline(train.window(i), element_rng(seed, epoch, i))
    x, y = w.data, w.labels(label_shape, label_width)   # (samples', 3) float32 each

pipeline.output_samples(samples) gives samples' (a RandomWindow changes the length).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

from core.augment.spec import ops_from_spec, to_spec
from core.seismic.waveform_ops import (
    AddNoise,
    AmplitudeScale,
    AugmentedWindow,
    ChannelDropout,
    Gaps,
    RandomWindow,
    TimeShift,
    WaveformOp,
)
from core.seismic.windows import WaveformSet, WaveformWindow

__all__ = [
    "WAVEFORM_OPS",
    "AddNoise",
    "AmplitudeScale",
    "AugmentedWindow",
    "BandPass",
    "ChannelDropout",
    "Gaps",
    "Normalize",
    "RandomWindow",
    "SuperposeEvent",
    "TimeShift",
    "WaveformOp",
    "WaveformPipeline",
    "element_rng",
    "preview",
]


@dataclass
class SuperposeEvent(WaveformOp):
    """With `probability`, add a second event whose P lands at a random sample.

    The event is a window from `pool` (a WaveformSet given at run time, e.g. the training split;
    not part of the spec) or a noise-free synthetic event. Its peak is `scale` (drawn in
    [scale_min, scale_max]) times this window's peak; its P and S picks become extra labels.
    """

    NAME: ClassVar[str] = "superpose_event"
    LABEL: ClassVar[str] = "Superposed second event"
    PARAMS: ClassVar = {
        "probability": (0.0, 1.0, 0.05),
        "scale_min": (0.05, 5.0, 0.05),
        "scale_max": (0.05, 5.0, 0.05),
    }
    CHOICES: ClassVar = {"source": ("pool", "synthetic")}
    probability: float = 0.5
    scale_min: float = 0.2
    scale_max: float = 1.0
    source: str = "pool"
    pool: WaveformSet | None = field(default=None, repr=False, compare=False)

    def draw(self, w, rng):
        if rng.random() >= self.probability:
            return {"applied": False}
        params = {"applied": True, "scale": float(rng.uniform(self.scale_min, self.scale_max))}
        if self.source == "pool" and self.pool is not None and len(self.pool):
            params["index"] = int(rng.integers(len(self.pool)))
        else:
            params["event_seed"] = int(rng.integers(2**31))
        params["target"] = int(rng.integers(0, w.samples))  # where the event's P lands
        params["rate"] = w.sampling_rate
        return params

    def apply(self, w, params):
        if not params["applied"]:
            return w
        event, itp, its = self._event(params, w)
        shift = params["target"] - (itp if itp is not None else len(event) // 2)
        placed = np.zeros_like(w.data)
        a, b = max(shift, 0), min(w.samples, len(event) + shift)
        if b > a:
            placed[a:b] = event[a - shift : b - shift]
        peak_event = float(np.abs(placed).max())
        if peak_event > 0:
            factor = params["scale"] * float(np.abs(w.data).max() or 1.0) / peak_event
            placed *= np.float32(factor) * np.asarray(w.present, np.float32)
            w.data += placed
        for pick, picks in ((itp, w.extra_p), (its, w.extra_s)):
            if pick is not None and 0 <= pick + shift < w.samples:
                picks.append(int(pick + shift))
        return w

    def _event(self, params, w) -> tuple[np.ndarray, int | None, int | None]:
        if "index" in params and self.pool is not None:
            i = params["index"]
            itp, its = int(self.pool.itp[i]), int(self.pool.its[i])
            return self.pool.data[i], itp if itp >= 0 else None, its if its >= 0 else None
        from core.seismic.synthetic import synthetic_event

        rng = np.random.default_rng(params["event_seed"])
        return synthetic_event(rng, w.samples, w.sampling_rate)

    def describe(self, params):
        if not params["applied"]:
            return "no second event"
        where = f"pool #{params['index']}" if "index" in params else "synthetic"
        at = params["target"] / params["rate"]
        return f"second event ({where}) x{params['scale']:.2f}, its P at {at:.2f} s"


@dataclass
class BandPass(WaveformOp):
    """Zero-phase Butterworth band-pass (scipy sosfiltfilt), corners in Hz (upper < Nyquist)."""

    NAME: ClassVar[str] = "bandpass"
    LABEL: ClassVar[str] = "Band-pass filter"
    PARAMS: ClassVar = {
        "freqmin": (0.01, 50.0, 0.01),
        "freqmax": (0.1, 200.0, 0.1),
        "order": (1, 8, 1),
    }
    freqmin: float = 1.0
    freqmax: float = 20.0
    order: int = 4

    def __post_init__(self):
        super().__post_init__()
        if self.freqmin >= self.freqmax:
            raise ValueError(f"bandpass: freqmin {self.freqmin} must be below freqmax")

    def apply(self, w, params):
        rate = w.sampling_rate
        sos, zi = _butter_sos(float(self.freqmin), float(self.freqmax), int(self.order), rate)
        w.data = _filtfilt(sos, zi, w.data)
        return w

    def describe(self, params):
        return f"band-pass {self.freqmin:g}-{self.freqmax:g} Hz (order {self.order}, zero-phase)"


@functools.lru_cache(maxsize=64)
def _butter_sos(freqmin: float, freqmax: float, order: int, rate: float):
    """(sos, its steady-state zi) of a Butterworth band-pass; upper corner kept < Nyquist."""
    from scipy.signal import butter, sosfilt_zi

    high = min(freqmax, 0.95 * rate / 2)
    if freqmin >= high:
        sos = butter(order, high, btype="lowpass", fs=rate, output="sos")
    else:
        sos = butter(order, [freqmin, high], btype="bandpass", fs=rate, output="sos")
    return sos, sosfilt_zi(sos)


def _filtfilt(sos: np.ndarray, zi: np.ndarray, data: np.ndarray) -> np.ndarray:
    """scipy.signal.sosfiltfilt (odd padding, steady-state start) with a cached zi; (n, 3)."""
    from scipy.signal import sosfilt

    x = np.ascontiguousarray(data.T, dtype=np.float64)  # (3, n)
    pad = min(3 * (2 * len(sos) + 1), x.shape[1] - 1)
    if pad > 0:
        left, right = x[:, pad:0:-1], x[:, -2 : -pad - 2 : -1]
        x = np.concatenate([2 * x[:, :1] - left, x, 2 * x[:, -1:] - right], axis=1)
    y, _ = sosfilt(sos, x, axis=-1, zi=zi[:, None, :] * x[None, :, :1])
    y = y[:, ::-1]
    y, _ = sosfilt(sos, y, axis=-1, zi=zi[:, None, :] * y[None, :, :1])
    y = y[:, ::-1]
    if pad > 0:
        y = y[:, pad:-pad]
    return np.ascontiguousarray(y.T, dtype=np.float32)


@dataclass
class Normalize(WaveformOp):
    """Demean, then divide by the std or the peak |amplitude|, of the window or each component."""

    NAME: ClassVar[str] = "normalize"
    LABEL: ClassVar[str] = "Normalise"
    CHOICES: ClassVar = {"mode": ("std", "peak"), "scope": ("window", "component")}
    mode: str = "std"
    scope: str = "window"

    def apply(self, w, params):
        w.data -= w.data.mean(axis=0, keepdims=True)
        axis = None if self.scope == "window" else 0
        if self.mode == "std":
            scale = w.data.std(axis=axis, keepdims=axis is not None)
        else:
            scale = np.abs(w.data).max(axis=axis, keepdims=axis is not None)
        w.data /= np.where(scale > 0, scale, 1).astype(np.float32)
        return w

    def describe(self, params):
        return f"normalised by {self.mode} per {self.scope}"


WAVEFORM_OPS: dict[str, type[WaveformOp]] = {
    cls.NAME: cls
    for cls in (
        RandomWindow,
        TimeShift,
        AddNoise,
        AmplitudeScale,
        ChannelDropout,
        Gaps,
        BandPass,
        Normalize,
        SuperposeEvent,
    )
}


def element_rng(seed: int, epoch: int, index: int) -> np.random.Generator:
    """The generator for example `index` in `epoch` (all >= 0): preview and training share it."""
    if min(seed, epoch, index) < 0:
        raise ValueError(f"seed, epoch and index must be >= 0, got {seed}, {epoch}, {index}")
    return np.random.default_rng([int(seed), int(epoch), int(index)])


class WaveformPipeline:
    """An ordered list of waveform ops applied to one (samples, 3) float32 window."""

    def __init__(self, ops: list | tuple = ()):
        self.ops = list(ops)
        for k, op in enumerate(self.ops):
            if not isinstance(op, WaveformOp):
                raise ValueError(f"step {k + 1}: {op!r} is not a waveform augmentation op")

    def __call__(
        self, window: WaveformWindow | AugmentedWindow, rng: np.random.Generator
    ) -> tuple[AugmentedWindow, list[str]]:
        """(augmented copy of window, one line per op saying what it drew)."""
        w = AugmentedWindow.from_window(window)
        lines = []
        for op in self.ops:
            params = op.draw(w, rng)
            w = op.apply(w, params)
            lines.append(op.describe(params))
        return w, lines

    def output_samples(self, samples: int) -> int:
        """Window length after the pipeline for an input of `samples` samples."""
        for op in self.ops:
            if isinstance(op, RandomWindow):
                samples = int(op.length)
        return samples

    def with_pool(self, pool: WaveformSet | None) -> WaveformPipeline:
        """Give every SuperposeEvent op its pool of windows (in place); returns self."""
        for op in self.ops:
            if isinstance(op, SuperposeEvent):
                op.pool = pool
        return self

    def to_spec(self) -> list[dict]:
        return to_spec(self.ops)

    @classmethod
    def from_spec(cls, spec: list[dict], pool: WaveformSet | None = None) -> WaveformPipeline:
        """Rebuild from to_spec() output; ValueError names the step and what is wrong."""
        return cls(ops_from_spec(spec, WAVEFORM_OPS)).with_pool(pool)

    def __len__(self) -> int:
        return len(self.ops)

    def __eq__(self, other) -> bool:
        return isinstance(other, WaveformPipeline) and self.ops == other.ops

    def __str__(self) -> str:
        return "\n".join(str(op) for op in self.ops) or "(no augmentation)"


def preview(
    pipeline: WaveformPipeline,
    window: WaveformWindow | AugmentedWindow,
    seed: int,
    variants: int,
    index: int = 0,
) -> list[tuple[AugmentedWindow, list[str]]]:
    """Variant v = what training gives example `index` in epoch v: element_rng(seed, v, index)."""
    return [pipeline(window, element_rng(seed, v, index)) for v in range(variants)]
