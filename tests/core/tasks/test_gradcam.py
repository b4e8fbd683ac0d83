"""core.tasks.gradcam: shapes and ranges, and on the `shapes` dataset the heat of a trained conv
model concentrates on the shape (its pixels stand out from the plain tinted background)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.ndimage import binary_dilation

from core.data.registry import load_dataset
from core.tasks.gradcam import explain, last_conv_layer, overlay


@pytest.fixture(scope="module")
def trained():
    import keras

    keras.utils.set_random_seed(0)
    data = load_dataset("shapes")
    inp = keras.Input(data.info.input_shape)
    x = keras.layers.Conv2D(32, 3, padding="same", activation="relu")(inp)
    x = keras.layers.MaxPooling2D()(x)
    x = keras.layers.Conv2D(64, 3, padding="same", activation="relu")(x)
    x = keras.layers.MaxPooling2D()(x)
    x = keras.layers.Conv2D(64, 3, padding="same", activation="relu", name="last_conv")(x)
    x = keras.layers.GlobalMaxPooling2D()(x)
    out = keras.layers.Dense(data.info.num_classes, activation="softmax")(x)
    model = keras.Model(inp, out)
    model.compile(
        keras.optimizers.Adam(2e-3), "sparse_categorical_crossentropy", metrics=["accuracy"]
    )
    model.fit(data.x_train, data.y_train, epochs=3, batch_size=64, verbose=0)
    return model, data


def shape_mask(image: np.ndarray) -> np.ndarray:
    """Pixels whose colour differs from the background (the median of the border)."""
    border = np.concatenate([image[0], image[-1], image[:, 0], image[:, -1]])
    return np.abs(image - np.median(border, axis=0)).sum(axis=-1) > 0.25


def test_heat_lies_on_the_shape(trained):
    model, data = trained
    x = data.x_test[:40]
    assert model.evaluate(data.x_test, data.y_test, verbose=0)[1] > 0.8
    heat, method = explain(model, x)
    assert method == "grad-cam" and heat.shape == x.shape[:3]
    assert heat.min() >= 0.0 and heat.max() <= 1.0
    density, peaks = [], []
    for image, h in zip(x, heat, strict=True):
        near = binary_dilation(shape_mask(image), iterations=2)  # Grad-CAM is 8x8, upsampled
        density.append(h[near].mean() / max(h[~near].mean(), 1e-9))
        peaks.append(near[np.unravel_index(h.argmax(), h.shape)])
    # per pixel, the heat on the shape is well above the heat on the background, and the
    # hottest pixel is on the shape in most images (measured: density ~2x, peaks ~60 %)
    assert np.median(density) > 1.5, np.median(density)
    assert np.mean(peaks) > 0.5, np.mean(peaks)


def test_saliency_for_models_without_conv_layers():
    import keras

    model = keras.Sequential(
        [keras.Input((8, 8, 1)), keras.layers.Flatten(), keras.layers.Dense(3)]
    )
    assert last_conv_layer(model) is None
    heat, method = explain(model, np.random.default_rng(0).random((2, 8, 8, 1), np.float32), 1)
    assert method == "saliency" and heat.shape == (2, 8, 8)
    assert np.isclose(heat.max(axis=(1, 2)), 1.0).all()


def test_overlay_range():
    image = np.zeros((4, 4, 1), np.float32)
    heat = np.linspace(0, 1, 16, dtype=np.float32).reshape(4, 4)
    out = overlay(image, heat)
    assert out.shape == (4, 4, 3) and 0.0 <= out.min() and out.max() <= 1.0
    assert out[0, 0].tolist() == [0.0, 0.0, 0.0] and out[-1, -1, 0] == 0.5
