"""tf.data input pipelines: arrays -> cached, shuffled, augmented, batched, prefetched."""

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
    augment=None,
    with_callbacks: bool = False,
    indices: np.ndarray | None = None,
    augment_seed: int | None = None,
):
    """Batches of ((batch, h, w, c) float32, (batch, ...) targets); shuffled per epoch in training.

    The deterministic part (reading the arrays) is cached before the random shuffle and
    augmentation. With `augment` (a core.augment.pipeline.AugmentPipeline) each training example is
    augmented with a seed made of (augment_seed or seed, epoch, indices[i] or i), exactly as
    the preview does;
    the epoch reaches the pipeline through a callback, so pass with_callbacks=True and give
    the returned callbacks to model.fit.
    """
    if len(x) != len(y):
        raise ValueError(f"x has {len(x)} examples but y has {len(y)}")
    callbacks = []
    if training and augment is not None:
        from core.augment.pipeline import EpochSeedCallback, augment_dataset

        epoch_var = tf.Variable(0, dtype=tf.int64, trainable=False, name="augment_epoch")
        index = np.arange(len(y)) if indices is None else np.asarray(indices)
        ds = tf.data.Dataset.from_tensor_slices((x, y, index.astype(np.int64))).cache()
        ds = ds.shuffle(min(shuffle_buffer, len(y)), seed=seed, reshuffle_each_iteration=True)
        draw_seed = seed if augment_seed is None else augment_seed
        ds = augment_dataset(ds, augment, draw_seed, epoch_var)
        callbacks.append(EpochSeedCallback(epoch_var))
    else:
        ds = tf.data.Dataset.from_tensor_slices((x, y)).cache()
        if training:
            ds = ds.shuffle(min(shuffle_buffer, len(y)), seed=seed, reshuffle_each_iteration=True)
    ds = ds.batch(batch_size).prefetch(tf.data.AUTOTUNE)
    return (ds, callbacks) if with_callbacks else ds


def subsample(x: np.ndarray, y: np.ndarray, limit: int | None, seed: int):
    """At most `limit` examples, drawn without replacement with a fixed seed (all if None)."""
    if limit is None or limit >= len(y):
        return x, y
    idx = np.sort(np.random.default_rng(seed).choice(len(y), size=limit, replace=False))
    return x[idx], y[idx]
