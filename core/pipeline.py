"""tf.data input pipelines: arrays -> cached, shuffled, batched, prefetched datasets."""

from __future__ import annotations

import numpy as np
import tensorflow as tf


def make_dataset(
    x: np.ndarray,
    y: np.ndarray,
    batch_size: int,
    *,
    training: bool,
    seed: int = 0,
    shuffle_buffer: int = 10_000,
) -> tf.data.Dataset:
    """Batches of ((batch, h, w, c) float32, (batch,) int64); shuffled per epoch when training.

    The deterministic part (reading the arrays) is cached before the random shuffle.
    """
    if len(x) != len(y):
        raise ValueError(f"x has {len(x)} examples but y has {len(y)}")
    ds = tf.data.Dataset.from_tensor_slices((x, y)).cache()
    if training:
        ds = ds.shuffle(min(shuffle_buffer, len(x)), seed=seed, reshuffle_each_iteration=True)
    return ds.batch(batch_size).prefetch(tf.data.AUTOTUNE)


def subsample(x: np.ndarray, y: np.ndarray, limit: int | None, seed: int):
    """At most `limit` examples, drawn without replacement with a fixed seed (all if None)."""
    if limit is None or limit >= len(y):
        return x, y
    idx = np.sort(np.random.default_rng(seed).choice(len(y), size=limit, replace=False))
    return x[idx], y[idx]
