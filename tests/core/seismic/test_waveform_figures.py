"""Waveform figure builders without a browser: traces, point limits, timing on an hour of data."""

from __future__ import annotations

import time

import numpy as np
import plotly.graph_objects as go
import pytest

from dashboard.waveform_figures import (
    bar_figure,
    histogram_figure,
    minmax_decimate,
    spectrogram_figure,
    three_component_figure,
)

HOUR = 360_000


def test_minmax_decimate_keeps_peaks_and_order():
    y = np.random.default_rng(0).standard_normal(HOUR).astype(np.float32)
    y[123_457] = 40.0
    y[250_001] = -35.0
    idx, values = minmax_decimate(y, 4000)
    assert len(idx) <= 4000 and np.all(np.diff(idx) >= 0)
    assert values.max() == 40.0 and values.min() == -35.0
    np.testing.assert_array_equal(values, y[idx])
    small_idx, small = minmax_decimate(y[:100], 4000)
    assert len(small) == 100 and np.array_equal(small_idx, np.arange(100))


def test_three_component_figure_traces_and_picks():
    data = np.random.default_rng(1).standard_normal((3001, 3)).astype(np.float32)
    labels = np.zeros((3001, 3), np.float32)
    fig = three_component_figure(
        data,
        100.0,
        1.6e9,
        {"P": [500, 2500], "S": [900]},
        labels,
        "test",
        present=(True, False, True),
    )
    names = [t.name for t in fig.data]
    assert names[:3] == ["E", "N", "Z"]
    assert all(isinstance(t, go.Scattergl) for t in fig.data[:3])
    assert names.count("P") == 3 and names.count("S") == 3  # one per component row
    assert sum(t.showlegend is True for t in fig.data if t.name == "P") == 1
    assert {"noise label", "P label", "S label"} <= set(names)
    p_trace = next(t for t in fig.data if t.name == "P")
    assert list(p_trace.x)[:2] == [5.0, 5.0] and p_trace.x[2] is None
    assert fig.data[0].x[-1] == pytest.approx(30.0)
    assert "2020-09-13T12:26:40" in fig.layout.xaxis4.title.text
    assert any(a.text == "missing component" for a in fig.layout.annotations)
    plain = three_component_figure(data, 100.0)
    assert len(plain.data) == 3 and plain.layout.xaxis3.title.text == "time (s)"
    with pytest.raises(ValueError, match=r"\(samples, 3\)"):
        three_component_figure(data[:, :2], 100.0)


def test_an_hour_of_data_is_fast_and_thinned():
    data = np.random.default_rng(2).standard_normal((HOUR, 3)).astype(np.float32)
    labels = np.zeros((HOUR, 3), np.float32)
    three_component_figure(data[:5000], 100.0, labels=labels[:5000])  # warm up plotly
    start = time.perf_counter()
    fig = three_component_figure(data, 100.0, 0.0, {"P": [1000]}, labels)
    assert time.perf_counter() - start < 1.0
    assert all(len(t.x) <= 4000 for t in fig.data)
    assert len(fig.to_json()) < 2_000_000


def test_spectrogram_figure():
    t = np.arange(6000) / 100.0
    trace = np.sin(2 * np.pi * 10 * t)
    fig = spectrogram_figure(trace, 100.0)
    heat = fig.data[0]
    assert isinstance(heat, go.Heatmap)
    z = np.asarray(heat.z)
    peak_freq = np.asarray(heat.y)[z.mean(axis=1).argmax()]
    assert peak_freq == pytest.approx(10.0, abs=0.5)
    long = spectrogram_figure(np.random.default_rng(0).standard_normal(HOUR), 100.0)
    assert np.asarray(long.data[0].z).shape[1] <= 1500
    with pytest.raises(ValueError, match="at least 16"):
        spectrogram_figure(np.zeros(5), 100.0)


def test_histogram_and_bar():
    fig = histogram_figure(np.array([1.0, 2.0, np.nan, 3.0]), "S-P", "s")
    assert list(fig.data[0].x) == [1.0, 2.0, 3.0]
    empty = histogram_figure(np.array([np.nan]), "S-P", "s")
    assert not empty.data and empty.layout.annotations[0].text == "no values"
    bar = bar_figure({"E": 3, "N": 2, "Z": 5}, "components")
    assert list(bar.data[0].x) == ["E", "N", "Z"] and list(bar.data[0].y) == [3, 2, 5]
