"""core.tasks.gradcam: shapes and ranges, and on the `shapes` dataset most of the heat of a
trained conv model lies on the shape or within 2 px of it (its pixels stand out from the plain
tinted background), well more than classic Grad-CAM's."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.ndimage import binary_dilation

from core.data.registry import load_dataset
from core.tasks.gradcam import cam_layers, explain, gradcam, last_conv_layer, overlay


@pytest.fixture(scope="module")
def trained():
    import keras

    keras.utils.set_random_seed(0)
    data = load_dataset("shapes")
    inp = keras.Input(data.info.input_shape)
    x = keras.layers.Conv2D(32, 3, padding="same", activation="relu", name="conv1")(inp)
    x = keras.layers.MaxPooling2D()(x)
    x = keras.layers.Conv2D(64, 3, padding="same", activation="relu", name="conv2")(x)
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


def heat_near_shape(images: np.ndarray, heat: np.ndarray) -> np.ndarray:
    """Per image, the fraction of all heat that lies within 2 px of the shape."""
    near = np.stack([binary_dilation(shape_mask(image), iterations=2) for image in images])
    return (heat * near).sum(axis=(1, 2)) / np.maximum(heat.sum(axis=(1, 2)), 1e-9)


def test_cam_layers_one_per_resolution(trained):
    model, _ = trained
    assert cam_layers(model) == ["conv1", "conv2", "last_conv"]  # 32x32, 16x16, 8x8
    assert last_conv_layer(model) == "last_conv"


def test_heat_lies_mostly_on_the_shape(trained):
    model, data = trained
    x = data.x_test[:40]
    assert model.evaluate(data.x_test, data.y_test, verbose=0)[1] > 0.8
    heat, method = explain(model, x)
    assert method == "layer-cam" and heat.shape == x.shape[:3] and heat.dtype == np.float32
    assert heat.min() >= 0.0 and np.allclose(heat.max(axis=(1, 2)), 1.0)
    share = heat_near_shape(x, heat)
    # the shape and its 2 px rim cover ~21 % of an image; most of the heat lies there, on
    # average and in nearly every image (measured: mean 0.85, 38 of 40 images over half)
    assert share.mean() > 0.6, share.mean()
    assert (share > 0.5).mean() >= 0.8, np.sort(share)
    # classic Grad-CAM at the 8x8 layer spreads past the shape (measured: mean ~0.39)
    assert share.mean() > heat_near_shape(x, gradcam(model, x)).mean() + 0.2


def test_heat_follows_the_class_asked_for(trained):
    model, data = trained
    x = data.x_test[:8]
    asked = (np.argmax(model.predict(x, verbose=0), axis=1) + 1) % data.info.num_classes
    predicted = explain(model, x)[0]
    other = explain(model, x, asked)[0]
    assert other.shape == predicted.shape and not np.allclose(other, predicted)


def test_saliency_for_models_without_conv_layers():
    import keras

    model = keras.Sequential(
        [keras.Input((8, 8, 1)), keras.layers.Flatten(), keras.layers.Dense(3)]
    )
    assert last_conv_layer(model) is None
    heat, method = explain(model, np.random.default_rng(0).random((2, 8, 8, 1), np.float32), 1)
    assert method == "saliency" and heat.shape == (2, 8, 8)
    assert np.isclose(heat.max(axis=(1, 2)), 1.0).all()


def test_cam_layers_of_the_registry_cnn_follow_batch_norm_and_activation():
    from core.models.registry import build_model

    model, _ = build_model("cnn", (32, 32, 3), 4, {"filters": [4, 8, 8]})
    # the rectified map after each block's batch norm, not the raw conv; the 4x4 after the
    # last pool is left out (pooling); augmentation layers before the first conv too
    assert cam_layers(model) == ["conv1a_relu", "conv2a_relu", "conv3a_relu"]
    heat, method = explain(model, np.random.default_rng(0).random((2, 32, 32, 3), np.float32))
    assert method == "layer-cam" and heat.shape == (2, 32, 32)
    assert 0.0 <= heat.min() and heat.max() <= 1.0


def test_overlay_range():
    image = np.zeros((4, 4, 1), np.float32)
    heat = np.linspace(0, 1, 16, dtype=np.float32).reshape(4, 4)
    out = overlay(image, heat)
    assert out.shape == (4, 4, 3) and 0.0 <= out.min() and out.max() <= 1.0
    assert out[0, 0].tolist() == [0.0, 0.0, 0.0] and out[-1, -1, 0] == 0.5
