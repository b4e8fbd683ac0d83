"""Model registry: each model has a settings dataclass and a builder returning a Keras model.

Image classifiers take (batch, h, w, c) float32 in [0, 1] and return (batch, classes) softmax.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class CNNSettings:
    """A plain convolutional network: conv blocks, global pooling, dense head."""

    filters: tuple[int, ...] = (32, 64)
    dense_units: int = 128
    dropout: float = 0.25


@dataclass
class MLPSettings:
    """Dense layers on the flattened image."""

    hidden_units: tuple[int, ...] = (128, 64)
    dropout: float = 0.2


@dataclass(frozen=True)
class ModelSpec:
    name: str
    task: str  # "classification"
    description: str
    settings_cls: type
    build: Callable


def _build_cnn(input_shape, num_classes, settings: CNNSettings):
    import keras
    from keras import layers

    inputs = keras.Input(shape=input_shape, name="image")
    x = inputs
    for i, filters in enumerate(settings.filters):
        x = layers.Conv2D(filters, 3, padding="same", activation="relu", name=f"conv{i + 1}a")(x)
        x = layers.Conv2D(filters, 3, padding="same", activation="relu", name=f"conv{i + 1}b")(x)
        x = layers.MaxPooling2D(name=f"pool{i + 1}")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(settings.dense_units, activation="relu", name="dense")(x)
    x = layers.Dropout(settings.dropout, name="dropout")(x)
    outputs = layers.Dense(num_classes, activation="softmax", name="probabilities")(x)
    return keras.Model(inputs, outputs, name="cnn")


def _build_mlp(input_shape, num_classes, settings: MLPSettings):
    import keras
    from keras import layers

    inputs = keras.Input(shape=input_shape, name="image")
    x = layers.Flatten(name="flatten")(inputs)
    for i, units in enumerate(settings.hidden_units):
        x = layers.Dense(units, activation="relu", name=f"dense{i + 1}")(x)
        x = layers.Dropout(settings.dropout, name=f"dropout{i + 1}")(x)
    outputs = layers.Dense(num_classes, activation="softmax", name="probabilities")(x)
    return keras.Model(inputs, outputs, name="mlp")


MODELS: dict[str, ModelSpec] = {
    "cnn": ModelSpec(
        "cnn",
        "classification",
        "Plain CNN: two conv blocks, max pooling, dense head.",
        CNNSettings,
        _build_cnn,
    ),
    "mlp": ModelSpec(
        "mlp",
        "classification",
        "Multi-layer perceptron on the flattened image.",
        MLPSettings,
        _build_mlp,
    ),
}


class ModelError(ValueError):
    """An unknown model or bad model settings; the message is meant for the user."""


def list_models() -> list[ModelSpec]:
    return list(MODELS.values())


def model_spec(name: str) -> ModelSpec:
    try:
        return MODELS[name]
    except KeyError:
        raise ModelError(f"unknown model {name!r}; choose one of: {', '.join(MODELS)}") from None


def build_model(
    name: str, input_shape: tuple[int, ...], num_classes: int, settings: dict | None = None
):
    """Build an uncompiled Keras model by registry name; settings override the defaults."""
    spec = model_spec(name)
    try:
        obj = spec.settings_cls(**(settings or {}))
    except TypeError as err:
        raise ModelError(f"bad settings for model {name!r}: {err}") from None
    return spec.build(tuple(input_shape), num_classes, obj), dataclasses.asdict(obj)
