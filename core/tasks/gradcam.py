"""Why a classifier chose a class: Grad-CAM for convolutional models (the last layer with a
(batch, h', w', channels) output), input-gradient saliency for the others. Images (n, h, w, c)
float32 in [0, 1] -> heat maps (n, h, w) float32 in [0, 1] (1 = most important), and an RGB
overlay (h, w, 3) of one image and its heat map."""

from __future__ import annotations

import numpy as np


def last_conv_layer(model) -> str | None:
    """Name of the last top-level layer whose output is a 4-D feature map (None if none)."""
    for layer in reversed(model.layers[1:]):
        shape = getattr(layer, "output", None)
        shape = getattr(shape, "shape", None)
        if shape is not None and len(shape) == 4 and "conv" in type(layer).__name__.lower():
            return layer.name
    return None


def explain(model, images: np.ndarray, class_index=None) -> tuple[np.ndarray, str]:
    """(heat maps (n, h, w) in [0, 1], "grad-cam" or "saliency") for class_index (an int or one
    per image; default the predicted class)."""
    layer = last_conv_layer(model)
    if layer is not None:
        try:
            return gradcam(model, images, class_index, layer), "grad-cam"
        except (ValueError, TypeError):
            # the conv layer is not reachable from the model's inputs (e.g. inside a nested
            # model): explain with input gradients instead, and say so in the label
            return saliency(model, images, class_index), "saliency"
    return saliency(model, images, class_index), "saliency"


def _class_scores(probs, class_index):
    import tensorflow as tf

    if class_index is None:
        idx = tf.argmax(probs, axis=1)
    else:
        idx = tf.broadcast_to(tf.constant(class_index, tf.int64), [tf.shape(probs)[0]])
    return tf.gather(probs, idx, axis=1, batch_dims=1)


def gradcam(model, images: np.ndarray, class_index=None, layer: str | None = None) -> np.ndarray:
    """Grad-CAM (Selvaraju et al. 2017) at `layer`, upsampled to the image size."""
    import keras
    import tensorflow as tf

    x = tf.convert_to_tensor(np.asarray(images, np.float32))
    layer = layer or last_conv_layer(model)
    probe = keras.Model(model.inputs, [model.get_layer(layer).output, model.outputs[0]])
    with tf.GradientTape() as tape:
        features, probs = probe(x, training=False)
        score = _class_scores(probs, class_index)
    grads = tape.gradient(score, features)
    weights = tf.reduce_mean(grads, axis=(1, 2), keepdims=True)
    cam = tf.nn.relu(tf.reduce_sum(weights * features, axis=-1))[..., None]
    cam = tf.image.resize(cam, x.shape[1:3], method="bilinear")[..., 0]
    return _normalise(cam.numpy())


def saliency(model, images: np.ndarray, class_index=None) -> np.ndarray:
    """|d score / d pixel|, the largest over the channels."""
    import tensorflow as tf

    x = tf.convert_to_tensor(np.asarray(images, np.float32))
    with tf.GradientTape() as tape:
        tape.watch(x)
        score = _class_scores(model(x, training=False), class_index)
    grads = tape.gradient(score, x)
    return _normalise(tf.reduce_max(tf.abs(grads), axis=-1).numpy())


def _normalise(maps: np.ndarray) -> np.ndarray:
    maps = np.nan_to_num(np.asarray(maps, np.float32))
    top = maps.reshape(len(maps), -1).max(axis=1)
    return np.clip(maps / np.where(top > 0, top, 1.0)[:, None, None], 0.0, 1.0)


def overlay(image: np.ndarray, heat: np.ndarray, alpha: float = 0.5) -> np.ndarray:
    """The image (gray or RGB in [0, 1]) under the heat map in red-yellow, (h, w, 3) in [0, 1]."""
    base = np.repeat(image, 3, axis=-1) if image.shape[-1] == 1 else image[..., :3]
    colour = np.stack([np.ones_like(heat), heat, np.zeros_like(heat)], axis=-1)
    weight = alpha * heat[..., None]
    return np.clip(base * (1 - weight) + colour * weight, 0.0, 1.0).astype(np.float32)
