"""Fast inference of a window picker: (batch, window, 3) float32 -> (batch, window, classes).

The Keras model (e.g. core.models.zoo.phasenet) is lowered once into plain TensorFlow ops for
inference only: every BatchNormalization that follows a convolution is folded into that
convolution's kernel and bias (scale = gamma / sqrt(var + eps), shift = beta - mean * scale),
so a block is conv + bias + ReLU; normalisation, crops, concatenations and the softmax stay as
they are, all float32. Optionally the graph is compiled with XLA (`tf.function(jit_compile=
True)`): ~15-20 % less CPU per window on a 2-core AVX2 machine, but 3-5 s of compilation per
batch shape, so it is off by default (it pays off only beyond about two days of 100 Hz data per
Picker). With XLA, batches are padded to a power of two so only a few shapes get compiled.
Large batches are cut into chunks of CHUNK windows: with 256 windows per call the activations
(up to 12 MB) fall out of the cache and a window costs ~40 % more CPU than with 64.

A model with a layer this module does not know (anything but InputLayer, LayerNormalization
without centre/scale, Conv1D, Conv1DTranspose, BatchNormalization, ReLU, Cropping1D,
Concatenate, Dropout, Softmax) falls back to the plain `model(x, training=False)` under
tf.function, so every picker keeps working. The default backend runs the same folded plan in
ONNX Runtime (core.seismic.onnx_inference: ~1.6x less CPU per window than the TensorFlow graph
on that machine); without onnx/onnxruntime, or if the ONNX graph fails to build, the folded
TensorFlow graph is used. TFLAB_FAST_INFERENCE: "onnx" (default), "tf" or "1" folded
TensorFlow, "xla" folded + XLA, "0" plain Keras. `forward_flops` counts the multiply-adds of the
convolutions (2 FLOPs each) of one window.
"""

from __future__ import annotations

import os
from collections.abc import Callable

import numpy as np

PredictFn = Callable[[np.ndarray], np.ndarray]
MIN_BUCKET = 8  # smallest padded batch
CHUNK = 64  # windows per forward call: larger batches fall out of the cache (slower per window)
BACKENDS = ("onnx", "tf", "xla", "keras")
DEFAULT = "onnx"


class Unsupported(Exception):
    """The model has a layer the lowering does not handle (the caller falls back)."""


def _layer_inputs(layer) -> list:
    """The KerasTensors a layer was called on (public `layer.input`; one call per layer)."""
    inputs = layer.input
    return list(inputs) if isinstance(inputs, list | tuple) else [inputs]


def _layer_output(layer):
    output = layer.output
    if isinstance(output, list | tuple):
        raise Unsupported(f"layer {layer.name} has {len(output)} outputs")
    return output


def _check_single_use(model) -> None:
    """Unsupported if a layer is called more than once (its config lists several nodes)."""
    for entry in model.get_config().get("layers", []):
        if len(entry.get("inbound_nodes") or []) > 1:
            raise Unsupported(f"layer {entry.get('name')} is used more than once")


def _activation(layer) -> str:
    name = getattr(getattr(layer, "activation", None), "__name__", "linear")
    if name not in ("linear", "relu"):
        raise Unsupported(f"activation {name} of {layer.name}")
    return name


def _plan(model) -> list[tuple]:
    """Steps (kind, layer name, input keys, output key, constants) in topological order."""
    from keras import layers

    _check_single_use(model)
    consumers: dict[int, int] = {}
    producer: dict[int, object] = {}
    for layer in model.layers:
        if isinstance(layer, layers.InputLayer):
            continue
        for t in _layer_inputs(layer):
            consumers[id(t)] = consumers.get(id(t), 0) + 1
        producer[id(_layer_output(layer))] = layer
    folded: dict[str, object] = {}  # conv name -> the BatchNormalization folded into it
    for layer in model.layers:
        if isinstance(layer, layers.BatchNormalization):
            (t,) = _layer_inputs(layer)
            conv = producer.get(id(t))
            if (
                isinstance(conv, layers.Conv1D | layers.Conv1DTranspose)
                and consumers[id(t)] == 1
                and _activation(conv) == "linear"
                and layer.axis in (-1, 2)
            ):
                folded[conv.name] = layer
    steps = []
    for layer in model.layers:
        if isinstance(layer, layers.InputLayer):
            continue
        ins = [id(t) for t in _layer_inputs(layer)]
        out = id(_layer_output(layer))
        steps.append(_step(layer, ins, out, folded))
    return steps


def _bn_scale_shift(bn):
    gamma = np.asarray(bn.gamma.numpy() if bn.scale else 1.0, np.float64)
    beta = np.asarray(bn.beta.numpy() if bn.center else 0.0, np.float64)
    mean = np.asarray(bn.moving_mean.numpy(), np.float64)
    var = np.asarray(bn.moving_variance.numpy(), np.float64)
    scale = gamma / np.sqrt(var + bn.epsilon)
    return scale, beta - mean * scale


def _step(layer, ins, out, folded) -> tuple:
    from keras import layers

    if isinstance(layer, layers.Conv1D | layers.Conv1DTranspose):
        transpose = isinstance(layer, layers.Conv1DTranspose)
        if tuple(layer.dilation_rate) != (1,) or getattr(layer, "groups", 1) != 1:
            raise Unsupported(f"dilated or grouped convolution {layer.name}")
        if layer.padding not in ("same", "valid") or layer.data_format != "channels_last":
            raise Unsupported(f"padding/data format of {layer.name}")
        if transpose and (layer.output_padding is not None or layer.padding != "same"):
            raise Unsupported(f"transposed convolution {layer.name}")
        kernel = np.asarray(layer.kernel.numpy(), np.float64)  # (k, in, out) | (k, out, in)
        out_axis = 1 if transpose else 2
        bias = np.zeros(kernel.shape[out_axis])
        if layer.use_bias:
            bias = np.asarray(layer.bias.numpy(), np.float64)
        if layer.name in folded:
            scale, shift = _bn_scale_shift(folded[layer.name])
            shape = [1, 1, 1]
            shape[out_axis] = -1
            kernel = kernel * scale.reshape(shape)
            bias = bias * scale + shift
        consts = {
            "kernel": kernel.astype(np.float32),
            "bias": bias.astype(np.float32),
            "stride": int(layer.strides[0]),
            "padding": layer.padding.upper(),
            "relu": _activation(layer) == "relu",
        }
        return ("deconv" if transpose else "conv", layer.name, ins, out, consts)
    if isinstance(layer, layers.BatchNormalization):
        if any(layer.name is bn.name for bn in folded.values()):
            return ("identity", layer.name, ins, out, {})
        scale, shift = _bn_scale_shift(layer)
        return ("affine", layer.name, ins, out, {"scale": scale, "shift": shift})
    if isinstance(layer, layers.LayerNormalization):
        if layer.center or layer.scale or getattr(layer, "rms_scaling", False):
            raise Unsupported(f"layer normalisation {layer.name} with parameters")
        axes = [layer.axis] if isinstance(layer.axis, int) else list(layer.axis)
        return ("layernorm", layer.name, ins, out, {"axes": axes, "eps": layer.epsilon})
    if isinstance(layer, layers.ReLU):
        if layer.max_value is not None or layer.negative_slope or layer.threshold:
            raise Unsupported(f"parametrised ReLU {layer.name}")
        return ("relu", layer.name, ins, out, {})
    if isinstance(layer, layers.Cropping1D):
        return ("crop", layer.name, ins, out, {"crop": tuple(layer.cropping)})
    if isinstance(layer, layers.Concatenate):
        return ("concat", layer.name, ins, out, {"axis": layer.axis})
    if isinstance(layer, layers.Dropout):
        return ("identity", layer.name, ins, out, {})
    if isinstance(layer, layers.Softmax):
        return ("softmax", layer.name, ins, out, {"axis": layer.axis})
    raise Unsupported(f"layer {layer.name} ({type(layer).__name__})")


def _run(steps, inputs, x):
    """Evaluate the plan with TensorFlow ops on a (batch, window, 3) float32 tensor."""
    import tensorflow as tf

    values = {inputs: x}
    for kind, _name, ins, out, c in steps:
        args = [values[i] for i in ins]
        a = args[0]
        if kind == "conv":
            y = tf.nn.conv1d(a, c["kernel"], c["stride"], c["padding"]) + c["bias"]
        elif kind == "deconv":
            batch, length = tf.shape(a)[0], tf.shape(a)[1]
            shape = tf.stack([batch, length * c["stride"], c["kernel"].shape[1]])
            y = tf.nn.conv1d_transpose(a, c["kernel"], shape, c["stride"], "SAME") + c["bias"]
        elif kind == "affine":
            y = a * c["scale"].astype(np.float32) + c["shift"].astype(np.float32)
        elif kind == "layernorm":
            mean, var = tf.nn.moments(a, axes=c["axes"], keepdims=True)
            y = (a - mean) * tf.math.rsqrt(var + c["eps"])
        elif kind == "relu":
            y = tf.nn.relu(a)
        elif kind == "crop":
            first, last = c["crop"]
            y = a[:, first : tf.shape(a)[1] - last]
        elif kind == "concat":
            y = tf.concat(args, axis=c["axis"])
        elif kind == "softmax":
            y = tf.nn.softmax(a, axis=c["axis"])
        else:  # identity
            y = a
        if kind in ("conv", "deconv") and c["relu"]:
            y = tf.nn.relu(y)
        values[out] = y
    return values


def forward_flops(model) -> int:
    """FLOPs of one window's forward pass: 2 per multiply-add of every convolution."""
    from keras import layers

    total = 0
    for layer in model.layers:
        if isinstance(layer, layers.Conv1D | layers.Conv1DTranspose):
            k, a, b = layer.kernel.shape
            transpose = isinstance(layer, layers.Conv1DTranspose)
            shape = (layer.input if transpose else layer.output).shape
            total += 2 * int(shape[1]) * int(k) * int(a) * int(b)
    return total


def bucket(n: int) -> int:
    """Padded batch size for n windows under XLA: the next power of two, at least MIN_BUCKET."""
    return max(MIN_BUCKET, 1 << (int(n) - 1).bit_length())


def backend_mode() -> str:
    """TFLAB_FAST_INFERENCE as a backend: onnx (default), tf ("1"), xla, keras ("0")."""
    raw = os.environ.get("TFLAB_FAST_INFERENCE", DEFAULT).strip().lower()
    mode = {"1": "tf", "0": "keras", "plain": "keras", "": DEFAULT}.get(raw, raw)
    return mode if mode in BACKENDS else DEFAULT


class FastPredictor:
    """Callable (batch, window, 3) -> (batch, window, classes) float32 numpy. `.backend` is the
    path used: "onnx" (folded graph in onnxruntime), "tf" (folded graph in TensorFlow), "xla"
    (the same compiled) or "keras" (the plain forward pass); `.lowered` is True unless "keras";
    `.reason` says why a faster path was not taken."""

    def __init__(self, model, window: int, jit: bool | None = None, backend: str | None = None):
        import tensorflow as tf

        mode = backend or ("xla" if jit else backend_mode())
        if jit is False and mode == "xla":
            mode = "tf"
        self.window = int(window)
        self.backend, self.reason = "keras", ""
        self._onnx = None
        spec = [tf.TensorSpec((None, self.window, 3), tf.float32)]
        fn = None
        if mode != "keras":
            try:
                steps = _plan(model)
                inputs, output = id(model.inputs[0]), id(model.outputs[0])
                if mode == "onnx":
                    self._onnx, self.reason = _onnx_runner(model, steps, self.window)
                if self._onnx is not None:
                    self.backend = "onnx"
                else:
                    self.backend = "xla" if mode == "xla" else "tf"
                    fn = tf.function(
                        lambda x: _run(steps, inputs, x)[output],
                        input_signature=None if self.jit else spec,
                        jit_compile=self.jit,
                    )
            except (Unsupported, AttributeError, ValueError, TypeError) as err:
                self.backend, self.reason = "keras", str(err)
        else:
            self.reason = "TFLAB_FAST_INFERENCE=0"
        if fn is None and self._onnx is None:
            fn = tf.function(lambda x: model(x, training=False), input_signature=spec)
        self._fn = fn

    @property
    def lowered(self) -> bool:
        return self.backend != "keras"

    @property
    def jit(self) -> bool:
        return self.backend == "xla"

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        batch = np.asarray(batch, np.float32)
        if self._onnx is not None:
            return self._onnx(batch)
        if not self.lowered:
            return self._fn(batch).numpy()
        if batch.shape[0] > CHUNK:
            return np.concatenate(
                [self._call(batch[i : i + CHUNK]) for i in range(0, len(batch), CHUNK)]
            )
        return self._call(batch)

    def _call(self, batch: np.ndarray) -> np.ndarray:
        n = batch.shape[0]
        if not self.jit:
            return self._fn(batch).numpy()
        size = bucket(n)
        if size != n:  # pad, so XLA sees few distinct shapes
            pad = np.zeros((size - n, *batch.shape[1:]), np.float32)
            batch = np.concatenate([batch, pad])
        return self._fn(batch).numpy()[:n]


def _onnx_runner(model, steps, window: int):
    """(OnnxRunner, "") or (None, why not): onnxruntime missing or the graph not buildable."""
    try:
        from core.seismic import onnx_inference
    except ImportError as err:
        return None, f"{err.name or 'onnx'} is not installed: folded TensorFlow graph instead"
    try:
        classes = int(model.outputs[0].shape[-1])
        return onnx_inference.OnnxRunner(steps, id(model.inputs[0]), id(model.outputs[0]),
                                         window, classes), ""  # fmt: skip
    except Exception as err:  # noqa: BLE001 - any ONNX build/load error: keep the TF path
        return None, f"ONNX graph failed ({type(err).__name__}: {err}); folded TensorFlow graph"
