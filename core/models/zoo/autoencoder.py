"""A convolutional denoising autoencoder: image in, image of the same shape out.

Input (batch, h, w, c) float32 in [0, 1] (noisy); output (batch, h, w, c) sigmoid in [0, 1].
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class AutoencoderSettings:
    """Encoder conv + stride-2 stages, a bottleneck, a mirrored decoder of transposed convs."""

    filters: tuple[int, ...] = (32, 64)  # one downsampling stage per entry
    bottleneck: int = 64  # channels at the smallest resolution
    dropout: float = 0.0  # at the bottleneck


def build_autoencoder(input_shape, num_classes, settings: AutoencoderSettings):
    """num_classes is ignored (kept for the registry's common signature)."""
    import keras
    from keras import layers

    height, width, channels = input_shape
    factor = 2 ** len(settings.filters)
    pad_h, pad_w = -height % factor, -width % factor  # pad to a multiple, crop at the end
    inputs = keras.Input(shape=input_shape, name="image")
    x = inputs
    if pad_h or pad_w:
        x = layers.ZeroPadding2D(((0, pad_h), (0, pad_w)), name="pad")(x)
    for i, filters in enumerate(settings.filters):
        x = layers.Conv2D(filters, 3, padding="same", activation="relu", name=f"enc{i + 1}")(x)
        x = layers.Conv2D(
            filters, 3, strides=2, padding="same", activation="relu", name=f"enc{i + 1}_down"
        )(x)
    x = layers.Conv2D(settings.bottleneck, 3, padding="same", activation="relu", name="bottleneck")(
        x
    )
    if settings.dropout:
        x = layers.SpatialDropout2D(settings.dropout, name="bottleneck_dropout")(x)
    for i, filters in reversed(list(enumerate(settings.filters))):
        x = layers.Conv2DTranspose(
            filters, 3, strides=2, padding="same", activation="relu", name=f"dec{i + 1}_up"
        )(x)
        x = layers.Conv2D(filters, 3, padding="same", activation="relu", name=f"dec{i + 1}")(x)
    if pad_h or pad_w:
        x = layers.Cropping2D(((0, pad_h), (0, pad_w)), name="crop")(x)
    outputs = layers.Conv2D(
        channels, 3, padding="same", activation="sigmoid", name="reconstruction"
    )(x)
    return keras.Model(inputs, outputs, name="autoencoder")
