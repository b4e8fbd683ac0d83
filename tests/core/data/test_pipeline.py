"""core.data.pipeline: batch shapes and dtypes, seeded shuffling, evaluation order, subsampling."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from core.data.pipeline import make_dataset, subsample

N = 50


def numbered(n: int = N):
    """Images whose every pixel is their own index, labels equal to the index."""
    x = np.broadcast_to(np.arange(n, dtype=np.float32)[:, None, None, None], (n, 4, 3, 2)).copy()
    y = np.arange(n, dtype=np.int64)
    return x, y


def labels_of(ds) -> list[int]:
    return [int(v) for _, y in ds for v in y.numpy()]


def test_batches_have_the_right_shapes_and_dtypes():
    x, y = numbered()
    batches = list(make_dataset(x, y, 16, training=False))
    assert [b[0].shape[0] for b in batches] == [16, 16, 16, 2]
    images, labels = batches[0]
    assert images.shape == (16, 4, 3, 2) and images.dtype == tf.float32
    assert labels.shape == (16,) and labels.dtype == tf.int64
    np.testing.assert_array_equal(images.numpy()[:, 0, 0, 0], labels.numpy().astype(np.float32))


def test_training_batches_keep_image_label_pairs_together():
    x, y = numbered()
    for images, labels in make_dataset(x, y, 7, training=True, seed=3):
        np.testing.assert_array_equal(images.numpy()[:, 2, 1, 1], labels.numpy())


def test_not_training_keeps_order():
    x, y = numbered()
    ds = make_dataset(x, y, 8, training=False)
    assert labels_of(ds) == list(range(N))
    assert labels_of(ds) == list(range(N))  # and again on the next pass


def test_training_shuffles_deterministically_with_a_seed():
    x, y = numbered()
    first = labels_of(make_dataset(x, y, 8, training=True, seed=1))
    again = labels_of(make_dataset(x, y, 8, training=True, seed=1))
    other = labels_of(make_dataset(x, y, 8, training=True, seed=2))
    assert sorted(first) == list(range(N))  # every example once per epoch
    assert first != list(range(N))
    assert first == again
    assert first != other


def test_training_reshuffles_each_epoch():
    x, y = numbered()
    ds = make_dataset(x, y, 8, training=True, seed=1)
    epoch1, epoch2 = labels_of(ds), labels_of(ds)
    assert sorted(epoch1) == sorted(epoch2) == list(range(N))
    assert epoch1 != epoch2


def test_small_shuffle_buffer_still_yields_everything():
    x, y = numbered()
    got = labels_of(make_dataset(x, y, 5, training=True, seed=0, shuffle_buffer=4))
    assert sorted(got) == list(range(N))


def test_mismatched_lengths_are_refused():
    x, y = numbered()
    with pytest.raises(ValueError, match="50 examples but y has 49"):
        make_dataset(x, y[:-1], 8, training=False)


def test_subsample_all_when_no_limit_or_limit_too_big():
    x, y = numbered()
    for limit in (None, N, N + 10):
        sx, sy = subsample(x, y, limit, seed=0)
        assert sx is x and sy is y


def test_subsample_is_seeded_ordered_and_without_replacement():
    x, y = numbered()
    sx, sy = subsample(x, y, 10, seed=5)
    assert sx.shape == (10, 4, 3, 2) and sy.shape == (10,)
    assert len(set(sy.tolist())) == 10
    assert list(sy) == sorted(sy)  # original order kept
    np.testing.assert_array_equal(sx[:, 0, 0, 0], sy.astype(np.float32))  # pairs kept
    again = subsample(x, y, 10, seed=5)[1]
    other = subsample(x, y, 10, seed=6)[1]
    np.testing.assert_array_equal(sy, again)
    assert list(sy) != list(other)
