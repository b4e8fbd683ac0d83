"""Synthetic windows: shapes, labels, seeding, realism checks and speed."""

from __future__ import annotations

import time

import numpy as np

from core.seismic.synthetic import make_synthetic, synthetic_event
from core.seismic.windows import NO_PICK


def test_shapes_dtypes_and_labels():
    w = make_synthetic(200, seed=1)
    assert w.data.shape == (200, 3001, 3) and w.data.dtype == np.float32
    assert w.itp.dtype == np.int64 and w.its.dtype == np.int64
    assert np.isfinite(w.data).all()
    assert w.sampling_rate == 100.0 and len(w.meta) == 200
    has_p = w.itp >= 0
    assert ((w.itp[has_p] >= 0) & (w.itp[has_p] < 3001)).all()
    both = has_p & (w.its >= 0)
    sp = (w.its[both] - w.itp[both]) / 100.0
    assert sp.min() >= 0.99 and sp.max() <= 25.0
    assert (w.its[~has_p] == NO_PICK).all()  # noise-only windows have neither pick
    no_s = has_p & (w.its < 0)
    assert 0.04 < no_s.mean() < 0.2  # about 10 % without S in the window
    assert 0 < (~has_p).mean() < 0.1  # a few noise-only windows


def test_same_seed_same_arrays_other_seed_differs():
    a, b, c = make_synthetic(30, 3), make_synthetic(30, 3), make_synthetic(30, 4)
    assert np.array_equal(a.data, b.data) and np.array_equal(a.itp, b.itp)
    assert not np.array_equal(a.data, c.data)


def test_arrivals_are_visible_and_polarised():
    w = make_synthetic(300, seed=2)
    idx = [i for i in range(300) if w.itp[i] > 200 and w.its[i] > 0 and w.meta[i]["snr_db"] > 15]
    assert len(idx) > 20
    ratios, z_share, s_horizontal = [], [], []
    for i in idx:
        p, s, d = w.itp[i], w.its[i], w.data[i].astype(np.float64)
        d = d - d[: p - 100].mean(axis=0)
        before = np.mean(d[p - 200 : p] ** 2)
        after = np.mean(d[p : p + 100] ** 2)
        ratios.append(after / before)
        z_share.append(np.mean(d[p : p + 50, 2] ** 2) / np.mean(d[p : p + 50] ** 2) / 3)
        seg = d[s : s + 100]
        s_horizontal.append(np.mean(seg[:, :2] ** 2) / np.mean(seg[:, 2] ** 2))
    assert np.median(ratios) > 10  # energy jumps at P
    assert np.median(z_share) > 0.5  # P is strongest on Z
    assert np.median(s_horizontal) > 1.5  # S is strongest on the horizontals


def test_p_has_higher_frequencies_than_s():
    w = make_synthetic(100, seed=9)
    p_centroid, s_centroid = [], []
    freqs = np.fft.rfftfreq(100, 0.01)
    for i in np.flatnonzero((w.itp > 0) & (w.its > 0)):
        for start, out in ((w.itp[i], p_centroid), (w.its[i], s_centroid)):
            seg = w.data[i, start : start + 100, 2].astype(np.float64)
            if len(seg) < 100:
                break
            spec = np.abs(np.fft.rfft(seg - seg.mean())) ** 2
            out.append(float((freqs * spec).sum() / spec.sum()))
    assert np.median(p_centroid) > np.median(s_centroid)


def test_2000_windows_in_a_few_seconds():
    start = time.process_time()
    w = make_synthetic(2000, seed=0)
    assert len(w) == 2000
    assert time.process_time() - start < 8.0  # CPU seconds; about 2 s on an idle core


def test_synthetic_event_is_noise_free_before_p():
    data, itp, its = synthetic_event(np.random.default_rng(0), 3001)
    assert data.shape == (3001, 3) and data.dtype == np.float32
    assert np.all(data[:itp] == 0) and np.abs(data[itp:]).max() > 0
    assert its is None or its > itp


def test_other_lengths_and_rates():
    w = make_synthetic(10, seed=0, samples=500, sampling_rate=50.0)
    assert w.data.shape == (10, 500, 3)
    assert (w.its < 500).all()
