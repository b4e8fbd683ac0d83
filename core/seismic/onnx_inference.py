"""ONNX Runtime inference of a picker: (batch, window, 3) float32 -> (batch, window, classes).

The folded plan of core.seismic.fast_inference (batch norm already folded into the convolutions'
kernels and biases) is written as an ONNX graph with the `onnx` helper API, as 2-D tensors
(batch, channels, 1, length), the layout in which onnxruntime's CPU provider runs convolutions
in its blocked NCHWc kernels (MLAS; plain 1-D convolutions are not): Transpose + Unsqueeze in,
then per step Conv (+Relu), Relu, Slice (crop), Concat, Mul/Add (a batch norm that could not be
folded), ReduceMean/Sqrt (parameter-free layer normalisation), a softmax
from ReduceMax/Exp/ReduceSum/Div (the Softmax op is slow on the channel axis), and Squeeze +
Transpose out. A channel concatenation read only by a convolution is not written out: the
convolution is split into one Conv per part, summed (onnxruntime fuses the sum and the ReLU into
the second Conv). TensorFlow's "same" padding becomes explicit pads (the extra one at the end).
A "same" Conv1DTranspose of stride s becomes a stride-1 Conv with s times the output channels
(one group per output phase) whose phases a Reshape/Transpose/Reshape (+ Slice) interleaves in
time (`_deconv_phases`: ~5 % less CPU per PhaseNet window than ONNX's ConvTranspose, which
`deconv_phases=False` still writes, with the pads of its forward convolution). The result
equals the TensorFlow graph up to float32 rounding (~1e-6). Lengths are static (the window is
fixed), only the batch is dynamic. Importing this module needs onnx and onnxruntime (heavy:
core.seismic.fast_inference imports it only when it builds a predictor, and falls back to
TensorFlow when the import fails).
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from typing import NamedTuple

import numpy as np
import onnxruntime as ort
from onnx import TensorProto, checker, helper, numpy_helper

OPSET = 18  # ReduceMean takes its axes as an input


def _same_pads(length: int, kernel: int, stride: int) -> tuple[int, int, int]:
    """(output length, pad before, pad after) of TensorFlow's "same" padding."""
    out = -(-length // stride)
    total = max((out - 1) * stride + kernel - length, 0)
    return out, total // 2, total - total // 2


def _channel_axis(axis: int) -> int:
    """A channels-last (batch, length, channels) axis in the (batch, channels, 1, length) layout."""
    return {0: 0, 1: 3, 2: 1}[axis % 3]


class _Value(NamedTuple):
    """A tensor of the graph (batch, channels, 1, length); `parts`: a channel concatenation not
    written out yet (a convolution reads its parts directly); `phases` (s, blocks, first): `name`
    is (batch, channels * s, 1, blocks), phase p of channel c at channel c * s + p, and the
    tensor is its phases interleaved in time from sample `first` on (not written out yet)."""

    name: str
    length: int
    channels: int
    parts: tuple | None = None
    phases: tuple | None = None


class _Graph:
    """Accumulates nodes and initializers with unique names."""

    def __init__(self):
        self.nodes, self.inits, self.count, self.written = [], [], 0, {}

    def name(self, base: str) -> str:
        self.count += 1
        return f"{base}_{self.count}"

    def const(self, base: str, value) -> str:
        name = self.name(base)
        self.inits.append(numpy_helper.from_array(np.asarray(value), name))
        return name

    def node(self, op: str, inputs: list[str], base: str, **attrs) -> str:
        out = self.name(base)
        self.nodes.append(helper.make_node(op, inputs, [out], name=out, **attrs))
        return out

    def dense(self, value: _Value) -> str:
        """The tensor's name, writing a deferred concatenation or interleave out (once) first."""
        key = (value.name, value.length, value.phases)
        if value.parts is None and value.phases is None:
            return value.name
        if key not in self.written:
            self.written[key] = (self._interleave(value) if value.parts is None else
                                 self.node("Concat", [self.dense(p) for p in value.parts],
                                           value.name, axis=1))  # fmt: skip
        return self.written[key]

    def _interleave(self, value: _Value) -> str:
        s, blocks, first = value.phases
        shape = self.const("phases", np.array([0, value.channels, s, blocks], np.int64))
        y = self.node("Reshape", [value.name, shape], "phases")
        y = self.node("Transpose", [y], "interleave", perm=[0, 1, 3, 2])
        flat = self.const("flat", np.array([0, value.channels, 1, blocks * s], np.int64))
        y = self.node("Reshape", [y, flat], "interleaved")
        if first == 0 and value.length == blocks * s:
            return y
        starts = self.const("start", np.array([first], np.int64))
        stops = self.const("stop", np.array([first + value.length], np.int64))
        axes = self.const("axes", np.array([3], np.int64))
        return self.node("Slice", [y, starts, stops, axes], "interleaved_crop")


def _conv(g: _Graph, x, name: str, c: dict) -> _Value:
    """Conv (+ bias); on a channel concatenation one Conv per part, summed (no Concat copy)."""
    k, stride = c["kernel"].shape[0], c["stride"]
    if c["padding"] == "SAME":
        out, before, after = _same_pads(x.length, k, stride)
    else:
        out, before, after = (x.length - k) // stride + 1, 0, 0
    attrs = {"kernel_shape": [1, k], "strides": [1, stride], "pads": [0, before, 0, after]}
    parts = x.parts or [x]
    y, first = None, 0
    for i, part in enumerate(parts):
        kernel = c["kernel"][:, first : first + part.channels]  # (k, in, out) -> (out, in, 1, k)
        first += part.channels
        weight = g.const(f"{name}_w", np.ascontiguousarray(kernel.transpose(2, 1, 0)[:, :, None]))
        inputs = [g.dense(part), weight] + ([g.const(f"{name}_b", c["bias"])] if i == 0 else [])
        z = g.node("Conv", inputs, name, **attrs)
        y = z if y is None else g.node("Add", [y, z], f"{name}_sum")
    return _Value(y, out, c["kernel"].shape[2])


def _deconv(g: _Graph, x, name: str, c: dict) -> _Value:
    """A "same" transposed convolution (+ Relu): ConvTranspose with the pads of the forward
    convolution of length * stride whose adjoint it is (TensorFlow's definition)."""
    k, stride = c["kernel"].shape[0], c["stride"]
    target = x.length * stride
    _, before, after = _same_pads(target, k, stride)
    extra = target - ((x.length - 1) * stride + k - before - after)  # > 0 when k < stride
    # Keras (k, out, in) -> ONNX (in, out, 1, k)
    weight = g.const(f"{name}_w", np.ascontiguousarray(c["kernel"].transpose(2, 1, 0)[:, :, None]))
    bias = g.const(f"{name}_b", c["bias"])
    y = g.node("ConvTranspose", [g.dense(x), weight, bias], name, kernel_shape=[1, k],
               strides=[1, stride], pads=[0, before, 0, after],
               output_padding=[0, max(extra, 0)])  # fmt: skip
    if c["relu"]:
        y = g.node("Relu", [y], f"{name}_relu")
    return _Value(y, target, c["kernel"].shape[1])


def _deconv_phases(g: _Graph, x, name: str, c: dict) -> _Value:
    """The same transposed convolution as one stride-1 Conv with `stride` times the output
    channels (MLAS runs it in its blocked kernels, ConvTranspose in a slow GEMM + col2im); the
    phases are interleaved in time only when the value is read (`_Graph.dense`), so a ReLU runs
    fused into the Conv and a crop becomes part of the final Slice.

    With z = o + before (o: output sample) and tap t = s*a + p: Z[s*J + p] = sum over a of
    x[J - a] @ W[t] (W[t]: in x out), a < ceil(k / s), and o = z - before.
    """
    k, s = c["kernel"].shape[0], c["stride"]
    cout, cin = c["kernel"].shape[1], c["kernel"].shape[2]
    target = x.length * s
    _, before, _ = _same_pads(target, k, s)
    taps = -(-k // s)
    blocks = (before + target - 1) // s + 1  # J = 0 .. (last z) // s
    weight = np.zeros((cout, s, cin, taps), np.float32)  # output channel c * s + p
    for t in range(k):
        weight[:, t % s, :, taps - 1 - t // s] = c["kernel"][t]  # (out, in) at column K-1-a
    w = g.const(f"{name}_w", weight.reshape(cout * s, cin, 1, taps))
    b = g.const(f"{name}_b", np.repeat(c["bias"], s).astype(np.float32))
    y = g.node("Conv", [g.dense(x), w, b], name, kernel_shape=[1, taps], strides=[1, 1],
               pads=[0, taps - 1, 0, blocks - x.length])  # fmt: skip
    if c["relu"]:
        y = g.node("Relu", [y], f"{name}_relu")
    return _Value(y, target, cout, phases=(s, blocks, before))


def _layernorm(g: _Graph, x: str, name: str, c: dict) -> str:
    axes = g.const(f"{name}_axes", np.array([_channel_axis(a) for a in c["axes"]], np.int64))
    mean = g.node("ReduceMean", [x, axes], f"{name}_mean", keepdims=1)
    centred = g.node("Sub", [x, mean], f"{name}_centred")
    square = g.node("Mul", [centred, centred], f"{name}_square")
    var = g.node("ReduceMean", [square, axes], f"{name}_var", keepdims=1)
    eps = g.const(f"{name}_eps", np.float32(c["eps"]))
    std = g.node("Sqrt", [g.node("Add", [var, eps], f"{name}_vareps")], f"{name}_std")
    return g.node("Div", [centred, std], name)


def _softmax(g: _Graph, x: str, name: str, axis: int) -> str:
    """Softmax over one axis from elementwise ops (ORT's Softmax is slow on a strided axis)."""
    axes = g.const(f"{name}_axes", np.array([axis], np.int64))
    peak = g.node("ReduceMax", [x, axes], f"{name}_max", keepdims=1)
    exp = g.node("Exp", [g.node("Sub", [x, peak], f"{name}_shift")], f"{name}_exp")
    total = g.node("ReduceSum", [exp, axes], f"{name}_sum", keepdims=1)
    return g.node("Div", [exp, total], name)


def _elementwise(g: _Graph, kind: str, name: str, inputs: list[str], a: _Value, c: dict) -> str:
    """The node of a step other than a convolution or a channel concatenation."""
    x = inputs[0]
    if kind == "affine":
        shape = (1, -1, 1, 1)
        scale = g.const(f"{name}_s", c["scale"].astype(np.float32).reshape(shape))
        shift = g.const(f"{name}_t", c["shift"].astype(np.float32).reshape(shape))
        return g.node("Add", [g.node("Mul", [x, scale], f"{name}_mul"), shift], name)
    if kind == "layernorm":
        return _layernorm(g, x, name, c)
    if kind == "relu":
        return g.node("Relu", [x], name)
    if kind == "crop":
        first, last = c["crop"]
        starts = g.const(f"{name}_start", np.array([first], np.int64))
        ends = g.const(f"{name}_end", np.array([a.length - last], np.int64))
        axes = g.const(f"{name}_axes", np.array([3], np.int64))
        return g.node("Slice", [x, starts, ends, axes], name)
    if kind == "concat":
        return g.node("Concat", inputs, name, axis=_channel_axis(c["axis"]))
    if kind == "softmax":
        return _softmax(g, x, name, _channel_axis(c["axis"]))
    return x  # identity


def _lazy(g: _Graph, kind: str, name: str, a: _Value, c: dict) -> _Value:
    """An identity, or a ReLU (on the phases, fused into their Conv) or a crop (in the final
    Slice) of a not yet interleaved value."""
    if kind == "relu":
        return a._replace(name=g.node("Relu", [a.name], name))
    if kind == "crop":
        s, blocks, first = a.phases
        return a._replace(
            length=a.length - sum(c["crop"]), phases=(s, blocks, first + c["crop"][0])
        )
    return a


def build_graph(
    steps: list[tuple],
    input_key: int,
    output_key: int,
    window: int,
    classes: int,
    deconv_phases: bool = True,
):
    """The onnx.ModelProto of a fast_inference plan: input "x" (batch, window, 3) float32,
    output "y" (batch, window, classes) float32."""
    g = _Graph()
    first = g.node("Transpose", ["x"], "to_channels_first", perm=[0, 2, 1])
    first = g.node("Unsqueeze", [first, g.const("height", np.array([2], np.int64))], "to_2d")
    values = {input_key: _Value(first, window, 3)}
    for kind, name, ins, out, c in steps:
        args = [values[i] for i in ins]
        a = args[0]
        if kind == "conv":
            y = _conv(g, a, name, c)
        elif kind == "deconv":
            y = (_deconv_phases if deconv_phases else _deconv)(g, a, name, c)
        elif kind == "identity" or (kind in ("relu", "crop") and a.phases):
            y = _lazy(g, kind, name, a, c)  # nothing written out yet
        elif kind == "concat" and _channel_axis(c["axis"]) == 1:
            parts = sum((v.parts or (v,) for v in args), ())
            y = _Value(g.name(name), a.length, sum(v.channels for v in args), parts)
        else:
            node = _elementwise(g, kind, name, [g.dense(v) for v in args], a, c)
            y = _Value(node, a.length, a.channels)  # written out: no deferred parts
            if kind == "crop":
                y = y._replace(length=a.length - sum(c["crop"]))
            elif kind == "concat":  # along time
                y = y._replace(length=sum(v.length for v in args))
        if kind == "conv" and c["relu"]:
            y = y._replace(name=g.node("Relu", [y.name], f"{name}_relu"))
        values[out] = y
    result = values[output_key]
    if result.length != window or result.channels != classes:
        raise ValueError(f"the graph's output is {result.length} x {result.channels}")
    height = g.const("height", np.array([2], np.int64))
    last = g.node("Squeeze", [g.dense(result), height], "to_1d")
    g.nodes.append(helper.make_node("Transpose", [last], ["y"], name="to_channels_last",
                                    perm=[0, 2, 1]))  # fmt: skip
    graph = helper.make_graph(
        g.nodes,
        "picker",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", window, 3])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", window, classes])],
        g.inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = 8  # readable by every onnxruntime since 1.10
    checker.check_model(model)
    return model


def session(model, threads: int | None = None):
    """An onnxruntime CPU InferenceSession of an onnx.ModelProto (all graph optimisations)."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = int(threads or os.cpu_count() or 1)
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")  # no busy waiting
    options.log_severity_level = 3
    return ort.InferenceSession(
        model.SerializeToString(), options, providers=["CPUExecutionProvider"]
    )


class OnnxRunner:
    """Callable (batch, window, 3) float32 -> (batch, window, classes) float32 via onnxruntime.

    A batch is cut into chunks of at most `chunk` windows, run by `workers` Python threads on one
    single-threaded session (onnxruntime releases the GIL): one thread per core costs less CPU
    per window than one session with a thread per core, and keeps both cores busy (a session
    per thread measured the same as the shared one, within +-3 %)."""

    def __init__(self, steps, input_key, output_key, window: int, classes: int, chunk: int = 64):
        self.model = build_graph(steps, input_key, output_key, window, classes)
        self.session = session(self.model, threads=1)
        self.workers = max(1, os.cpu_count() or 1)
        self.chunk = int(chunk)
        self._pool = None

    def _run(self, batch: np.ndarray) -> np.ndarray:
        return self.session.run(["y"], {"x": batch})[0]

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        batch = np.ascontiguousarray(batch, np.float32)
        n = len(batch)
        size = max(1, min(self.chunk, -(-n // self.workers)))
        if size >= n or self.workers == 1:
            if n <= self.chunk:
                return self._run(batch)
            return np.concatenate([self._run(batch[i : i + size]) for i in range(0, n, size)])
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="onnx-picker")
        parts = self._pool.map(self._run, [batch[i : i + size] for i in range(0, n, size)])
        return np.concatenate(list(parts))
