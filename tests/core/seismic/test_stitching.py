"""Block-wise stitching and the prefetching batch loop equal the window-by-window reference."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from core.seismic.picking import PickingError, edge_weights, predict_probabilities, window_starts
from core.seismic.stitching import Stitcher

WINDOW = 300


def reference(predict, data, window, overlap, stacking="avg"):
    """The stitching as it was: one window at a time, the whole record in one batch."""
    starts = window_starts(len(data), window, overlap)
    weights = edge_weights(window, overlap)[:, None]
    probs = predict(np.stack([data[s : s + window] for s in starts]))
    if stacking == "max":
        acc = np.full(data.shape, -1.0, np.float32)
        fallback = np.full(data.shape, -1.0, np.float32)
        for s, p in zip(starts, probs, strict=True):
            fallback[s : s + window] = np.maximum(fallback[s : s + window], p)
            acc[s : s + window] = np.maximum(acc[s : s + window], np.where(weights >= 1, p, -1))
        out = np.where(acc >= 0, acc, fallback)
        out[:, 0] = np.clip(1.0 - out[:, 1] - out[:, 2], 0.0, 1.0)
        return out
    acc = np.zeros(data.shape, np.float32)
    norm = np.zeros((len(data), 1), np.float32)
    for s, p in zip(starts, probs, strict=True):
        acc[s : s + window] += p * weights
        norm[s : s + window] += weights
    return acc / np.maximum(norm, np.float32(1e-12))


def smooth(batch):
    """A deterministic nonlinear 'model': different values in every window and channel."""
    x = np.asarray(batch, np.float32)
    return np.tanh(0.3 * x + 0.01 * np.arange(x.shape[1], dtype=np.float32)[:, None]) + 1.0


@pytest.mark.parametrize(
    "samples, overlap, batch",
    [(3000, 0.5, 4), (3001, 0.5, 7), (2950, 0.5, 1), (3000, 0.25, 5), (3000, 0.75, 3),
     (3000, 0.0, 2), (3000, 0.3, 64), (299, 0.5, 4), (450, 0.5, 8)],
)  # fmt: skip
@pytest.mark.parametrize("stacking", ["avg", "max"])
def test_batched_stitching_equals_window_by_window(samples, overlap, batch, stacking):
    data = np.random.default_rng(samples).normal(size=(samples, 3)).astype(np.float32)
    got, windows = predict_probabilities(smooth, data, WINDOW, overlap, batch, stacking)
    padded = np.concatenate([data, np.zeros((max(0, WINDOW - samples), 3), np.float32)])
    want = reference(smooth, padded, WINDOW, overlap, stacking)[:samples]
    assert windows == len(window_starts(samples, WINDOW, overlap))
    assert got.shape == (samples, 3) and got.dtype == np.float32
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-6)
    if overlap in (0.5, 0.0):  # two blocks (or one) per window: the same sums, bit for bit
        assert np.array_equal(got, want)


def test_block_path_is_taken_when_the_step_divides_the_window():
    starts = window_starts(3001, WINDOW, 0.5)  # grid 0, 150, ... and a last start off the grid
    stitcher = Stitcher(3001, WINDOW, starts, edge_weights(WINDOW, 0.5))
    assert stitcher.blocks == 2 and stitcher.regular == len(starts) - 1
    uneven = window_starts(3000, WINDOW, 0.3)  # step 210 does not divide 300: window by window
    assert Stitcher(3000, WINDOW, uneven, edge_weights(WINDOW, 0.3)).blocks == 0


def test_one_predict_call_at_a_time_in_order_while_the_next_batch_is_prefetched():
    active, seen, lock = [0], [], threading.Lock()

    def predict(batch):
        with lock:
            active[0] += 1
            assert active[0] == 1, "two predict calls at once"
        seen.append(float(batch[0, 0, 0]))
        with lock:
            active[0] -= 1
        return smooth(batch)

    data = np.repeat(np.arange(3000, dtype=np.float32)[:, None], 3, axis=1)
    predict_probabilities(predict, data, WINDOW, 0.5, batch_size=3)
    starts = window_starts(3000, WINDOW, 0.5)
    assert seen == [float(s) for s in starts[::3]]


def test_a_model_error_or_a_wrong_shape_reaches_the_caller():
    def broken(batch):
        raise RuntimeError("model exploded")

    data = np.zeros((3000, 3), np.float32)
    with pytest.raises(RuntimeError, match="model exploded"):
        predict_probabilities(broken, data, WINDOW, 0.5, batch_size=2)
    with pytest.raises(PickingError, match="returned shape"):
        predict_probabilities(lambda b: b[:, :-1], data, WINDOW, 0.5, batch_size=2)
