"""PhaseNet-style U-Net picker (Zhu & Beroza 2019): (batch, window, 3) -> (batch, window, 3).

Input: three components E, N, Z in any unit (raw counts are fine). Output: per-sample softmax
over [noise, P, S].

Normalisation lives in the model (so the saved .keras file takes raw data, like SeisBench's
`annotate`): the first layer is a parameter-free LayerNormalization over the time axis, i.e.
for each window and each component separately `(x - mean) / sqrt(var + eps)`: PhaseNet's
per-window, per-channel "std" normalisation. A dead (all-zero) component stays zero.

Architecture as PhaseNet: an input convolution, then per level a same-padded convolution
(kept as the skip) and a stride-4 convolution down; the decoder goes up with stride-4
transposed convolutions, crops to the skip's length (so any window length works, e.g. 3001:
3001 -> 751 -> 188 -> 47 -> 12 and back), concatenates the skip and convolves. Every layer is a
plain Keras layer, so `model.save(...)` / `keras.models.load_model(..., safe_mode=True)` work.

`crop="end"` (our default, what earlier runs were trained with) drops the transposed
convolution's extra samples at the end; `crop="center"` drops them from both ends, the later one
getting the odd sample, as PhaseNet's `crop_and_concat` does. PUBLISHED_SETTINGS with a
3000-sample window is exactly the network of PhaseNet's published 2019 checkpoint (see
core.seismic.phasenet_import); its input convolution's bias is folded into the batch norm.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

NORM_EPSILON = 1e-20  # in squared input units: tiny, so data in m/s (std ~1e-7) still works


@dataclass
class PhaseNetSettings:
    """PhaseNet's hyper-parameters. The default filters (8, 11, 16, 22, 32) are a smaller
    network than the published one (8, 16, 32, 64, 128), see PUBLISHED_SETTINGS."""

    filters: tuple[int, ...] = (8, 11, 16, 22, 32)  # channels per level, top to bottom
    kernel_size: int = 7
    stride: int = 4  # downsampling factor per level
    dropout: float = 0.0  # after every decoder block (0 = none, as PhaseNet)
    batch_norm: bool = True
    normalize: bool = True  # per-window, per-component standardisation as the first layer
    crop: str = "end"  # end | center: where the decoder drops the samples the skip lacks


CROPS = ("end", "center")
PUBLISHED_WINDOW = 3000  # samples (30 s at 100 Hz) of the published checkpoint
PUBLISHED_SETTINGS = {
    "filters": [8, 16, 32, 64, 128],
    "kernel_size": 7,
    "stride": 4,
    "crop": "center",
}


def level_lengths(samples: int, stride: int, levels: int) -> list[int]:
    """Sequence length at each level: [samples, ceil(samples / stride), ...] (`levels` values)."""
    lengths = [int(samples)]
    for _ in range(levels - 1):
        lengths.append(math.ceil(lengths[-1] / stride))
    return lengths


def build_phasenet(input_shape, num_classes: int = 3, settings: PhaseNetSettings | None = None):
    """Uncompiled keras.Model: (batch, samples, channels) float32 -> (batch, samples, classes)."""
    import keras
    from keras import layers

    settings = settings or PhaseNetSettings()
    samples, channels = int(input_shape[0]), int(input_shape[1])
    filters = [int(f) for f in settings.filters]
    if not filters:
        raise ValueError("PhaseNet needs at least one level of filters")
    if samples < settings.stride ** (len(filters) - 1):
        raise ValueError(
            f"window of {samples} samples is too short for {len(filters)} levels of stride "
            f"{settings.stride}"
        )
    if settings.crop not in CROPS:
        raise ValueError(f"crop must be one of {', '.join(CROPS)}, got {settings.crop!r}")
    k, stride = int(settings.kernel_size), int(settings.stride)
    lengths = level_lengths(samples, stride, len(filters))

    def block(x, n, name, strides=1, transpose=False):
        conv_cls = layers.Conv1DTranspose if transpose else layers.Conv1D
        bias = not settings.batch_norm
        x = conv_cls(n, k, strides=strides, padding="same", use_bias=bias, name=f"{name}_conv")(x)
        if settings.batch_norm:
            x = layers.BatchNormalization(epsilon=1e-3, name=f"{name}_bn")(x)
        return layers.ReLU(name=f"{name}_relu")(x)

    inputs = keras.Input(shape=(samples, channels), name="waveform")
    x = inputs
    if settings.normalize:
        x = layers.LayerNormalization(
            axis=1, center=False, scale=False, epsilon=NORM_EPSILON, name="normalize"
        )(x)
    x = block(x, filters[0], "input")
    skips = []
    for i, n in enumerate(filters):
        x = block(x, n, f"down{i}")
        if i < len(filters) - 1:
            skips.append(x)
            x = block(x, n, f"down{i}_pool", strides=stride)
    for i in reversed(range(len(filters) - 1)):
        x = block(x, filters[i], f"up{i}", strides=stride, transpose=True)
        extra = lengths[i + 1] * stride - lengths[i]  # transposed conv overshoots by this much
        if extra:
            first = extra // 2 if settings.crop == "center" else 0
            x = layers.Cropping1D((first, extra - first), name=f"up{i}_crop")(x)
        x = layers.Concatenate(axis=-1, name=f"up{i}_skip")([skips[i], x])
        x = block(x, filters[i], f"up{i}_merge")
        if settings.dropout:
            x = layers.Dropout(settings.dropout, name=f"up{i}_dropout")(x)
    x = layers.Conv1D(num_classes, 1, padding="same", name="logits")(x)
    outputs = layers.Softmax(axis=-1, dtype="float32", name="probabilities")(x)
    return keras.Model(inputs, outputs, name="phasenet")
