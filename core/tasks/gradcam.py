"""Why a classifier chose a class. Convolutional models: Layer-CAM (Jiang et al. 2021, the
Grad-CAM variant that weights every location by its own positive gradient instead of one mean
per channel) at the last feature map of every resolution, each upsampled (bilinear) to the image
and fused by their geometric mean, so the heat sits where the fine and the class-carrying coarse
maps agree. Other models: input-gradient saliency. Classic Grad-CAM (Selvaraju et al. 2017) at
one layer stays available as `gradcam`.

Images (n, h, w, c) float32 in [0, 1] -> heat maps (n, h, w) float32 in [0, 1] (1 = most
important), and an RGB overlay (h, w, 3) of one image and its heat map.
"""

from __future__ import annotations

import numpy as np


def _is_conv(layer) -> bool:
    return "conv" in type(layer).__name__.lower()


def _spatial(layer) -> tuple[int, int] | None:
    """(h, w) of a top-level layer's 4-D output, None for other layers."""
    shape = getattr(getattr(layer, "output", None), "shape", None)
    if shape is None or len(shape) != 4:
        return None
    return shape[1], shape[2]


def last_conv_layer(model) -> str | None:
    """Name of the last top-level layer whose output is a 4-D feature map (None if none)."""
    for layer in reversed(model.layers[1:]):
        if _spatial(layer) is not None and _is_conv(layer):
            return layer.name
    return None


def cam_layers(model) -> list[str]:
    """One layer per resolution, coarsest last: of the 4-D layers from the first convolution
    on (pooling excluded), the last of each spatial size that a convolution produces, so a
    conv's batch norm and activation are included. Sizes of 1x1 carry no location."""
    layers = model.layers[1:]
    first = next((i for i, layer in enumerate(layers) if _is_conv(layer)), None)
    if first is None:
        return []
    conv_sizes = {_spatial(layer) for layer in layers if _is_conv(layer)}
    last_of_size: dict[tuple[int, int], tuple[int, str]] = {}
    for i, layer in enumerate(layers[first:], start=first):
        size = _spatial(layer)
        if size is None or size not in conv_sizes or "pool" in type(layer).__name__.lower():
            continue
        if None in size or max(size) < 2:
            continue
        last_of_size[size] = (i, layer.name)
    return [name for _, name in sorted(last_of_size.values())]


def explain(model, images: np.ndarray, class_index=None) -> tuple[np.ndarray, str]:
    """(heat maps (n, h, w) in [0, 1], "layer-cam" or "saliency") for class_index (an int or
    one per image; default the predicted class)."""
    names = cam_layers(model)
    if names:
        try:
            return layercam(model, images, class_index, names), "layer-cam"
        except (ValueError, TypeError):
            # the conv layers are not reachable from the model's inputs (e.g. inside a nested
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


def _features_and_grads(model, images, class_index, names):
    """Outputs of the named layers and the gradients of the class score at them."""
    import keras
    import tensorflow as tf

    x = tf.convert_to_tensor(np.asarray(images, np.float32))
    outputs = [model.get_layer(name).output for name in names]
    probe = keras.Model(model.inputs, [*outputs, model.outputs[0]])
    with tf.GradientTape() as tape:
        *features, probs = probe(x, training=False)
        score = _class_scores(probs, class_index)
    return x, features, tape.gradient(score, features)


def _upsample(cam, size):
    import tensorflow as tf

    return tf.image.resize(cam[..., None], size, method="bilinear")[..., 0].numpy()


def layercam(model, images: np.ndarray, class_index=None, layers=None) -> np.ndarray:
    """Layer-CAM relu(sum_k relu(dS/dA_k) * A_k) at each layer (default cam_layers), each
    normalised to [0, 1] and upsampled, fused by the geometric mean."""
    names = list(layers or cam_layers(model))
    x, features, grads = _features_and_grads(model, images, class_index, names)
    maps = []
    for feature, grad in zip(features, grads, strict=True):
        if grad is None:
            raise ValueError("the class score does not depend on this layer")
        cam = np.maximum((np.maximum(grad.numpy(), 0.0) * feature.numpy()).sum(axis=-1), 0.0)
        maps.append(_normalise(_upsample(cam, x.shape[1:3])))
    fused = np.prod(maps, axis=0) ** (1.0 / len(maps))
    # maps that agree nowhere would leave a blank picture: fall back to their mean there
    blank = fused.reshape(len(fused), -1).max(axis=1) <= 0
    fused[blank] = np.mean(maps, axis=0)[blank]
    return _normalise(fused)


def gradcam(model, images: np.ndarray, class_index=None, layer: str | None = None) -> np.ndarray:
    """Classic Grad-CAM (channel weights = mean gradient) at one layer, upsampled to the image
    size."""
    layer = layer or last_conv_layer(model)
    x, (feature,), (grad,) = _features_and_grads(model, images, class_index, [layer])
    weights = grad.numpy().mean(axis=(1, 2), keepdims=True)
    cam = np.maximum((weights * feature.numpy()).sum(axis=-1), 0.0)
    return _normalise(_upsample(cam, x.shape[1:3]))


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
