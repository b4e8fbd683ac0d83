"""The ONNX graph's transposed convolutions as phase-interleaved Convs: (batch, length, 3) ->
(batch, length * stride, filters), equal to ONNX's ConvTranspose and to Keras."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from core.seismic import fast_inference, onnx_inference


def _deconv_model(length: int, kernel: int, stride: int, crop: tuple[int, int]):
    """Conv1DTranspose (+ batch norm, ReLU, crop) then a 1x1 Conv: the shapes of PhaseNet's up
    path, with random batch-norm statistics so that folding matters."""
    inputs = keras.Input((length, 3))
    x = keras.layers.Conv1D(6, 3, padding="same")(inputs)
    x = keras.layers.Conv1DTranspose(5, kernel, strides=stride, padding="same", use_bias=False)(x)
    x = keras.layers.ReLU()(keras.layers.BatchNormalization()(x))
    x = keras.layers.Cropping1D(crop)(x)
    outputs = keras.layers.Conv1D(4, 1)(x)
    model = keras.Model(inputs, outputs)
    rng = np.random.default_rng(kernel * 10 + stride)
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.moving_mean.assign(rng.normal(size=5))
            layer.moving_variance.assign(rng.uniform(0.5, 2, size=5))
    return model


def _graph(model, phases: bool = True):
    steps = fast_inference._plan(model)
    window, classes = model.outputs[0].shape[1], model.outputs[0].shape[2]
    return onnx_inference.build_graph(
        steps, id(model.inputs[0]), id(model.outputs[0]), window, classes, deconv_phases=phases
    )


def _run(model, phases: bool, x: np.ndarray) -> tuple[np.ndarray, list[str]]:
    graph = _graph(model, phases)
    y = onnx_inference.session(graph, threads=1).run(["y"], {"x": x})[0]
    return y, [node.op_type for node in graph.graph.node]


@pytest.mark.parametrize(
    ("kernel", "stride", "first"),
    [(7, 4, 1), (2, 3, 0), (3, 2, 5), (13, 4, 3), (4, 4, 2), (1, 2, 16), (5, 1, 0)],
)
def test_phase_convs_equal_conv_transpose_and_keras(kernel, stride, first):
    # 16 samples -> 16 * stride, cropped back to 16 (the graph's output is window long)
    length = 16
    model = _deconv_model(length, kernel, stride, (first, (stride - 1) * length - first))
    x = np.random.default_rng(0).normal(size=(3, length, 3)).astype(np.float32)
    ours, ops = _run(model, True, x)
    theirs, old_ops = _run(model, False, x)
    keras_out = np.asarray(model(x, training=False))
    assert "ConvTranspose" not in ops and "ConvTranspose" in old_ops
    assert np.abs(ours - theirs).max() < 1e-5
    assert np.abs(ours - keras_out).max() < 1e-5
    assert np.abs(keras_out).max() > 0.1  # not trivially zero


def test_a_phase_conv_read_by_two_layers_is_interleaved_once():
    inputs = keras.Input((32, 3))
    x = keras.layers.Conv1D(4, 3, strides=4, padding="same")(inputs)  # 8 samples
    up = keras.layers.Conv1DTranspose(4, 7, strides=4, padding="same")(x)  # 32
    a = keras.layers.Conv1D(3, 3, padding="same")(up)
    b = keras.layers.Conv1D(3, 5, padding="same")(keras.layers.ReLU()(up))
    merged = keras.layers.Conv1D(3, 1)(keras.layers.Concatenate()([a, b, up]))
    model = keras.Model(inputs, keras.layers.Softmax()(merged))
    x = np.random.default_rng(2).normal(size=(2, 32, 3)).astype(np.float32)
    ours, ops = _run(model, True, x)
    assert np.abs(ours - np.asarray(model(x, training=False))).max() < 1e-5
    # `up` is interleaved once for its two readers, its ReLU'd phases once: two Transposes, plus
    # the input's and the output's
    assert ops.count("Transpose") == 4 and "ConvTranspose" not in ops
