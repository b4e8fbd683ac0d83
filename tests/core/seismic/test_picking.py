"""Continuous picking: window layout, stitching at window edges, peak picking, the Picker."""

from __future__ import annotations

import numpy as np
import pytest

from core.seismic.continuous import synthetic_record
from core.seismic.picking import (
    EDGE_FLOOR,
    Picker,
    PickingError,
    PickOptions,
    edge_weights,
    find_picks,
    pick_array,
    predict_probabilities,
    window_starts,
)
from tests.core.seismic.picking_helpers import gaussian_predictor, save_tiny_run, time_ramp

WINDOW = 300


# ---- layout ----------------------------------------------------------------------------------
@pytest.mark.parametrize("samples", [300, 301, 1000, 1234])
@pytest.mark.parametrize("overlap", [0.0, 0.5, 0.9])
def test_windows_cover_the_record_and_the_last_ends_at_the_end(samples, overlap):
    starts = window_starts(samples, WINDOW, overlap)
    assert starts[0] == 0 and starts[-1] == samples - WINDOW
    steps = np.diff(starts)
    assert (steps <= WINDOW - round(WINDOW * overlap)).all() and (steps > 0).all()


def test_a_record_shorter_than_a_window_is_one_padded_window():
    assert list(window_starts(120, WINDOW, 0.5)) == [0]
    probs, windows = predict_probabilities(gaussian_predictor([60]), time_ramp(120), WINDOW)
    assert probs.shape == (120, 3) and windows == 1
    assert int(np.argmax(probs[:, 1])) == 60


def test_edge_weights_fall_towards_both_ends():
    w = edge_weights(WINDOW, 0.5)
    assert EDGE_FLOOR <= w[0] < 2 * EDGE_FLOOR and w[-1] == w[0]
    assert w[WINDOW // 2] == 1.0 and np.all(np.diff(w[:75]) > 0)
    assert (edge_weights(WINDOW, 0.0) == 1.0).all()


# ---- a pick at a window edge is found once, at the right time ----------------------------------
def edge_positions(samples: int, overlap: float) -> list[int]:
    """Arrivals right at window starts and ends, and at the record's two ends."""
    starts = window_starts(samples, WINDOW, overlap)
    wanted = [3, samples - 4]
    for s in starts[1:3]:
        wanted += [int(s), int(s) + 2, int(s) + WINDOW - 1]
    return sorted(set(wanted))


@pytest.mark.parametrize("stacking", ["avg", "max"])
@pytest.mark.parametrize("overlap", [0.5, 0.25])
@pytest.mark.parametrize("garbage", [0, 40])
def test_pick_at_window_edge_is_found_once_at_the_right_time(stacking, overlap, garbage):
    samples = 1500
    for true in edge_positions(samples, overlap):
        if garbage and (true < 40 or true >= samples - 40):
            continue  # only one window sees the record's ends: nothing better to average
        predict = gaussian_predictor([true], edge_garbage=garbage)
        options = PickOptions(overlap=overlap, stacking=stacking, batch_size=3)
        result = pick_array(predict, time_ramp(samples), 100.0, WINDOW, 1000.0, options)
        p_picks = [p for p in result.picks if p.phase == "P"]
        assert len(p_picks) == 1, (true, p_picks)
        assert abs(p_picks[0].sample - true) <= 1, (true, p_picks)
        assert p_picks[0].time == pytest.approx(1000.0 + p_picks[0].sample / 100.0)
        assert p_picks[0].probability > 0.9


def test_stitched_probabilities_equal_the_known_function_away_from_edges():
    truth = [400, 820]
    predict = gaussian_predictor(truth, s_at=[600])
    probs, windows = predict_probabilities(predict, time_ramp(1500), WINDOW, 0.5, batch_size=4)
    expected = predict(time_ramp(1500)[None])[0]
    np.testing.assert_allclose(probs, expected, atol=1e-5)
    assert windows == len(window_starts(1500, WINDOW, 0.5))
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-5)


def test_progress_reports_every_batch_up_to_the_total():
    calls = []
    predict_probabilities(
        gaussian_predictor([100]),
        time_ramp(2000),
        WINDOW,
        0.5,
        batch_size=4,
        progress=lambda done, total: calls.append((done, total)),
    )
    total = len(window_starts(2000, WINDOW, 0.5))
    assert calls[-1] == (total, total)
    assert [d for d, _ in calls] == sorted(d for d, _ in calls)
    assert all(t == total for _, t in calls) and len(calls) == -(-total // 4)


# ---- peak picking ----------------------------------------------------------------------------
def test_thresholds_and_minimum_distance():
    probs = np.zeros((1000, 3), np.float32)
    probs[:, 0] = 1
    probs[100, 1], probs[130, 1], probs[400, 1] = 0.9, 0.6, 0.25  # 130: too close to 100
    probs[700, 2] = 0.5
    options = PickOptions(p_threshold=0.3, s_threshold=0.6, min_distance_s=0.5)
    picks = find_picks(probs, 100.0, 10.0, options, "XX.STA..HH", ("HHE", "HHN", "HHZ"))
    assert [(p.phase, p.sample) for p in picks] == [("P", 100)]
    assert picks[0].channel == "HHZ" and picks[0].station == "XX.STA..HH"
    options = PickOptions(p_threshold=0.2, s_threshold=0.5, min_distance_s=0.1)
    picks = find_picks(probs, 100.0, 10.0, options, channels=("HHE", "-", "HHZ"))
    assert [(p.phase, p.sample) for p in picks] == [("P", 100), ("P", 130), ("P", 400), ("S", 700)]
    assert picks[-1].channel == "HHE"  # no N component: the S pick refers to E
    assert picks[-1].time_iso == "1970-01-01T00:00:17.000000Z"


@pytest.mark.parametrize(
    "bad",
    [
        {"p_threshold": 0},
        {"s_threshold": 1.5},
        {"overlap": 1.0},
        {"batch_size": 0},
        {"min_distance_s": -1},
        {"stacking": "median"},
    ],
)
def test_bad_options_are_refused(bad):
    with pytest.raises(PickingError):
        pick_array(gaussian_predictor([10]), time_ramp(500), 100.0, WINDOW, 0, PickOptions(**bad))


def test_bad_data_is_refused():
    predict = gaussian_predictor([10])
    with pytest.raises(PickingError, match="shape"):
        predict_probabilities(predict, np.zeros((100, 2)), WINDOW)
    with pytest.raises(PickingError, match="NaN"):
        predict_probabilities(predict, np.full((400, 3), np.nan), WINDOW)
    with pytest.raises(PickingError, match="returned shape"):
        predict_probabilities(lambda b: b[:, :10], time_ramp(400), WINDOW)


# ---- the Picker on a saved run ---------------------------------------------------------------
def test_picker_loads_a_run_and_picks_a_synthetic_record(tmp_path):
    picker = Picker.from_run(save_tiny_run(tmp_path, window=400))
    assert (picker.window, picker.sampling_rate) == (400, 100.0)
    synthetic = synthetic_record(60, seed=1)
    record = synthetic.record
    assert record.data.shape == (6000, 3) and len(synthetic.itp) >= 1
    result = picker.pick_record(record, PickOptions(p_threshold=0.34, s_threshold=0.34))
    assert result.probabilities.shape == (6000, 3)
    assert result.windows == len(window_starts(6000, 400, 0.5))
    assert all(p.station == "SY.SYN..HH" for p in result.picks)
    assert any("synthetic" in note for note in result.notes)


def test_picker_resamples_other_rates(tmp_path):
    picker = Picker.from_run(save_tiny_run(tmp_path, window=400))
    data = np.random.default_rng(0).normal(size=(2000, 3)).astype(np.float32)
    result = picker.pick(data, sampling_rate=50.0, start_time=5.0)
    assert result.probabilities.shape == (4000, 3)
    assert result.notes == ["resampled 50 Hz -> 100 Hz"]


def test_picker_refuses_runs_that_are_not_pickers(tmp_path):
    with pytest.raises(PickingError, match="no saved model"):
        Picker.from_run(tmp_path / "missing")
    folder = save_tiny_run(tmp_path, "classifier", task="classification")
    with pytest.raises(PickingError, match="not a phase picker"):
        Picker.from_run(folder)
    folder = save_tiny_run(tmp_path, "bad-json")
    (folder / "model.json").write_text("{not json")
    with pytest.raises(PickingError, match="model.json cannot be read"):
        Picker.from_run(folder)
    folder = save_tiny_run(tmp_path, "broken")
    (folder / "model.keras").write_bytes(b"not a zip")
    with pytest.raises(PickingError, match="cannot load"):
        Picker.from_run(folder)
