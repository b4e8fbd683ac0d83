"""Picking task: crops around the picks, deterministic examples, mixes, and a tiny real fit."""

from __future__ import annotations

import numpy as np
import pytest

from core.config import RunConfig
from core.data.registry import mix_parts
from core.seismic import sources
from core.tasks import picking as picking_task
from core.tasks.picking import (
    EVAL_EPOCH,
    ExampleMaker,
    LabelledWindows,
    crop_start,
    data_settings,
    prepare,
)
from tests.core.seismic.picking_helpers import TINY_SETTINGS, FakeDataset, tiny_set

WINDOW = 400


@pytest.fixture
def fake_sources(monkeypatch):
    """Two small datasets of different window lengths instead of the real registry."""
    datasets = {"long": FakeDataset(1000, seed=1), "short": FakeDataset(WINDOW, seed=20)}

    def load(name):
        if name not in datasets:
            raise sources.DatasetError(f"unknown waveform dataset {name!r}")
        return datasets[name]

    monkeypatch.setattr(sources, "load_waveform_dataset", load)
    return datasets


def config(**fields) -> RunConfig:
    values = {
        "dataset": "mix:long+short",
        "model": "phasenet",
        "model_settings": dict(TINY_SETTINGS),
        "data_settings": {"window": WINDOW, "label_width": 5},
        "epochs": 1,
        "batch_size": 4,
        "seed": 3,
    }
    return RunConfig(**(values | fields))


# ---- crops -----------------------------------------------------------------------------------
def test_crops_keep_the_picks_inside_and_move_them_around():
    positions = set()
    for k in range(200):
        rng = np.random.default_rng(k)
        start = crop_start(9001, 3001, 3000, 3500, rng, margin=50)
        assert 0 <= start <= 6000
        assert start + 50 <= 3000 and 3500 <= start + 3001 - 50
        positions.add(3000 - start)
    assert len(positions) > 100  # P lands at many positions, not always at the same sample


def test_crop_when_s_cannot_fit_keeps_p_and_corner_cases():
    rng = np.random.default_rng(0)
    start = crop_start(9001, 1000, 1000, 5000, rng, margin=50)
    assert start + 50 <= 1000 <= start + 1000 - 50
    assert crop_start(300, 400, 100, 200, rng, 50) == 0  # source shorter than the window
    assert 0 <= crop_start(2000, 1000, None, None, rng, 50) <= 1000  # noise only
    start = crop_start(2000, 1000, 1990, None, rng, 50)  # P nearer the end than the margin
    assert start <= 1990 < start + 1000


def test_examples_are_deterministic_per_seed_epoch_index_and_change_with_epoch():
    windows = LabelledWindows.of([tiny_set(6, 1000, seed=4)])
    settings = data_settings(config())
    maker = ExampleMaker(windows, settings, seed=3)
    x1, y1 = maker(2, 0)
    x2, y2 = ExampleMaker(windows, settings, seed=3)(2, 0)
    np.testing.assert_array_equal(x1, x2)
    np.testing.assert_array_equal(y1, y2)
    assert x1.shape == y1.shape == (WINDOW, 3)
    p_positions = {int(np.argmax(maker(2, epoch)[1][:, 1])) for epoch in range(8)}
    assert len(p_positions) > 3  # a new crop every epoch
    np.testing.assert_allclose(y1.sum(axis=1), 1.0, atol=1e-6)
    w = windows.window(2)
    start = w.itp - int(np.argmax(y1[:, 1]))  # labels and data were cut at the same place
    np.testing.assert_array_equal(x1, w.data[start : start + WINDOW])


def test_evaluation_crops_are_fixed_and_shorter_sources_are_padded():
    windows = LabelledWindows.of([tiny_set(3, 1000, seed=4), tiny_set(2, 250, seed=5)])
    maker = ExampleMaker(windows, data_settings(config()), seed=3)
    x, y = maker.arrays()
    assert x.shape == y.shape == (5, WINDOW, 3)
    np.testing.assert_array_equal(x, maker.arrays(EVAL_EPOCH)[0])
    assert (x[3, 250:] == 0).all() and (y[3, 250:, 0] == 1).all()


def test_augmentation_is_applied_before_the_crop():
    from core.seismic.waveform_augment import WaveformPipeline

    windows = LabelledWindows.of([tiny_set(4, 1000, seed=4)])
    settings = data_settings(config())
    spec = [{"op": "amplitude_scale", "gain_min": 10.0, "gain_max": 10.0}]
    plain = ExampleMaker(windows, settings, seed=3)
    augmented = ExampleMaker(windows, settings, seed=3, pipeline=WaveformPipeline.from_spec(spec))
    x_plain, y_plain = plain(1, 0)
    x_aug, y_aug = augmented(1, 0)
    np.testing.assert_allclose(x_aug, 10 * x_plain, rtol=1e-5)  # same crop, scaled data
    np.testing.assert_array_equal(y_aug, y_plain)
    np.testing.assert_array_equal(augmented.arrays()[0], plain.arrays()[0])  # none in eval


# ---- names and settings -------------------------------------------------------------------
def test_dataset_names_and_mixed_splits(fake_sources):
    assert mix_parts("synthetic") == ["synthetic"]
    assert mix_parts("mix:synthetic+phasenet:ncedc-sample") == [
        "synthetic",
        "phasenet:ncedc-sample",
    ]
    with pytest.raises(ValueError):
        mix_parts("mix:")
    train, val, test, rate = picking_task.load_splits("mix:long+short")
    assert (len(train), len(val), len(test), rate) == (24, 8, 8, 100.0)
    assert train.window(0).samples == 1000 and train.window(12).samples == WINDOW


def test_bad_data_settings_are_refused():
    for bad in ({"window": 10}, {"label_shape": "square"}, {"label_width": 0}, {"colour": 1}):
        with pytest.raises(ValueError):
            data_settings(config(data_settings=bad))
    with pytest.raises(ValueError, match="class_weights"):
        data_settings(config(data_settings={"class_weights": [1, 2]}))


def test_different_sampling_rates_cannot_be_mixed(fake_sources):
    fake_sources["short"].train.sampling_rate = 50.0
    with pytest.raises(ValueError, match="sampling rates"):
        picking_task.load_splits("mix:long+short")


# ---- a tiny fit through the task, as core.runs.training does it ----------------------------------
def test_tiny_training_through_the_task(fake_sources, tmp_path):
    import keras

    from core.runs.trainer_model import GradNormTrainer

    cfg = config(
        max_train_examples=16,
        data_settings={"window": WINDOW, "label_width": 5, "class_weights": [1, 5, 5]},
        augmentation=[{"op": "amplitude_scale", "gain_min": 0.5, "gain_max": 2.0}],
    )
    task = prepare(cfg)
    assert task.train_examples == 16 and task.steps_per_epoch == 4
    assert task.meta["task"] == "picking" and task.meta["class_names"] == ["noise", "P", "S"]
    assert task.meta["window"] == WINDOW and task.meta["sampling_rate"] == 100.0
    assert task.meta["label_shape"] == "gaussian" and task.meta["label_width"] == 5
    assert task.meta["dataset"] == "mix:long+short" and len(task.fingerprint) == 16
    trainer = GradNormTrainer(task.model)
    trainer.compile(optimizer=keras.optimizers.Adam(1e-3), loss=task.loss, metrics=task.metrics)
    history = trainer.fit(
        task.train_ds,
        validation_data=task.val_ds,
        epochs=2,
        callbacks=task.callbacks,
        verbose=0,
    )
    logs = history.history
    assert {"loss", "accuracy", "p_f1", "s_f1", "val_loss", "val_p_f1"} <= set(logs)
    assert all(np.isfinite(v).all() for v in logs.values())
    assert 0.0 <= logs["val_p_f1"][-1] <= 1.0
    test = trainer.evaluate(task.test_ds, verbose=0, return_dict=True)
    assert np.isfinite(test["loss"])
    task.model.save(tmp_path / "model.keras")
    keras.models.load_model(tmp_path / "model.keras", safe_mode=True)


def test_pick_f1_metric_counts_hits_misses_and_false_picks():
    from core.seismic.labels import make_labels

    metric = picking_task.PickF1(1, tolerance=10, threshold=0.3, name="p_f1")
    true = np.stack([make_labels(200, p, None, "gaussian", 5) for p in (50, 80, None)])
    pred = np.stack(
        [
            make_labels(200, 55, None, "gaussian", 5),  # hit (5 samples off)
            make_labels(200, 120, None, "gaussian", 5),  # miss + false pick
            make_labels(200, 30, None, "gaussian", 5),  # false pick (no label)
        ]
    )
    metric.update_state(true, pred)
    tp, fp, fn = (float(v) for v in np.asarray(metric.counts))
    assert (tp, fp, fn) == (1, 2, 1)
    assert float(metric.result()) == pytest.approx(2 / (2 + 2 + 1))
