"""Waveform augmentation ops: small callables on one window that draw, then apply.

(SuperposeEvent, BandPass and Normalize live in core.seismic.waveform_augment; WAVEFORM_OPS lists
all.)

Every op is a dataclass whose fields are its settings (what the JSON spec stores). It works in
two steps, as Keras preprocessing layers do:
    params = op.draw(window, rng)     # all randomness, from the np.random.Generator passed in
    window = op.apply(window, params) # deterministic; may modify `window` in place
    op.describe(params)               # "noise at 12.3 dB SNR", for the preview page
PARAMS maps numeric settings to slider ranges (min, max, step); CHOICES maps text settings to
their options. Windows are AugmentedWindow: (samples, 3) float32, E, N, Z, with the main P/S
picks plus any extra picks (a superposed second event), all in samples.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

from core.augment.spec import SpecOp
from core.seismic.labels import phase_curve
from core.seismic.windows import WaveformWindow


@dataclass
class AugmentedWindow:
    """A window under augmentation: data and every P and S pick that lies inside it."""

    data: np.ndarray  # (samples, 3) float32, E, N, Z
    sampling_rate: float  # Hz
    itp: int | None  # main P arrival (sample) or None
    its: int | None  # main S arrival (sample) or None
    extra_p: list[int] = field(default_factory=list)  # further P arrivals (superposed events)
    extra_s: list[int] = field(default_factory=list)
    present: tuple[bool, bool, bool] = (True, True, True)
    station: str = ""
    channels: tuple[str, ...] = ("E", "N", "Z")
    start_time: float | None = None  # POSIX s of sample 0, if known (not moved by shifts)
    source: str = ""

    @classmethod
    def from_window(cls, w: WaveformWindow | AugmentedWindow) -> AugmentedWindow:
        """A copy (float32 data) that ops may modify without touching the source arrays."""
        return cls(
            data=np.array(w.data, dtype=np.float32, copy=True),
            sampling_rate=float(w.sampling_rate),
            itp=w.itp,
            its=w.its,
            extra_p=list(getattr(w, "extra_p", [])),
            extra_s=list(getattr(w, "extra_s", [])),
            present=tuple(w.present),
            station=w.station,
            channels=tuple(w.channels),
            start_time=w.start_time,
            source=w.source,
        )

    @property
    def samples(self) -> int:
        return int(self.data.shape[0])

    @property
    def p_picks(self) -> list[int]:
        return ([] if self.itp is None else [self.itp]) + list(self.extra_p)

    @property
    def s_picks(self) -> list[int]:
        return ([] if self.its is None else [self.its]) + list(self.extra_s)

    def labels(self, shape: str = "gaussian", width: float = 20) -> np.ndarray:
        """(samples, 3) float32 [noise, P, S]: the max of one phase_curve per pick."""
        n = self.samples
        p = np.zeros(n, np.float32)
        s = np.zeros(n, np.float32)
        for curve, picks in ((p, self.p_picks), (s, self.s_picks)):
            for pick in picks:
                np.maximum(curve, phase_curve(n, pick, shape, width), out=curve)
        scale = np.maximum(p + s, 1.0)  # keep P + S <= 1 where curves overlap (as make_labels)
        p, s = p / scale, s / scale
        return np.stack([np.clip(1 - p - s, 0, 1), p, s], axis=-1).astype(np.float32)

    def move_picks(self, offset: int, keep=None) -> None:
        """Add offset to every pick; drop picks outside the window or where keep(pick) is False."""

        def moved(pick):
            if pick is None:
                return None
            pick += offset
            ok = 0 <= pick < self.samples and (keep is None or keep(pick))
            return int(pick) if ok else None

        self.itp, self.its = moved(self.itp), moved(self.its)
        self.extra_p = [q for q in map(moved, self.extra_p) if q is not None]
        self.extra_s = [q for q in map(moved, self.extra_s) if q is not None]


@dataclass
class WaveformOp(SpecOp):
    """Base of waveform ops (the SpecOp protocol): draw() takes a numpy Generator, apply() works
    on an AugmentedWindow; subclasses set NAME, LABEL, PARAMS, CHOICES."""

    def __post_init__(self):
        for key, (low, high, step) in self.PARAMS.items():
            is_int = isinstance(low, int) and isinstance(step, int)
            try:
                value = (int if is_int else float)(getattr(self, key))
            except (TypeError, ValueError):
                raise ValueError(f"{self.NAME}: {key} must be a number") from None
            setattr(self, key, value)
            if not low <= value <= high:
                raise ValueError(f"{self.NAME}: {key} = {value} is outside [{low}, {high}]")
        for key, options in self.CHOICES.items():
            if getattr(self, key) not in options:
                raise ValueError(f"{self.NAME}: {key} must be one of {options}")
        for key in self.PARAMS:
            if key.endswith("_min") and getattr(self, key) > getattr(self, key[:-4] + "_max"):
                raise ValueError(f"{self.NAME}: {key} is larger than {key[:-4]}_max")

    def draw(self, w: AugmentedWindow, rng: np.random.Generator) -> dict:
        return {}

    def apply(self, w: AugmentedWindow, params: dict) -> AugmentedWindow:
        raise NotImplementedError

    def describe(self, params: dict) -> str:
        return str(self)

    def __call__(self, w, rng: np.random.Generator) -> tuple[AugmentedWindow, str]:
        """Convenience for one op: copy, draw, apply -> (new window, description)."""
        w = AugmentedWindow.from_window(w)
        params = self.draw(w, rng)
        return self.apply(w, params), self.describe(params)

    def __str__(self) -> str:
        inner = ", ".join(f"{k}={v!r}" for k, v in self.settings().items())
        return f"{type(self).__name__}({inner})"


@dataclass
class RandomWindow(WaveformOp):
    """Cut `length` samples so that P (and S if it fits) land at a random position."""

    NAME: ClassVar[str] = "random_window"
    LABEL: ClassVar[str] = "Random window around the picks"
    PARAMS: ClassVar = {"length": (100, 60000, 100), "margin_s": (0.0, 20.0, 0.5)}
    length: int = 3001
    margin_s: float = 1.0  # arrivals at least this far from both ends

    def draw(self, w, rng):
        n, length = w.samples, int(self.length)
        lo, hi = min(0, n - length), max(0, n - length)
        margin = int(round(self.margin_s * w.sampling_rate))
        for phase, pick in enumerate((w.itp, w.its)):
            if pick is None:
                continue
            a, b = max(lo, pick + margin - length + 1), min(hi, pick - margin)
            if a <= b:
                lo, hi = a, b
            elif phase == 0:  # P closer to an edge than the margin allows: nearest start
                lo = hi = int(np.clip(pick - length // 2, lo, hi))
        return {"start": int(rng.integers(lo, hi + 1))}

    def apply(self, w, params):
        start, length = params["start"], int(self.length)
        out = np.zeros((length, 3), np.float32)
        a, b = max(start, 0), min(start + length, w.samples)
        if b > a:
            out[a - start : b - start] = w.data[a:b]
        w.data = out
        w.move_picks(-start)
        return w

    def describe(self, params):
        return f"window of {self.length} samples from sample {params['start']}"


@dataclass
class TimeShift(WaveformOp):
    """Shift the content by up to +-max_shift_s (zeros fill in); picks move with it."""

    NAME: ClassVar[str] = "time_shift"
    LABEL: ClassVar[str] = "Time shift"
    PARAMS: ClassVar = {"max_shift_s": (0.0, 60.0, 0.5)}
    max_shift_s: float = 5.0

    def draw(self, w, rng):
        most = int(round(self.max_shift_s * w.sampling_rate))
        return {"shift": int(rng.integers(-most, most + 1)), "rate": w.sampling_rate}

    def apply(self, w, params):
        k = params["shift"]
        if k:
            out = np.zeros_like(w.data)
            if abs(k) < w.samples:
                out[max(k, 0) : w.samples + min(k, 0)] = w.data[max(-k, 0) : w.samples - max(k, 0)]
            w.data = out
            w.move_picks(k)
        return w

    def describe(self, params):
        return f"shifted {params['shift'] / params['rate']:+.2f} s"


@dataclass
class AddNoise(WaveformOp):
    """Gaussian noise at an SNR drawn in [snr_db_min, snr_db_max] dB.

    Signal power: mean square of the (demeaned) data in the 2 s after P, or of the whole window
    without P; noise goes only onto components that are present.
    """

    NAME: ClassVar[str] = "add_noise"
    LABEL: ClassVar[str] = "Noise at an SNR"
    PARAMS: ClassVar = {"snr_db_min": (-10.0, 40.0, 1.0), "snr_db_max": (-10.0, 40.0, 1.0)}
    snr_db_min: float = 0.0
    snr_db_max: float = 20.0

    def draw(self, w, rng):
        snr = float(rng.uniform(self.snr_db_min, self.snr_db_max))
        return {"snr_db": snr, "noise_seed": int(rng.integers(2**31))}

    def apply(self, w, params):
        seg = w.data
        if w.itp is not None:
            seg = w.data[w.itp : w.itp + max(1, int(2 * w.sampling_rate))]
        mask = np.asarray(w.present, bool)
        if not mask.any():
            return w
        power = float(np.mean(np.var(seg[:, mask], axis=0)))
        std = np.float32(np.sqrt(power / 10 ** (params["snr_db"] / 10)))
        noise = np.random.default_rng(params["noise_seed"]).standard_normal(
            w.data.shape, dtype=np.float32
        )
        w.data += noise * std * mask.astype(np.float32)
        return w

    def describe(self, params):
        return f"noise at {params['snr_db']:.1f} dB SNR"


@dataclass
class AmplitudeScale(WaveformOp):
    """Multiply by a log-uniform gain in [gain_min, gain_max] (one, or one per component)."""

    NAME: ClassVar[str] = "amplitude_scale"
    LABEL: ClassVar[str] = "Amplitude scale"
    PARAMS: ClassVar = {"gain_min": (0.01, 100.0, 0.01), "gain_max": (0.01, 100.0, 0.01)}
    CHOICES: ClassVar = {"mode": ("same", "per component")}
    gain_min: float = 0.5
    gain_max: float = 2.0
    mode: str = "same"

    def draw(self, w, rng):
        k = 1 if self.mode == "same" else 3
        gains = np.exp(rng.uniform(np.log(self.gain_min), np.log(self.gain_max), size=k))
        return {"gains": [float(g) for g in gains]}

    def apply(self, w, params):
        w.data *= np.asarray(params["gains"], np.float32)
        return w

    def describe(self, params):
        gains = params["gains"]
        if len(gains) == 1:
            return f"gain x{gains[0]:.2f}"
        return "gains " + ", ".join(f"{c} x{g:.2f}" for c, g in zip("ENZ", gains, strict=True))


@dataclass
class ChannelDropout(WaveformOp):
    """With `probability`, zero 1 or 2 present components (never all) and mark them missing."""

    NAME: ClassVar[str] = "channel_dropout"
    LABEL: ClassVar[str] = "Channel dropout"
    PARAMS: ClassVar = {"probability": (0.0, 1.0, 0.05)}
    probability: float = 0.3

    def draw(self, w, rng):
        present = [c for c in range(3) if w.present[c]]
        hit = rng.random() < self.probability
        if not hit or len(present) < 2:
            return {"dropped": []}
        k = int(rng.integers(1, len(present)))
        return {"dropped": sorted(int(c) for c in rng.choice(present, size=k, replace=False))}

    def apply(self, w, params):
        if params["dropped"]:
            w.data[:, params["dropped"]] = 0.0
            w.present = tuple(p and c not in params["dropped"] for c, p in enumerate(w.present))
        return w

    def describe(self, params):
        dropped = params["dropped"]
        return "dropped " + ", ".join("ENZ"[c] for c in dropped) if dropped else "no dropout"


@dataclass
class Gaps(WaveformOp):
    """With `probability`, zero 1..max_gaps segments of up to max_gap_s on all components.

    A gap over an arrival removes that pick (its label becomes NO_PICK / is dropped).
    """

    NAME: ClassVar[str] = "gaps"
    LABEL: ClassVar[str] = "Gaps (zeroed segments)"
    PARAMS: ClassVar = {
        "probability": (0.0, 1.0, 0.05),
        "max_gaps": (1, 10, 1),
        "max_gap_s": (0.01, 30.0, 0.1),
    }
    probability: float = 0.3
    max_gaps: int = 2
    max_gap_s: float = 2.0

    def draw(self, w, rng):
        if rng.random() >= self.probability:
            return {"gaps": [], "rate": w.sampling_rate}
        longest = max(1, int(round(self.max_gap_s * w.sampling_rate)))
        gaps = []
        for _ in range(int(rng.integers(1, int(self.max_gaps) + 1))):
            start = int(rng.integers(0, w.samples))
            gaps.append([start, min(w.samples, start + int(rng.integers(1, longest + 1)))])
        return {"gaps": gaps, "rate": w.sampling_rate}

    def apply(self, w, params):
        gaps = params["gaps"]
        for start, end in gaps:
            w.data[start:end] = 0.0
        if gaps:
            w.move_picks(0, keep=lambda t: not any(a <= t < b for a, b in gaps))
        return w

    def describe(self, params):
        if not params["gaps"]:
            return "no gaps"
        rate = params["rate"]
        return "gaps " + ", ".join(f"{a / rate:.2f}-{b / rate:.2f} s" for a, b in params["gaps"])
