"""core.tasks.reconstruction: noisy inputs, clean targets, MSE/MAE, a short fit, reconstruct()."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from core.config import RunConfig
from core.tasks.base import prepare_task
from core.tasks.reconstruction import add_noise, noise_std_of, prepare, reconstruct

TINY_AE = {"filters": [4], "bottleneck": 4}


def config(**overrides) -> RunConfig:
    values = {
        "dataset": "digits",
        "model": "autoencoder",
        "model_settings": TINY_AE,
        "epochs": 1,
        "batch_size": 16,
        "max_train_examples": 48,
        "seed": 3,
    }
    values.update(overrides)
    return RunConfig(**values)


def test_add_noise_is_deterministic_per_seed_and_clipped():
    images = np.full((2, 4, 4, 1), 0.5, np.float32)
    a, b, c = add_noise(images, 0.2, 1), add_noise(images, 0.2, 1), add_noise(images, 0.2, 2)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    assert a.dtype == np.float32 and a.min() >= 0 and a.max() <= 1
    assert 0.1 < float(np.std(a - images)) < 0.3
    np.testing.assert_array_equal(add_noise(images, 0.0, 5), images)


def test_noise_std_comes_from_data_settings():
    assert noise_std_of(RunConfig()) == 0.2
    assert noise_std_of(RunConfig(data_settings={"noise_std": 0.05})) == 0.05
    with pytest.raises(ValueError, match="noise_std must be >= 0"):
        noise_std_of(RunConfig(data_settings={"noise_std": -1}))


def test_prepare_pairs_noisy_inputs_with_clean_targets():
    task = prepare_task("reconstruction", config(data_settings={"noise_std": 0.3}))
    noisy, clean = next(iter(task.val_ds))
    noisy, clean = noisy.numpy(), clean.numpy()
    assert noisy.shape == clean.shape == (16, 16, 16, 1)
    assert 0.15 < float(np.std(noisy - clean)) < 0.35
    assert task.meta["task"] == "reconstruction" and task.meta["noise_std"] == 0.3
    assert list(task.meta["settings"]["filters"]) == [4]
    assert isinstance(task.loss, keras.losses.MeanSquaredError)
    assert task.metrics[0].name == "mae"
    assert task.train_examples == 48 and task.steps_per_epoch == 3
    again = next(iter(prepare(config(data_settings={"noise_std": 0.3})).val_ds))[0].numpy()
    np.testing.assert_array_equal(again, noisy)  # same seed, same noise


def test_prepare_rejects_augmentation_and_non_image_models():
    with pytest.raises(ValueError, match="augmentation is not supported"):
        prepare(config(augmentation=[{"op": "flip"}]))
    with pytest.raises(ValueError, match="reconstruction needs an autoencoder"):
        prepare(config(model="mlp", model_settings={"hidden_units": [4]}))


def test_a_short_fit_reduces_the_error_and_reconstruct_returns_images():
    keras.utils.set_random_seed(0)
    task = prepare(config(max_train_examples=128, batch_size=32))
    model = task.model
    model.compile(optimizer=keras.optimizers.Adam(3e-3), loss=task.loss, metrics=task.metrics)
    before = model.evaluate(task.val_ds, verbose=0, return_dict=True)
    model.fit(task.train_ds, epochs=3, verbose=0)
    after = model.evaluate(task.val_ds, verbose=0, return_dict=True)
    assert after["loss"] < before["loss"] and "mae" in after
    images = next(iter(task.test_ds))[1].numpy()[:3]
    noisy, restored = reconstruct(model, images, noise_std=0.2, seed=1)
    assert noisy.shape == restored.shape == images.shape
    assert restored.min() >= 0 and restored.max() <= 1
    np.testing.assert_array_equal(noisy, add_noise(images, 0.2, 1))
