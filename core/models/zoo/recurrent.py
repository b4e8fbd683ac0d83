"""Recurrent classifiers that read an image row by row: (h, w*c) sequences into LSTM or GRU.

Input (batch, h, w, c) float32 in [0, 1]; output (batch, classes) softmax.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.models.zoo.basic import classifier_head


@dataclass
class RecurrentSettings:
    """Stacked recurrent layers over the image rows; the last one returns its final state."""

    units: tuple[int, ...] = (64,)
    bidirectional: bool = False
    dropout: float = 0.2  # before the output layer


def build_recurrent(cell: str, input_shape, num_classes, settings: RecurrentSettings):
    """cell: 'lstm' or 'gru'."""
    import keras
    from keras import layers

    if not settings.units:
        raise ValueError(f"{cell} needs at least one recurrent layer (units)")
    layer_cls = {"lstm": layers.LSTM, "gru": layers.GRU}[cell]
    height, width, channels = input_shape
    inputs = keras.Input(shape=input_shape, name="image")
    x = layers.Reshape((height, width * channels), name="rows")(inputs)
    for i, units in enumerate(settings.units):
        last = i == len(settings.units) - 1
        rnn = layer_cls(units, return_sequences=not last, name=f"{cell}{i + 1}")
        if settings.bidirectional:
            rnn = layers.Bidirectional(rnn, name=f"bi_{cell}{i + 1}")
        x = rnn(x)
    return keras.Model(inputs, classifier_head(x, num_classes, settings.dropout), name=cell)


def build_lstm(input_shape, num_classes, settings: RecurrentSettings):
    return build_recurrent("lstm", input_shape, num_classes, settings)


def build_gru(input_shape, num_classes, settings: RecurrentSettings):
    return build_recurrent("gru", input_shape, num_classes, settings)
