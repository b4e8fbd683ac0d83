"""Pick scores per epoch on the validation windows and the best-F1 thresholds of a picker."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from core.config import RunConfig
from core.seismic import sources
from core.seismic.picking import PickOptions
from core.tasks.pick_scores import best_thresholds, metric_names, saved_options, scores
from core.tasks.picking import prepare
from tests.core.seismic.picking_helpers import TINY_SETTINGS, FakeDataset, tiny_set

RATE = 100.0


def peaked(windows, p_shift=0, s_shift=0, false_p=None):
    """Probabilities with a 0.8 peak at each (shifted) true arrival; optionally a false P."""
    out = []
    for i in range(len(windows)):
        w = windows.window(i)
        t = np.arange(len(w.data))
        p = np.zeros(len(t))
        s = np.zeros(len(t))
        if w.itp is not None and w.itp >= 0:
            p = 0.8 * np.exp(-((t - w.itp - p_shift) ** 2) / 50.0)
        if false_p is not None:
            p = np.maximum(p, false_p * np.exp(-((t - 5) ** 2) / 50.0))
        if w.its is not None and w.its >= 0:
            s = 0.8 * np.exp(-((t - w.its - s_shift) ** 2) / 50.0)
        out.append(np.stack([1 - p - s, p, s], axis=-1).astype(np.float32))
    return out


def test_scores_at_both_tolerances():
    windows = tiny_set(8, 600, seed=3)
    exact = scores(peaked(windows), windows, RATE, PickOptions())
    assert set(exact) == set(metric_names())
    assert exact["val_p_f1_0.1s"] == exact["val_s_f1_0.5s"] == 1.0
    late = scores(peaked(windows, p_shift=30), windows, RATE, PickOptions())  # 0.3 s late
    assert late["val_p_f1_0.1s"] == 0.0 and late["val_p_f1_0.5s"] == 1.0
    assert late["val_s_recall_0.1s"] == 1.0


def test_best_thresholds_skip_a_weaker_false_peak():
    windows = tiny_set(8, 600, seed=4)
    probs = peaked(windows, false_p=0.5)
    assert scores(probs, windows, RATE, PickOptions())["val_p_precision_0.5s"] == 0.5
    best = best_thresholds(probs, windows, RATE)
    assert best["p_threshold"] == 0.55 and best["p_f1"] == 1.0  # lowest above the false 0.5
    assert best["s_threshold"] == 0.05 and best["s_f1"] == 1.0
    assert best["windows"] == 8


@pytest.fixture
def fake_sources(monkeypatch):
    data = FakeDataset(400, seed=9, sizes=(8, 4, 4))
    monkeypatch.setattr(sources, "load_waveform_dataset", lambda name: data)
    return data


def test_fit_logs_pick_scores_and_export_saves_thresholds(fake_sources):
    config = RunConfig(
        dataset="fake",
        model="phasenet",
        model_settings=dict(TINY_SETTINGS),
        data_settings={"window": 400},
        epochs=2,
        batch_size=4,
    )
    task = prepare(config)
    task.model.compile(optimizer=keras.optimizers.Adam(1e-3), loss=task.loss)
    history = task.model.fit(
        task.train_ds, validation_data=task.val_ds, epochs=2, callbacks=task.callbacks, verbose=0
    )
    for name in metric_names():
        assert len(history.history[name]) == 2, name
        assert all(0.0 <= v <= 1.0 for v in history.history[name])
    assert task.export(task.model) is task.model
    thresholds = task.meta["thresholds"]
    assert 0.05 <= thresholds["p_threshold"] <= 0.95 and thresholds["windows"] == 4
    options = saved_options(task.meta)
    assert (options.p_threshold, options.s_threshold) == (
        thresholds["p_threshold"],
        thresholds["s_threshold"],
    )
    assert saved_options({}).p_threshold == PickOptions().p_threshold
