"""Image classifiers built from plain layers: MLP, LeNet-5 and the default CNN.

Input (batch, h, w, c) float32 in [0, 1]; output (batch, classes) softmax named `probabilities`.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class MLPSettings:
    """Dense layers on the flattened image."""

    hidden_units: tuple[int, ...] = (128, 64)
    dropout: float = 0.2


@dataclass
class LeNet5Settings:
    """LeNet-5 (LeCun et al. 1998): conv 6@5x5, pool, conv 16@5x5, pool, dense 120, 84."""

    activation: str = "tanh"  # tanh as in the paper, or relu
    pooling: str = "average"  # average as in the paper, or max
    min_size: int = 32  # smaller inputs are zero-padded to this (28x28 MNIST -> 32x32)
    dropout: float = 0.0  # before the output layer


@dataclass
class CNNSettings:
    """Conv blocks (conv-BN-ReLU x convs_per_block, max pool), a dense or pooled head.

    The defaults reach about 98% test accuracy on the built-in digits in 50 epochs with the
    default RunConfig (Adam 1e-3, batch 32; see bench/bench_digits_quality.py).
    translation/rotation/zoom are random training-time augmentation layers inside the model
    (inactive at inference); 0 turns one off. kernel_init_scale: a conv followed by batch norm
    computes the same function at any kernel scale, but Adam's steps have a fixed size, so
    larger kernels learn more slowly and settle instead of jumping between epochs (used only
    with batch_norm).
    """

    filters: tuple[int, ...] = (64, 128, 256)
    dense_units: int = 0  # 0: global average pooling straight into the output layer
    dropout: float = 0.2
    convs_per_block: int = 1
    batch_norm: bool = True
    bn_momentum: float = 0.9  # of the batch-norm moving statistics used at inference
    kernel_init_scale: float = 3.0  # conv kernels start this much larger than He init (see below)
    translation: float = 0.1  # fraction of height/width
    rotation: float = 0.04  # fraction of a full turn (0.04 = +-14 degrees)
    zoom: float = 0.1  # fraction


def check_choice(name: str, value: str, options: tuple[str, ...]) -> None:
    """Raise ValueError naming the options when `value` is not one of them."""
    if value not in options:
        raise ValueError(f"{name} must be one of: {', '.join(options)} (got {value!r})")


def classifier_head(x, num_classes: int, dropout: float):
    """Dropout (if any) and the Dense softmax layer every classifier ends in."""
    from keras import layers

    if dropout:
        x = layers.Dropout(dropout, name="head_dropout")(x)
    return layers.Dense(num_classes, activation="softmax", name="probabilities")(x)


def build_mlp(input_shape, num_classes, settings: MLPSettings):
    import keras
    from keras import layers

    inputs = keras.Input(shape=input_shape, name="image")
    x = layers.Flatten(name="flatten")(inputs)
    for i, units in enumerate(settings.hidden_units):
        x = layers.Dense(units, activation="relu", name=f"dense{i + 1}")(x)
        x = layers.Dropout(settings.dropout, name=f"dropout{i + 1}")(x)
    outputs = layers.Dense(num_classes, activation="softmax", name="probabilities")(x)
    return keras.Model(inputs, outputs, name="mlp")


def build_lenet5(input_shape, num_classes, settings: LeNet5Settings):
    import keras
    from keras import layers

    check_choice("activation", settings.activation, ("tanh", "relu"))
    check_choice("pooling", settings.pooling, ("average", "max"))
    pool = layers.AveragePooling2D if settings.pooling == "average" else layers.MaxPooling2D
    act = settings.activation
    inputs = keras.Input(shape=input_shape, name="image")
    x = inputs
    pad_h = max(0, settings.min_size - input_shape[0])
    pad_w = max(0, settings.min_size - input_shape[1])
    if pad_h or pad_w:
        x = layers.ZeroPadding2D(
            ((pad_h // 2, pad_h - pad_h // 2), (pad_w // 2, pad_w - pad_w // 2)), name="pad"
        )(x)
    x = layers.Conv2D(6, 5, activation=act, name="c1")(x)
    x = pool(2, name="s2")(x)
    x = layers.Conv2D(16, 5, activation=act, name="c3")(x)
    x = pool(2, name="s4")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(120, activation=act, name="f5")(x)
    x = layers.Dense(84, activation=act, name="f6")(x)
    return keras.Model(inputs, classifier_head(x, num_classes, settings.dropout), name="lenet5")


def augmentation_layers(x, translation: float, rotation: float, zoom: float):
    """Random shift/rotation/zoom layers (training only), zero fill outside the image."""
    from keras import layers

    if translation:
        x = layers.RandomTranslation(
            translation, translation, fill_mode="constant", name="random_translation"
        )(x)
    if rotation:
        x = layers.RandomRotation(rotation, fill_mode="constant", name="random_rotation")(x)
    if zoom:
        x = layers.RandomZoom(zoom, fill_mode="constant", name="random_zoom")(x)
    return x


def build_cnn(input_shape, num_classes, settings: CNNSettings):
    import keras
    from keras import layers

    inputs = keras.Input(shape=input_shape, name="image")
    x = augmentation_layers(inputs, settings.translation, settings.rotation, settings.zoom)
    scale = settings.kernel_init_scale if settings.batch_norm else 1.0  # 1.0: He normal
    for i, filters in enumerate(settings.filters):
        for j in range(settings.convs_per_block):
            name = f"conv{i + 1}{'abcdefgh'[j % 8]}"
            x = layers.Conv2D(
                filters,
                3,
                padding="same",
                use_bias=not settings.batch_norm,
                kernel_initializer=keras.initializers.VarianceScaling(2.0 * scale**2),
                name=name,
            )(x)
            if settings.batch_norm:
                x = layers.BatchNormalization(momentum=settings.bn_momentum, name=f"{name}_bn")(x)
            x = layers.Activation("relu", name=f"{name}_relu")(x)
        if min(x.shape[1], x.shape[2]) >= 2:
            x = layers.MaxPooling2D(name=f"pool{i + 1}")(x)
    if settings.dense_units:
        x = layers.Flatten(name="flatten")(x)
        x = layers.Dense(settings.dense_units, activation="relu", name="dense")(x)
    else:
        x = layers.GlobalAveragePooling2D(name="global_pool")(x)
    return keras.Model(inputs, classifier_head(x, num_classes, settings.dropout), name="cnn")
