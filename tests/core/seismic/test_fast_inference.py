"""Fast inference (folded batch norm, XLA-ready graph) against the plain Keras forward pass."""

from __future__ import annotations

import numpy as np
import pytest

from core.models.zoo.phasenet import PUBLISHED_WINDOW, PhaseNetSettings, build_phasenet
from core.paths import REPO_ROOT
from core.seismic.continuous import synthetic_record
from core.seismic.fast_inference import FastPredictor, bucket, forward_flops
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
    fast = FastPredictor(published, PUBLISHED_WINDOW)
    assert fast.lowered, fast.reason
    starts = [0, 1234, 4000, 9001, 20_000]
    batch = np.stack([ncedc_record[s : s + PUBLISHED_WINDOW] for s in starts])
    ours, theirs = fast(batch), _plain(published)(batch)
    assert ours.shape == theirs.shape == (5, PUBLISHED_WINDOW, 3)
    assert np.abs(ours - theirs).max() < 1e-3
    assert theirs[..., 1].max() > 0.5 and theirs[..., 2].max() > 0.5  # real P and S peaks
    xla = FastPredictor(published, PUBLISHED_WINDOW, jit=True)  # 5 windows, padded to 8
    assert np.abs(xla(batch) - theirs).max() < 1e-3


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


def test_the_picker_uses_it_and_picks_are_identical_on_a_synthetic_record(published):
    picker = Picker(published, {"sampling_rate": 100.0, "task": "picking"})
    assert picker._fast.lowered
    data = synthetic_record(240.0, seed=5).record.data
    options = PickOptions(overlap=0.5, batch_size=8)
    ours = picker.pick(data, 100.0, 0.0, options)
    theirs = pick_array(_plain(published), data, 100.0, PUBLISHED_WINDOW, options=options)
    assert np.abs(ours.probabilities - theirs.probabilities).max() < 1e-3
    assert len(theirs.picks) > 0
    assert [(p.phase, p.sample) for p in ours.picks] == [(p.phase, p.sample) for p in theirs.picks]


def test_an_unknown_layer_falls_back_to_the_plain_forward_pass():
    import keras

    inputs = keras.Input((200, 3))
    outputs = keras.layers.Dense(3, activation="softmax")(keras.layers.GaussianNoise(0.1)(inputs))
    model = keras.Model(inputs, outputs)
    fast = FastPredictor(model, 200)
    assert not fast.lowered and "GaussianNoise" in fast.reason
    x = np.random.default_rng(0).normal(size=(5, 200, 3)).astype(np.float32)
    assert np.abs(fast(x) - _plain(model)(x)).max() < 1e-6


def test_buckets_and_flops():
    assert [bucket(n) for n in (1, 8, 9, 64, 65, 256)] == [8, 8, 16, 64, 128, 256]
    model = build_phasenet((PUBLISHED_WINDOW, 3), 3, PUBLISHED)
    # 38.9 MFLOP: hand count of the 19 convolutions at lengths 3000 / 750 / 188 / 47 / 12
    assert forward_flops(model) == 38_911_232
