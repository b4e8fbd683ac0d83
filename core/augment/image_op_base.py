"""AugmentOp, the base class of every image augmentation op, and the seed and shape helpers.

Every op works on one image, (h, w, c) float32 in [0, 1], with c = 1 (grayscale) or 3 (RGB):

    params = op.draw(seed, image.shape)   # dict of tensors, stateless: same seed -> same params
    image = op.apply(image, params)       # deterministic; same shape and dtype, clipped to [0, 1]
    op.describe({k: float(v) ...})        # "brightness +0.17"

Only TensorFlow ops are used, so each op runs eagerly (preview) and inside `tf.data.Dataset.map`
(graph mode). Per-image standardization is the one op that does not clip to [0, 1].
The ops live in core.augment.image_ops (pixel values) and core.augment.image_geometry (geometry);
the pipeline, seeds, preview and tf.data glue in core.augment.pipeline.
"""

from __future__ import annotations

import dataclasses
import math
import numbers

import tensorflow as tf

from core.augment.spec import SpecOp


def sub_seed(seed, k: int) -> tf.Tensor:
    """An independent (2,) int64 seed for the k-th random draw from `seed`."""
    seed = tf.cast(seed, tf.int64)
    return tf.random.experimental.stateless_fold_in(seed, tf.constant(k, tf.int64))


def uniform(seed, k: int, low: float, high: float) -> tf.Tensor:
    """A scalar float32 drawn uniformly from [low, high) with the k-th sub-seed of `seed`."""
    return tf.random.stateless_uniform([], sub_seed(seed, k), low, high, dtype=tf.float32)


def coin(seed, k: int, probability: float) -> tf.Tensor:
    """1.0 with the given probability, else 0.0 (scalar float32)."""
    return tf.cast(uniform(seed, k, 0.0, 1.0) < probability, tf.float32)


def static_hw(image: tf.Tensor) -> tuple[int, int]:
    """(height, width) as Python ints; the image shape must be known when the op is built."""
    h, w = image.shape[-3], image.shape[-2]
    if h is None or w is None:
        raise ValueError(f"augmentation needs a known image size, got shape {image.shape}")
    return int(h), int(w)


def channels(shape) -> int:
    c = tf.TensorShape(shape)[-1]
    if c is None:
        raise ValueError(f"augmentation needs a known channel count, got shape {shape}")
    return int(c)


def clip01(image: tf.Tensor) -> tf.Tensor:
    return tf.clip_by_value(image, 0.0, 1.0)


def _num(value: float) -> str:
    return f"{value:g}" if isinstance(value, float) else repr(value)


class AugmentOp(SpecOp):
    """Base of all image ops (the SpecOp protocol). Subclasses are frozen dataclasses whose fields
    are the op's settings; draw() takes a (2,) int seed, apply() works on a (h, w, c) tensor.
    """

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if f.name in self.PARAMS:
                value = self._number(f, value)
            elif f.name in self.CHOICES and value not in self.CHOICES[f.name]:
                allowed = ", ".join(repr(c) for c in self.CHOICES[f.name])
                raise ValueError(f"{self.NAME}: {f.name} must be one of {allowed}, got {value!r}")
            object.__setattr__(self, f.name, value)
        self.check()

    def _number(self, f: dataclasses.Field, value) -> float | int:
        lo, hi, _ = self.PARAMS[f.name]
        want_int = f.type in ("int", int)
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise ValueError(f"{self.NAME}: {f.name} must be a number, got {value!r}")
        if want_int and float(value) != int(value):
            raise ValueError(f"{self.NAME}: {f.name} must be a whole number, got {value!r}")
        value = int(value) if want_int else float(value)
        if not (lo <= value <= hi and math.isfinite(value)):
            raise ValueError(f"{self.NAME}: {f.name}={value:g} is outside [{lo:g}, {hi:g}]")
        return value

    def check(self) -> None:
        """Cross-field rules (e.g. lower <= upper); raise ValueError with a clear message."""

    def _ordered(self, low: str, high: str) -> None:
        if getattr(self, low) > getattr(self, high):
            raise ValueError(f"{self.NAME}: {low} must not exceed {high}")

    def draw(self, seed, image_shape) -> dict[str, tf.Tensor]:
        """Random parameters from a (2,) int seed; deterministic ops draw nothing."""
        return {}

    def apply(self, image: tf.Tensor, params: dict) -> tf.Tensor:
        raise NotImplementedError

    def describe(self, params: dict) -> str:
        raise NotImplementedError

    def __str__(self) -> str:
        args = ", ".join(f"{k}={_num(v)}" for k, v in self.settings().items())
        return f"{type(self).__name__}({args})"
