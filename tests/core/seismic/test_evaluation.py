"""Pick scoring on hand-made cases with known answers, and evaluation of labelled windows."""

from __future__ import annotations

import numpy as np
import pytest

from core.seismic.evaluation import evaluate_windows, match_window, score_phase, score_picks
from core.seismic.picking import Pick
from core.seismic.windows import NO_PICK, WaveformSet
from tests.core.seismic.picking_helpers import gaussian_predictor

RATE = 100.0


def picks(*samples, phase="P"):
    return [Pick(phase, s, s / RATE, 0.9) for s in samples]


def test_match_window_cases():
    assert match_window(500, [500], 10) == (1, 0, 0, 0)
    assert match_window(500, [505], 10) == (1, 0, 0, 5)
    assert match_window(500, [520], 10) == (0, 1, 1, None)  # too far: a miss and a false pick
    assert match_window(500, [], 10) == (0, 0, 1, None)
    assert match_window(None, [100, 200], 10) == (0, 2, 0, None)
    assert match_window(-1, [], 10) == (0, 0, 0, None)
    # the closest pick within tolerance matches, every other pick is a false positive
    assert match_window(500, [492, 503, 900], 10) == (1, 2, 0, 3)
    assert match_window(500, [510], 10) == (1, 0, 0, 10)  # the tolerance is inclusive


def test_perfect_picks():
    score = score_phase("P", [300, 400, 500], [[300], [400], [500]], RATE, 0.1)
    assert (score.tp, score.fp, score.fn) == (3, 0, 0)
    assert score.precision == score.recall == score.f1 == 1.0
    assert score.residual_mean_s == 0.0 and score.residual_std_s == 0.0


def test_offsets_of_five_hundredths_and_two_tenths_of_a_second():
    truth = [300, 400]
    found = [[305], [420]]  # +0.05 s and +0.2 s
    tight = score_phase("P", truth, found, RATE, 0.1)
    assert (tight.tp, tight.fp, tight.fn) == (1, 1, 1)
    assert tight.precision == tight.recall == tight.f1 == 0.5
    assert tight.residuals_s == pytest.approx([0.05])
    loose = score_phase("P", truth, found, RATE, 0.5)
    assert (loose.tp, loose.fp, loose.fn, loose.f1) == (2, 0, 0, 1.0)
    assert loose.residual_mean_s == pytest.approx(0.125)
    assert loose.residual_std_s == pytest.approx(0.075)


def test_missed_picks_and_false_positives():
    truth = [300, 400, None, 600]
    found = [[], [400, 700], [50], [599]]
    score = score_phase("S", truth, found, RATE, 0.1)
    assert (score.tp, score.fp, score.fn) == (2, 2, 1)
    assert score.true_picks == 3 and score.predicted_picks == 4
    assert score.precision == pytest.approx(0.5)
    assert score.recall == pytest.approx(2 / 3)
    assert score.f1 == pytest.approx(2 * 2 / (2 * 2 + 2 + 1))
    assert score.residuals_s == pytest.approx([0.0, -0.01])


def test_nothing_to_find_and_nothing_found_scores_zero_not_nan():
    score = score_phase("S", [None, None], [[], []], RATE, 0.1)
    assert (score.precision, score.recall, score.f1) == (0.0, 0.0, 0.0)
    assert score.residual_mean_s is None


def test_windows_without_s_label_count_s_picks_as_false_positives():
    window_picks = [picks(300) + picks(500, phase="S"), picks(310) + picks(700, phase="S")]
    scores = score_picks([300, 310], [500, NO_PICK], window_picks, RATE, (0.1, 0.5))
    by_key = {(s.phase, s.tolerance_s): s for s in scores}
    assert set(by_key) == {("P", 0.1), ("P", 0.5), ("S", 0.1), ("S", 0.5)}
    assert by_key["P", 0.1].f1 == 1.0
    s = by_key["S", 0.1]
    assert (s.tp, s.fp, s.fn, s.true_picks) == (1, 1, 0, 1)


def test_length_mismatch_is_an_error():
    with pytest.raises(ValueError):
        score_phase("P", [1, 2], [[1]], RATE, 0.1)


def test_evaluate_windows_slides_over_long_windows_and_scores():
    n, samples = 4, 1200
    data = np.zeros((n, samples, 3), np.float32)
    itp = np.array([200, 500, 900, NO_PICK])
    its = np.array([400, NO_PICK, 1100, NO_PICK])
    offsets = np.arange(n) * samples  # column 0: a global clock, so one fake model serves all
    data[:, :, 0] = offsets[:, None] + np.arange(samples)[None, :]
    true_p = [o + p + 3 for o, p in zip(offsets, itp, strict=True) if p >= 0]  # +0.03 s
    true_s = [o + s for o, s in zip(offsets, its, strict=True) if s >= 0]
    predict = gaussian_predictor(true_p, true_s)
    wset = WaveformSet(data, itp, its, RATE)
    calls = []
    report = evaluate_windows(
        predict, wset, 300, dataset="fake", progress=lambda d, t: calls.append(d)
    )
    assert calls == [1, 2, 3, 4] and report.windows == 4
    p = report.score("P", 0.1)
    assert (p.tp, p.fp, p.fn, p.f1) == (3, 0, 0, 1.0)
    assert p.residual_mean_s == pytest.approx(0.03)
    s = report.score("S", 0.5)
    assert (s.tp, s.fp, s.fn) == (2, 0, 0)
    data_out = report.to_dict()
    assert data_out["dataset"] == "fake" and len(data_out["scores"]) == 4
    assert "residuals_s" not in report.rows()[0]
