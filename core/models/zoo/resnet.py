"""A small ResNet (He et al. 2016) for small images: basic residual blocks with batch norm.

Input (batch, h, w, c) float32 in [0, 1]; output (batch, classes) softmax.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.models.zoo.basic import classifier_head


@dataclass
class ResNetSmallSettings:
    """A 3x3 stem, then stages of basic blocks; each stage after the first halves the size."""

    filters: tuple[int, ...] = (16, 32, 64)  # one stage per entry
    blocks_per_stage: int = 2
    dropout: float = 0.0  # before the output layer


def residual_block(x, filters: int, stride: int, name: str):
    """Two conv-BN layers plus a shortcut (1x1 conv projection when the shape changes)."""
    from keras import layers

    shortcut = x
    y = layers.Conv2D(
        filters, 3, strides=stride, padding="same", use_bias=False, name=f"{name}_conv1"
    )(x)
    y = layers.BatchNormalization(momentum=0.9, name=f"{name}_bn1")(y)
    y = layers.Activation("relu", name=f"{name}_relu1")(y)
    y = layers.Conv2D(filters, 3, padding="same", use_bias=False, name=f"{name}_conv2")(y)
    y = layers.BatchNormalization(momentum=0.9, name=f"{name}_bn2")(y)
    if stride != 1 or x.shape[-1] != filters:
        shortcut = layers.Conv2D(filters, 1, strides=stride, use_bias=False, name=f"{name}_proj")(x)
        shortcut = layers.BatchNormalization(momentum=0.9, name=f"{name}_proj_bn")(shortcut)
    y = layers.Add(name=f"{name}_add")([y, shortcut])
    return layers.Activation("relu", name=f"{name}_out")(y)


def build_resnet_small(input_shape, num_classes, settings: ResNetSmallSettings):
    import keras
    from keras import layers

    if not settings.filters or settings.blocks_per_stage < 1:
        raise ValueError("resnet_small needs at least one stage and one block per stage")
    inputs = keras.Input(shape=input_shape, name="image")
    x = layers.Conv2D(settings.filters[0], 3, padding="same", use_bias=False, name="stem_conv")(
        inputs
    )
    x = layers.BatchNormalization(momentum=0.9, name="stem_bn")(x)
    x = layers.Activation("relu", name="stem_relu")(x)
    for s, filters in enumerate(settings.filters):
        for b in range(settings.blocks_per_stage):
            size = min(x.shape[1], x.shape[2])
            stride = 2 if s > 0 and b == 0 and size >= 2 else 1
            x = residual_block(x, filters, stride, f"stage{s + 1}_block{b + 1}")
    x = layers.GlobalAveragePooling2D(name="global_pool")(x)
    outputs = classifier_head(x, num_classes, settings.dropout)
    return keras.Model(inputs, outputs, name="resnet_small")
