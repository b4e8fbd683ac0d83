"""threshold_curve (peaks found once per window) equals the old per-threshold computation.

Probabilities are (samples, 3) [noise, P, S] per window at 100 Hz; thresholds are GRID.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy.signal import find_peaks

from core.seismic.picking import PickOptions
from core.seismic.windows import NO_PICK, WaveformSet
from core.tasks.pick_scores import (
    GRID,
    _close_tie_height,
    _peaks_per_threshold,
    scores,
    threshold_curve,
)

RATE = 100.0
SHARED = Path(__file__).resolve().parents[3].parent / "shared"
REFERENCE = SHARED / "models" / "phasenet-2019" / "reference_probabilities.npz"
NCEDC = SHARED / "data" / "ncedc-phasenet"


def old_curve(probs, windows, rate, tolerance_s=0.5):
    """The computation threshold_curve replaced: find_picks + score_picks at every threshold."""
    rows = []
    for threshold in GRID:
        got = scores(
            probs, windows, rate, PickOptions(p_threshold=threshold, s_threshold=threshold)
        )
        row = {"threshold": threshold}
        for phase in ("p", "s"):
            for m in ("precision", "recall", "f1"):
                row[f"{phase}_{m}"] = round(got[f"val_{phase}_{m}_{tolerance_s:g}s"], 4)
        rows.append(row)
    return rows


def bumpy(rng, samples, centres, quantise=False):
    """A trace with Gaussian bumps of random heights and widths, some close together, plus
    noise; quantise=True rounds heights to 0.05 so that several peaks tie."""
    t = np.arange(samples)
    trace = np.zeros(samples)
    for c in centres:
        for _ in range(rng.integers(0, 4)):  # neighbours within and beyond 0.5 s
            c2 = c + rng.integers(-80, 80)
            trace = np.maximum(trace, rng.uniform(0.02, 1.0) * _bump(t, c2, rng.uniform(2, 20)))
        trace = np.maximum(trace, rng.uniform(0.1, 1.0) * _bump(t, c, rng.uniform(3, 30)))
    trace = np.clip(trace + rng.normal(0, 0.01, samples), 0, 1)
    return np.round(trace / 0.05) * 0.05 if quantise else trace


def _bump(t, centre, sigma):
    return np.exp(-((t - centre) ** 2) / (2 * sigma**2))


def random_case(seed, n=40, samples=1500, quantise=False):
    rng = np.random.default_rng(seed)
    itp = rng.integers(100, samples // 2, size=n)
    its = itp + rng.integers(50, samples // 3, size=n)
    its[::5] = NO_PICK
    probs = []
    for i in range(n):
        false = list(rng.integers(0, samples, size=rng.integers(0, 6)))
        p = bumpy(rng, samples, [itp[i] + rng.integers(-60, 60), *false], quantise)
        s_at = [its[i] + rng.integers(-60, 60)] if its[i] >= 0 else []
        s = bumpy(rng, samples, [*s_at, *false[:2]], quantise)
        s = np.minimum(s, 1 - p)
        probs.append(np.stack([1 - p - s, p, s], axis=-1).astype(np.float32))
    data = np.zeros((n, samples, 3), np.float32)
    return probs, WaveformSet(data, itp, its, RATE, [{} for _ in range(n)])


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("quantise", [False, True])
def test_same_curve_as_per_threshold_on_random_peaks(seed, quantise):
    probs, windows = random_case(seed, quantise=quantise)
    for tolerance in (0.1, 0.5):
        new = threshold_curve(probs, windows, RATE, tolerance)
        assert new == old_curve(probs, windows, RATE, tolerance)
    f1 = [row["p_f1"] for row in new]
    assert len(set(f1)) > 3  # the thresholds do change the picks


def test_same_peaks_as_find_peaks_per_threshold():
    rng = np.random.default_rng(7)
    distance = 50
    ties = 0
    for k in range(60):
        trace = bumpy(rng, 3000, list(rng.integers(0, 3000, size=8)), quantise=k % 3 == 0)
        peaks, kept = _peaks_per_threshold(trace, distance, np.asarray(GRID)[:, None])
        candidates, props = find_peaks(trace, height=GRID[0])
        ties += _close_tie_height(candidates, props["peak_heights"], distance) >= GRID[0]
        assert kept.shape == (len(GRID), len(peaks))
        for t, row in zip(GRID, kept, strict=True):
            assert np.array_equal(peaks[row], find_peaks(trace, height=t, distance=distance)[0])
    assert 0 < ties < 60  # both ways ran: directly (two close equal heights) and the shortcut


def real_case():
    """The published PhaseNet's own output on the 103 NCEDC windows (3000 samples from 1500
    of each file, so P at 1500) with the catalogue arrivals."""
    reference = np.load(REFERENCE)
    names = sorted(reference.files)
    probs, itp, its = [], [], []
    for name in names:
        with np.load(NCEDC / name) as f:
            itp.append(int(f["itp"]) - 1500)
            its.append(int(f["its"]) - 1500)
        probs.append(reference[name])
    data = np.zeros((len(names), 3000, 3), np.float32)
    windows = WaveformSet(data, np.asarray(itp), np.asarray(its), RATE, [{} for _ in names])
    return probs, windows


def test_same_curve_on_the_published_models_real_output():
    probs, windows = real_case()
    assert len(windows) == 103
    new = threshold_curve(probs, windows, RATE)
    assert new == old_curve(probs, windows, RATE)
    at_03 = next(row for row in new if row["threshold"] == 0.3)
    assert at_03["p_f1"] > 0.8 and at_03["s_f1"] > 0.8  # real picks, not an empty curve
