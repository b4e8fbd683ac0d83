"""Waveform augmentation: every op (shape, dtype, determinism, labels), pipelines, specs, seeds."""

from __future__ import annotations

import json
import time

import numpy as np
import pytest
from scipy.signal import butter, sosfiltfilt

from core.seismic.synthetic import synthetic_event
from core.seismic.waveform_augment import (
    WAVEFORM_OPS,
    AddNoise,
    AmplitudeScale,
    AugmentedWindow,
    BandPass,
    ChannelDropout,
    Gaps,
    Normalize,
    RandomWindow,
    SuperposeEvent,
    TimeShift,
    WaveformPipeline,
    element_rng,
    preview,
)
from core.seismic.windows import WaveformWindow

ALL_OPS = [
    RandomWindow(2000),
    TimeShift(3.0),
    AddNoise(5, 15),
    AmplitudeScale(0.5, 2.0, "per component"),
    ChannelDropout(1.0),
    Gaps(1.0, 3, 1.0),
    BandPass(1.0, 20.0),
    Normalize("peak", "component"),
    SuperposeEvent(1.0, source="synthetic"),
]


def labelled(wset, need_s=True) -> WaveformWindow:
    """The first window with P (and S) at least 5 s from the edges."""
    n = wset.data.shape[1]
    for i in range(len(wset)):
        p, s = int(wset.itp[i]), int(wset.its[i])
        if p > 500 and (not need_s or 500 < s < n - 500):
            return wset.window(i)
    raise AssertionError("no suitable window")


@pytest.mark.parametrize("op", ALL_OPS, ids=lambda op: op.NAME)
def test_each_op_shape_dtype_determinism(op, small_set):
    window = labelled(small_set)
    before = window.data.copy()
    a, text_a = op(window, np.random.default_rng(11))
    b, text_b = op(window, np.random.default_rng(11))
    expected = 2000 if isinstance(op, RandomWindow) else window.samples
    assert a.data.shape == (expected, 3) and a.data.dtype == np.float32
    assert np.isfinite(a.data).all()
    np.testing.assert_array_equal(a.data, b.data)
    assert (a.itp, a.its, a.extra_p, a.extra_s) == (b.itp, b.its, b.extra_p, b.extra_s)
    assert text_a == text_b and isinstance(text_a, str) and text_a
    np.testing.assert_array_equal(window.data, before)  # the source window is untouched
    assert a.labels("gaussian", 20).shape == (expected, 3)
    assert str(op).startswith(type(op).__name__ + "(")


def test_ops_registry_has_slider_ranges():
    assert set(WAVEFORM_OPS) == {op.NAME for op in ALL_OPS}
    for name, cls in WAVEFORM_OPS.items():
        default = cls()
        assert cls.LABEL and default.NAME == name
        for key, (low, high, step) in cls.PARAMS.items():
            assert low <= getattr(default, key) <= high and step > 0
        for key, options in cls.CHOICES.items():
            assert getattr(default, key) in options


def test_random_window_moves_labels_with_the_crop(long_set):
    window = labelled(long_set)
    op = RandomWindow(length=3001, margin_s=1.0)
    for seed in range(20):
        out, _ = op(window, np.random.default_rng(seed))
        start = int(
            op.describe(
                op.draw(AugmentedWindow.from_window(window), np.random.default_rng(seed))
            ).split()[-1]
        )
        assert out.itp == window.itp - start
        assert 100 <= out.itp <= 2900
        if window.its - window.itp < 2800:
            assert out.its == window.its - start
        np.testing.assert_array_equal(out.data, window.data[start : start + 3001])
        assert np.argmax(out.labels()[:, 1]) == out.itp
    starts = {
        op.draw(AugmentedWindow.from_window(window), np.random.default_rng(s))["start"]
        for s in range(20)
    }
    assert len(starts) > 5  # P lands at random positions


def test_random_window_pads_a_short_window(small_set):
    window = labelled(small_set)
    out, _ = RandomWindow(length=4000, margin_s=0.0)(window, np.random.default_rng(0))
    assert out.samples == 4000 and out.itp is not None
    assert np.count_nonzero(np.all(out.data == 0, axis=1)) >= 999


def test_time_shift_moves_data_and_picks(small_set):
    window = labelled(small_set)
    op = TimeShift(max_shift_s=5.0)
    w = AugmentedWindow.from_window(window)
    out = op.apply(w, {"shift": 150, "rate": 100.0})
    assert (out.itp, out.its) == (window.itp + 150, window.its + 150)
    np.testing.assert_array_equal(out.data[150:], window.data[:-150])
    assert not out.data[:150].any()
    gone = op.apply(AugmentedWindow.from_window(window), {"shift": -window.itp - 1, "rate": 100})
    assert gone.itp is None  # shifted out of the window: no P label
    assert op.describe({"shift": -250, "rate": 100.0}) == "shifted -2.50 s"


def test_add_noise_reaches_the_snr():
    data, itp, _ = synthetic_event(np.random.default_rng(1), 3001)
    window = WaveformWindow(data, 100.0, itp, None)
    out, text = AddNoise(10.0, 10.0)(window, np.random.default_rng(0))
    noise = out.data - data
    signal = np.mean(np.var(data[itp : itp + 200], axis=0))
    assert 10 * np.log10(signal / np.var(noise)) == pytest.approx(10.0, abs=0.3)
    assert text == "noise at 10.0 dB SNR"
    missing = WaveformWindow(
        data * np.array([0, 1, 1], np.float32), 100.0, itp, None, present=(False, True, True)
    )
    assert not AddNoise()(missing, np.random.default_rng(0))[0].data[:, 0].any()


def test_amplitude_scale(small_set):
    window = labelled(small_set)
    out, text = AmplitudeScale(0.5, 2.0)(window, np.random.default_rng(3))
    gain = float(text.split("x")[1])
    np.testing.assert_allclose(out.data, window.data * gain, rtol=1e-2)


def test_channel_dropout_never_drops_all(small_set):
    window = labelled(small_set)
    for seed in range(30):
        out, text = ChannelDropout(1.0)(window, np.random.default_rng(seed))
        dropped = [c for c in range(3) if not out.present[c]]
        assert 1 <= len(dropped) <= 2 and text.startswith("dropped")
        assert not out.data[:, dropped].any()
    one = WaveformWindow(
        window.data * np.array([0, 0, 1], np.float32), 100.0, 1, 2, present=(False, False, True)
    )
    assert ChannelDropout(1.0)(one, np.random.default_rng(0))[1] == "no dropout"


def test_gap_over_an_arrival_removes_its_label(small_set):
    window = labelled(small_set)
    w = AugmentedWindow.from_window(window)
    out = Gaps().apply(w, {"gaps": [[window.itp - 10, window.itp + 10]], "rate": 100.0})
    assert out.itp is None and out.its == window.its
    assert not out.data[window.itp - 10 : window.itp + 10].any()
    labels = out.labels()
    assert labels[:, 1].max() == 0 and labels[:, 2].max() == pytest.approx(1.0)
    drawn = Gaps(1.0, 3, 2.0).draw(AugmentedWindow.from_window(window), np.random.default_rng(0))
    assert 1 <= len(drawn["gaps"]) <= 3
    assert all(0 < b - a <= 200 for a, b in drawn["gaps"])


def test_bandpass_matches_scipy(small_set):
    window = labelled(small_set)
    out, text = BandPass(2.0, 15.0, 4)(window, np.random.default_rng(0))
    sos = butter(4, [2.0, 15.0], btype="bandpass", fs=100.0, output="sos")
    expected = sosfiltfilt(sos, window.data.astype(np.float64), axis=0)
    np.testing.assert_allclose(out.data, expected, rtol=1e-4, atol=1e-3 * np.abs(expected).max())
    assert text == "band-pass 2-15 Hz (order 4, zero-phase)"
    with pytest.raises(ValueError, match="below freqmax"):
        BandPass(20.0, 10.0)


@pytest.mark.parametrize(("mode", "scope"), [("std", "window"), ("peak", "component")])
def test_normalize(small_set, mode, scope):
    out, _ = Normalize(mode, scope)(labelled(small_set), np.random.default_rng(0))
    if mode == "std":
        assert out.data.std() == pytest.approx(1.0, rel=1e-3)
    else:
        np.testing.assert_allclose(np.abs(out.data).max(axis=0), 1.0, rtol=1e-5)
    assert np.abs(out.data.mean(axis=0)).max() < 1e-3 * np.abs(out.data).max()


@pytest.mark.parametrize("source", ["pool", "synthetic"])
def test_superposed_event_adds_picks(small_set, source):
    window = labelled(small_set)
    op = SuperposeEvent(1.0, 0.5, 0.5, source=source, pool=small_set)
    added = 0
    for seed in range(10):
        out, text = op(window, np.random.default_rng(seed))
        assert (out.itp, out.its) == (window.itp, window.its)
        assert text.startswith("second event")
        labels = out.labels("gaussian", 10)
        for pick in out.p_picks:
            assert labels[pick, 1] > 0.45
        for pick in out.s_picks:
            assert labels[pick, 2] > 0.45
        added += len(out.extra_p)
        assert np.all(labels.sum(axis=1) <= 1.0 + 1e-5)
    assert added >= 5


def test_labels_with_multiple_picks():
    w = AugmentedWindow(np.zeros((1000, 3), np.float32), 100.0, 100, 400, [600], [800, 950])
    labels = w.labels("triangle", 10)
    assert [int(i) for i in np.flatnonzero(labels[:, 1] == 1)] == [100, 600]
    assert [int(i) for i in np.flatnonzero(labels[:, 2] == 1)] == [400, 800, 950]
    np.testing.assert_allclose(labels.sum(axis=1), 1.0, atol=1e-6)


def test_pipeline_spec_round_trip_and_errors(small_set):
    pipeline = WaveformPipeline(ALL_OPS)
    spec = json.loads(json.dumps(pipeline.to_spec()))
    again = WaveformPipeline.from_spec(spec, pool=small_set)
    assert again == pipeline and str(again) == str(pipeline)
    assert len(str(pipeline).splitlines()) == len(ALL_OPS)
    assert pipeline.output_samples(3001) == 2000
    bad = [
        ([{"op": "flip"}], "unknown op"),
        ([{"op": "gaps", "colour": 1}], "unknown setting"),
        ([{"op": "add_noise", "snr_db_min": 30, "snr_db_max": 10}], "larger than"),
        ([{"op": "channel_dropout", "probability": 2}], "outside"),
        ([{"op": "normalize", "mode": "max"}], "must be one of"),
        ({"op": "gaps"}, "a list of steps"),
        (["gaps"], "with an 'op' key"),
    ]
    for spec, message in bad:
        with pytest.raises(ValueError, match=message):
            WaveformPipeline.from_spec(spec)


def test_preview_is_what_training_gets(small_set):
    pipeline = WaveformPipeline(ALL_OPS[1:]).with_pool(small_set)
    window = labelled(small_set)
    variants = preview(pipeline, window, seed=7, variants=3, index=12)
    for epoch, (w, lines) in enumerate(variants):
        again, again_lines = pipeline(window, element_rng(7, epoch, 12))
        np.testing.assert_array_equal(w.data, again.data)
        assert lines == again_lines and len(lines) == len(ALL_OPS) - 1
    assert not np.array_equal(variants[0][0].data, variants[1][0].data)
    with pytest.raises(ValueError):
        element_rng(-1, 0, 0)


def test_pipeline_speed(small_set):
    """Report-only timing, with a loose bound: 5 typical ops on a 3001-sample window."""
    pipeline = WaveformPipeline(
        [TimeShift(), AddNoise(), BandPass(), ChannelDropout(0.3), Normalize()]
    )
    windows = [small_set.window(i) for i in range(len(small_set))]
    pipeline(windows[0], element_rng(0, 0, 0))  # warm up (imports, filter design)
    start = time.process_time()
    for i in range(200):
        pipeline(windows[i % len(windows)], element_rng(0, 0, i))
    per_window_ms = (time.process_time() - start) / 200 * 1e3
    print(f"5-op pipeline: {per_window_ms:.3f} ms CPU per window")
    assert per_window_ms < 10
