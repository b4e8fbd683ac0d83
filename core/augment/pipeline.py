"""Image augmentation: one pipeline for the preview page and for training, driven by seeds.

The ops (core.augment.image_ops) are small dataclasses that first draw their random parameters
from a seed, then apply them deterministically (the split Keras preprocessing layers use). A
pipeline is an ordered list of ops that prints one op per line and round-trips through a JSON spec.

Seeds. Every training example gets its own seed, a (2,) int64 tensor

    element_seed(base_seed, epoch, index)   # index = position in the training arrays fit gets

and op k of the pipeline uses stateless_fold_in(element_seed, k). So the augmentation depends
only on (base_seed, epoch, index, pipeline): not on the shuffle order, the batch size or the
number of parallel map calls, and a run resumed at epoch e (BackupAndRestore) sees the same
images. `preview(pipeline, images, seed, variants)` shows variant v of example i with
element_seed(seed, v, i), i.e. exactly what the model sees for that example in epoch v (0-based,
as Keras counts); pass `indices=` when the images are not the first n of the training arrays.

The epoch reaches the tf.data pipeline through a tf.Variable that `augment_dataset` reads inside
its map function and `EpochSeedCallback` assigns in on_epoch_begin. This is correct because
Keras 3.15 (TensorFlow 2.21 backend) calls on_epoch_begin(epoch) *before* it creates that
epoch's iterator (`iter(dataset)` happens lazily on the first step of the epoch), and tf.data
starts its map/prefetch threads only on the first `GetNext` of a new iterator. So no element of
epoch e is produced before the variable holds e. tests/core/test_augment.py checks this with a
real `model.fit` (3 epochs, parallel map, shuffle, prefetch): every element the model got reports
the epoch it read, and equals the preview image for (seed, variant=epoch, index).

Conditions for that guarantee (what core.runs.training must keep):
  * a finite dataset passed to fit *without* `steps_per_epoch` (Keras then makes a fresh iterator
    every epoch). With `dataset.repeat()` + `steps_per_epoch` one iterator runs across epochs and
    prefetch produces the first elements of epoch e+1 while the variable still holds e (measured:
    1 of 36 elements in a 3-epoch run read the previous epoch). If that is ever needed, put the
    epoch into the data instead of a variable, e.g.
    `tf.data.Dataset.range(epochs).flat_map(lambda e: one_epoch(e))`, deterministic by
    construction.
  * nothing else assigns the variable, and tf.data's `experimental_warm_start` option stays off
    (it starts the map threads when the iterator is created).

Typical use (training):

    epoch = tf.Variable(0, dtype=tf.int64, trainable=False)
    ds = tf.data.Dataset.from_tensor_slices((x, y, np.arange(len(y)))).cache()
    ds = ds.shuffle(len(y), seed=seed, reshuffle_each_iteration=True)
    ds = augment_dataset(ds, pipeline, seed, epoch).batch(64).prefetch(tf.data.AUTOTUNE)
    model.fit(ds, epochs=5, callbacks=[EpochSeedCallback(epoch)])
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from core.augment.image_geometry import (  # noqa: F401  (re-exported: the op classes are public API)
    CropOrPad,
    RandomCrop,
    Rotation,
    Translation,
    Zoom,
)
from core.augment.image_op_base import AugmentOp, sub_seed
from core.augment.image_ops import (  # noqa: F401  (re-exported: the op classes are public API)
    OPS,
    Brightness,
    Contrast,
    FlipLeftRight,
    FlipUpDown,
    GaussianNoise,
    Hue,
    RandomErasing,
    RandomFlipLeftRight,
    RandomFlipUpDown,
    Saturation,
    Standardize,
    Transpose,
)
from core.augment.spec import ops_from_spec, to_spec


class AugmentPipeline:
    """An ordered list of ops applied to one (h, w, c) float32 image in [0, 1]."""

    def __init__(self, ops: list | tuple = ()):
        self.ops = list(ops)
        for k, op in enumerate(self.ops):
            if not isinstance(op, AugmentOp):
                raise ValueError(f"step {k + 1}: {op!r} is not an augmentation op")
            if isinstance(op, Standardize) and k != len(self.ops) - 1:
                raise ValueError(
                    f"step {k + 1}: per-image standardization must be the last op "
                    "(the ops after it clip values to [0, 1])"
                )

    def __call__(self, image, seed) -> tuple[tf.Tensor, list[dict]]:
        """(augmented image, the parameters each op drew); seed is a (2,) int tensor."""
        image = tf.convert_to_tensor(image, tf.float32)
        if image.shape.rank != 3:
            raise ValueError(f"expected one image (h, w, c), got shape {image.shape}")
        seed = tf.cast(seed, tf.int64)
        drawn = []
        for k, op in enumerate(self.ops):
            params = op.draw(sub_seed(seed, k), image.shape)
            image = op.apply(image, params)
            drawn.append(params)
        return image, drawn

    def augment(self, image, seed) -> tf.Tensor:
        """Only the augmented image (for tf.data.Dataset.map)."""
        return self(image, seed)[0]

    def describe(self, drawn: list[dict]) -> list[str]:
        """One readable line per op for the parameters returned by __call__."""
        return [op.describe(_to_python(p)) for op, p in zip(self.ops, drawn, strict=True)]

    def to_spec(self) -> list[dict]:
        return to_spec(self.ops)

    @classmethod
    def from_spec(cls, spec: list[dict]) -> AugmentPipeline:
        """Rebuild from to_spec() output; ValueError names the step and what is wrong."""
        return cls(ops_from_spec(spec, OPS))

    def __eq__(self, other) -> bool:
        return isinstance(other, AugmentPipeline) and self.ops == other.ops

    def __len__(self) -> int:
        return len(self.ops)

    def __repr__(self) -> str:
        return f"AugmentPipeline({self.ops!r})"

    def __str__(self) -> str:
        return "\n".join(str(op) for op in self.ops) if self.ops else "(no augmentation)"


def _to_python(params: dict) -> dict:
    """Tensors -> floats (scalars) or lists, for describe()."""
    out = {}
    for key, value in params.items():
        array = np.asarray(value)
        out[key] = float(array) if array.ndim == 0 else array.tolist()
    return out


def element_seed(base_seed: int, epoch, index) -> tf.Tensor:
    """(2,) int64 seed of one example in one epoch; epoch and index: ints, tensors or variables."""
    value = int(base_seed) % 2**64
    base = tf.constant([value & 0xFFFFFFFF, value >> 32], tf.int64)
    seed = tf.random.experimental.stateless_fold_in(base, tf.cast(epoch, tf.int64))
    return tf.random.experimental.stateless_fold_in(seed, tf.cast(index, tf.int64))


def preview(
    pipeline: AugmentPipeline,
    images: np.ndarray,
    seed: int,
    variants: int,
    indices=None,
) -> list[list[tuple[np.ndarray, list[str]]]]:
    """result[i][v] = (image i as training augments it in epoch v, one description per op).

    images: (n, h, w, c) float32 in [0, 1]; indices: their positions in the training split
    (default 0..n-1), which is what the training seeds are keyed on.
    """
    images = np.asarray(images, np.float32)
    if images.ndim != 4:
        raise ValueError(f"expected images (n, h, w, c), got shape {images.shape}")
    indices = range(len(images)) if indices is None else [int(i) for i in indices]
    if len(indices) != len(images):
        raise ValueError(f"got {len(indices)} indices for {len(images)} images")
    result = []
    for image, index in zip(images, indices, strict=True):
        row = []
        for variant in range(variants):
            out, drawn = pipeline(image, element_seed(seed, variant, index))
            row.append((out.numpy(), pipeline.describe(drawn)))
        result.append(row)
    return result


def augment_dataset(
    ds: tf.data.Dataset, pipeline: AugmentPipeline, base_seed: int, epoch_var: tf.Variable
) -> tf.data.Dataset:
    """Unbatched (image, label, index) -> (augmented image, label), seeded per (epoch, index).

    The map runs with num_parallel_calls=AUTOTUNE and deterministic order; put `cache()` before
    it (the map is random) and batch/prefetch after it.
    """

    def augment(image, label, index):
        seed = element_seed(base_seed, epoch_var, index)
        return pipeline.augment(image, seed), label

    return ds.map(augment, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)


class EpochSeedCallback(keras.callbacks.Callback):
    """Sets the epoch variable read by augment_dataset at the start of every epoch."""

    def __init__(self, epoch_var: tf.Variable):
        super().__init__()
        self.epoch_var = epoch_var

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch_var.assign(tf.cast(epoch, self.epoch_var.dtype))
