"""Fast inference (folded batch norm; ONNX Runtime, TensorFlow, XLA) against plain Keras."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from core.models.zoo.phasenet import PUBLISHED_WINDOW, PhaseNetSettings, build_phasenet
from core.paths import REPO_ROOT
from core.seismic import fast_inference, onnx_inference
from core.seismic.continuous import synthetic_record
from core.seismic.fast_inference import FastPredictor, backend_mode, bucket, forward_flops
from core.seismic.phasenet_import import build_model, read_checkpoint
from core.seismic.picking import Picker, PickOptions, pick_array

PUBLISHED = PhaseNetSettings(filters=(8, 16, 32, 64, 128), kernel_size=7, stride=4, crop="center")
CHECKPOINT = REPO_ROOT.parent / "shared" / "models" / "phasenet-2019"


@pytest.fixture(scope="module")
def published():
    """PhaseNet's published, trained network (the shared 2019 checkpoint): sharp picks."""
    assert CHECKPOINT.is_dir(), f"the shared PhaseNet checkpoint is missing: {CHECKPOINT}"
    return build_model(read_checkpoint(CHECKPOINT))


@pytest.fixture(scope="module")
def ncedc_record(ncedc_folder):
    """Four real NCEDC recordings (raw counts) back to back: (36,004, 3) float32."""
    files = sorted(ncedc_folder.glob("*.npz"))[:4]
    return np.concatenate([np.load(f)["data"] for f in files]).astype(np.float32)


def _plain(model):
    return lambda x: np.asarray(model(np.asarray(x, np.float32), training=False))


def test_the_published_model_is_lowered_and_matches_keras_on_real_windows(published, ncedc_record):
    fast = FastPredictor(published, PUBLISHED_WINDOW, backend="tf")
    assert fast.backend == "tf", fast.reason
    starts = [0, 1234, 4000, 9001, 20_000]
    batch = np.stack([ncedc_record[s : s + PUBLISHED_WINDOW] for s in starts])
    ours, theirs = fast(batch), _plain(published)(batch)
    assert ours.shape == theirs.shape == (5, PUBLISHED_WINDOW, 3)
    assert np.abs(ours - theirs).max() < 1e-3
    assert theirs[..., 1].max() > 0.5 and theirs[..., 2].max() > 0.5  # real P and S peaks
    xla = FastPredictor(published, PUBLISHED_WINDOW, jit=True)  # 5 windows, padded to 8
    assert xla.backend == "xla"
    assert np.abs(xla(batch) - theirs).max() < 1e-3


def test_the_onnx_path_matches_keras_on_real_windows_in_every_chunking(published, ncedc_record):
    fast = FastPredictor(published, PUBLISHED_WINDOW, backend="onnx")
    assert fast.backend == "onnx" and fast.lowered and not fast.jit, fast.reason
    starts = np.arange(0, len(ncedc_record) - PUBLISHED_WINDOW, 211)[:100]
    batch = np.stack([ncedc_record[s : s + PUBLISHED_WINDOW] for s in starts])
    theirs = _plain(published)(batch)
    assert theirs[..., 1].max() > 0.5 and theirs[..., 2].max() > 0.5  # real P and S peaks
    ours = fast(batch)  # 100 windows: two chunks of 50 on two worker threads
    assert ours.shape == theirs.shape and ours.dtype == np.float32
    assert np.abs(ours - theirs).max() < 1e-3
    assert np.abs(fast(batch[:1]) - theirs[:1]).max() < 1e-3  # one window, no threads
    assert np.abs(fast(batch[7:10]) - theirs[7:10]).max() < 1e-3
    graph = fast._onnx.model.graph
    ops = {node.op_type for node in graph.node}
    assert {"Conv", "Transpose", "Slice", "Relu"} <= ops and "ConvTranspose" not in ops
    assert "BatchNormalization" not in ops and "Concat" not in ops  # folded; concat -> 2 convs


def test_the_onnx_graph_handles_unfolded_batch_norm_valid_padding_and_time_concat():
    import keras

    inputs = keras.Input((64, 3))
    x = keras.layers.Conv1D(5, 4, padding="valid", activation="relu")(inputs)  # 61 samples
    x = keras.layers.BatchNormalization()(keras.layers.ReLU()(x))  # not after a conv: affine
    x = keras.layers.Conv1DTranspose(4, 3, strides=2, padding="same")(x)  # 122
    x = keras.layers.Cropping1D((3, 2))(x)  # 117
    y = keras.layers.Conv1DTranspose(4, 2, strides=3, padding="same")(x)  # 351, kernel < stride
    x = keras.layers.Concatenate(axis=1)([x, y])  # along time: 468
    x = keras.layers.Concatenate()([x, x])  # channels, consumed by a crop: written out
    x = keras.layers.Cropping1D((404, 0))(x)  # 64
    outputs = keras.layers.Softmax()(keras.layers.Conv1D(3, 1)(x))
    model = keras.Model(inputs, outputs)
    rng = np.random.default_rng(1)
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.moving_mean.assign(rng.normal(size=5))
            layer.moving_variance.assign(rng.uniform(0.5, 2, size=5))
    fast = FastPredictor(model, 64, backend="onnx")
    assert fast.backend == "onnx", fast.reason
    x = rng.normal(size=(9, 64, 3)).astype(np.float32)
    assert np.abs(fast(x) - _plain(model)(x)).max() < 1e-5


def test_stitched_probabilities_and_picks_match_on_a_record_not_a_multiple_of_the_hop(
    published, ncedc_record
):
    data = ncedc_record[:31_457]  # hop 1500: the record's tail does not fit evenly
    assert (len(data) - PUBLISHED_WINDOW) % 1500 != 0
    options = PickOptions(overlap=0.5, batch_size=5)  # batches of 5 and a short last batch
    fast = FastPredictor(published, PUBLISHED_WINDOW)
    ours = pick_array(fast, data, 100.0, PUBLISHED_WINDOW, options=options)
    theirs = pick_array(_plain(published), data, 100.0, PUBLISHED_WINDOW, options=options)
    assert ours.windows == theirs.windows == 20
    assert np.abs(ours.probabilities - theirs.probabilities).max() < 1e-3
    assert len(theirs.picks) >= 4
    assert [(p.phase, p.sample) for p in ours.picks] == [(p.phase, p.sample) for p in theirs.picks]


def test_the_picker_uses_onnx_and_picks_are_identical_on_a_synthetic_record(published, monkeypatch):
    monkeypatch.delenv("TFLAB_FAST_INFERENCE", raising=False)
    picker = Picker(published, {"sampling_rate": 100.0, "task": "picking"})
    assert picker._fast.backend == "onnx", picker._fast.reason
    data = synthetic_record(240.0, seed=5).record.data
    options = PickOptions(overlap=0.5, batch_size=8)
    ours = picker.pick(data, 100.0, 0.0, options)
    theirs = pick_array(_plain(published), data, 100.0, PUBLISHED_WINDOW, options=options)
    assert np.abs(ours.probabilities - theirs.probabilities).max() < 1e-3
    assert len(theirs.picks) > 0
    assert [(p.phase, p.sample) for p in ours.picks] == [(p.phase, p.sample) for p in theirs.picks]


def test_the_switch_selects_the_backend(monkeypatch):
    for value, mode in [
        ("onnx", "onnx"),
        ("1", "tf"),
        ("tf", "tf"),
        ("XLA", "xla"),
        ("0", "keras"),
    ]:
        monkeypatch.setenv("TFLAB_FAST_INFERENCE", value)
        assert backend_mode() == mode
    monkeypatch.setenv("TFLAB_FAST_INFERENCE", "gpu-please")
    assert backend_mode() == "onnx"  # unknown: the default
    monkeypatch.setenv("TFLAB_FAST_INFERENCE", "0")
    model = build_phasenet((PUBLISHED_WINDOW, 3), 3, PUBLISHED)
    plain = FastPredictor(model, PUBLISHED_WINDOW)
    assert plain.backend == "keras" and not plain.lowered


def test_without_onnxruntime_the_folded_tensorflow_graph_is_used(published, monkeypatch):
    import core.seismic

    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # import onnxruntime: ImportError
    monkeypatch.delitem(sys.modules, "core.seismic.onnx_inference")
    monkeypatch.delattr(core.seismic, "onnx_inference")
    fast = FastPredictor(published, PUBLISHED_WINDOW, backend="onnx")
    assert fast.backend == "tf" and "not installed" in fast.reason
    x = np.random.default_rng(2).normal(size=(3, PUBLISHED_WINDOW, 3)).astype(np.float32)
    assert np.abs(fast(x) - _plain(published)(x)).max() < 1e-3


def test_an_onnx_build_error_falls_back_to_tensorflow(published, monkeypatch):
    def broken(*args, **kwargs):
        raise ValueError("no graph today")

    monkeypatch.setattr(onnx_inference, "build_graph", broken)
    fast = FastPredictor(published, PUBLISHED_WINDOW, backend="onnx")
    assert fast.backend == "tf" and "no graph today" in fast.reason
    assert fast_inference.DEFAULT == "onnx"


def test_an_unknown_layer_falls_back_to_the_plain_forward_pass():
    import keras

    inputs = keras.Input((200, 3))
    outputs = keras.layers.Dense(3, activation="softmax")(keras.layers.GaussianNoise(0.1)(inputs))
    model = keras.Model(inputs, outputs)
    fast = FastPredictor(model, 200, backend="onnx")
    assert fast.backend == "keras" and not fast.lowered and "GaussianNoise" in fast.reason
    x = np.random.default_rng(0).normal(size=(5, 200, 3)).astype(np.float32)
    assert np.abs(fast(x) - _plain(model)(x)).max() < 1e-6


def test_buckets_and_flops():
    assert [bucket(n) for n in (1, 8, 9, 64, 65, 256)] == [8, 8, 16, 64, 128, 256]
    model = build_phasenet((PUBLISHED_WINDOW, 3), 3, PUBLISHED)
    # 38.9 MFLOP: hand count of the 19 convolutions at lengths 3000 / 750 / 188 / 47 / 12
    assert forward_flops(model) == 38_911_232
