"""Image ops that change pixel values (flips, colour, noise, erasing) and OPS, every op by name."""

from __future__ import annotations

import math
from dataclasses import dataclass

import tensorflow as tf

from core.augment.image_geometry import CropOrPad, RandomCrop, Rotation, Translation, Zoom
from core.augment.image_op_base import (
    AugmentOp,
    channels,
    clip01,
    coin,
    static_hw,
    sub_seed,
    uniform,
)

# ----------------------------------------------------------------------------- flips


@dataclass(frozen=True)
class FlipLeftRight(AugmentOp):
    NAME = "flip_left_right"
    LABEL = "Flip left-right"

    def apply(self, image, params):
        return tf.image.flip_left_right(image)

    def describe(self, params):
        return "flipped left-right"


@dataclass(frozen=True)
class FlipUpDown(AugmentOp):
    NAME = "flip_up_down"
    LABEL = "Flip up-down"

    def apply(self, image, params):
        return tf.image.flip_up_down(image)

    def describe(self, params):
        return "flipped up-down"


@dataclass(frozen=True)
class Transpose(AugmentOp):
    """Swap rows and columns (a mirror about the main diagonal); square images only."""

    NAME = "transpose"
    LABEL = "Transpose"

    def apply(self, image, params):
        h, w = static_hw(image)
        if h != w:
            raise ValueError(f"transpose keeps the shape only for square images, got {h}x{w}")
        return tf.image.transpose(image)

    def describe(self, params):
        return "transposed"


@dataclass(frozen=True)
class RandomFlipLeftRight(AugmentOp):
    NAME = "random_flip_left_right"
    LABEL = "Random flip left-right"
    PARAMS = {"probability": (0.0, 1.0, 0.05)}
    probability: float = 0.5

    def draw(self, seed, image_shape):
        return {"flip": coin(seed, 0, self.probability)}

    def apply(self, image, params):
        return tf.where(params["flip"] > 0.5, tf.image.flip_left_right(image), image)

    def describe(self, params):
        return "flipped left-right" if params["flip"] > 0.5 else "not flipped left-right"


@dataclass(frozen=True)
class RandomFlipUpDown(AugmentOp):
    NAME = "random_flip_up_down"
    LABEL = "Random flip up-down"
    PARAMS = {"probability": (0.0, 1.0, 0.05)}
    probability: float = 0.5

    def draw(self, seed, image_shape):
        return {"flip": coin(seed, 0, self.probability)}

    def apply(self, image, params):
        return tf.where(params["flip"] > 0.5, tf.image.flip_up_down(image), image)

    def describe(self, params):
        return "flipped up-down" if params["flip"] > 0.5 else "not flipped up-down"


# ----------------------------------------------------------------------------- colour


@dataclass(frozen=True)
class Brightness(AugmentOp):
    """Add one delta in [-max_delta, max_delta] to every pixel."""

    NAME = "brightness"
    LABEL = "Brightness"
    PARAMS = {"max_delta": (0.0, 0.5, 0.01)}
    max_delta: float = 0.2

    def draw(self, seed, image_shape):
        return {"delta": uniform(seed, 0, -self.max_delta, self.max_delta)}

    def apply(self, image, params):
        return clip01(tf.image.adjust_brightness(image, params["delta"]))

    def describe(self, params):
        return f"brightness {params['delta']:+.2f}"


@dataclass(frozen=True)
class Contrast(AugmentOp):
    """Scale each channel's deviation from its mean by a factor in [lower, upper]."""

    NAME = "contrast"
    LABEL = "Contrast"
    PARAMS = {"lower": (0.0, 3.0, 0.05), "upper": (0.0, 3.0, 0.05)}
    lower: float = 0.8
    upper: float = 1.2

    def check(self):
        self._ordered("lower", "upper")

    def draw(self, seed, image_shape):
        return {"factor": uniform(seed, 0, self.lower, self.upper)}

    def apply(self, image, params):
        return clip01(tf.image.adjust_contrast(image, params["factor"]))

    def describe(self, params):
        return f"contrast x{params['factor']:.2f}"


def _rgb_only(image_shape) -> tf.Tensor:
    c = channels(image_shape)
    if c not in (1, 3):
        raise ValueError(f"colour ops need 1 or 3 channels, got {c}")
    return tf.constant(1.0 if c == 3 else 0.0)


@dataclass(frozen=True)
class Hue(AugmentOp):
    """Rotate the hue by a delta in [-max_delta, max_delta] turns (RGB only; no-op on grayscale)."""

    NAME = "hue"
    LABEL = "Hue"
    PARAMS = {"max_delta": (0.0, 0.5, 0.01)}
    max_delta: float = 0.05

    def draw(self, seed, image_shape):
        delta = uniform(seed, 0, -self.max_delta, self.max_delta)
        return {"delta": delta, "applies": _rgb_only(image_shape)}

    def apply(self, image, params):
        if channels(image.shape) != 3:
            return image
        return clip01(tf.image.adjust_hue(image, params["delta"]))

    def describe(self, params):
        if params.get("applies", 1.0) < 0.5:
            return "hue: n/a for grayscale"
        return f"hue {params['delta']:+.3f}"


@dataclass(frozen=True)
class Saturation(AugmentOp):
    """Scale the saturation by a factor in [lower, upper] (RGB only; no-op on grayscale)."""

    NAME = "saturation"
    LABEL = "Saturation"
    PARAMS = {"lower": (0.0, 3.0, 0.05), "upper": (0.0, 3.0, 0.05)}
    lower: float = 0.7
    upper: float = 1.3

    def check(self):
        self._ordered("lower", "upper")

    def draw(self, seed, image_shape):
        factor = uniform(seed, 0, self.lower, self.upper)
        return {"factor": factor, "applies": _rgb_only(image_shape)}

    def apply(self, image, params):
        if channels(image.shape) != 3:
            return image
        return clip01(tf.image.adjust_saturation(image, params["factor"]))

    def describe(self, params):
        if params.get("applies", 1.0) < 0.5:
            return "saturation: n/a for grayscale"
        return f"saturation x{params['factor']:.2f}"


@dataclass(frozen=True)
class Standardize(AugmentOp):
    """Per-image standardization: zero mean, unit variance (not clipped; must be the last op)."""

    NAME = "standardize"
    LABEL = "Per-image standardization"

    def apply(self, image, params):
        return tf.image.per_image_standardization(image)

    def describe(self, params):
        return "standardized (zero mean, unit variance)"


# ----------------------------------------------------------------------------- noise, erasing


@dataclass(frozen=True)
class GaussianNoise(AugmentOp):
    """Add zero-mean Gaussian noise of the given standard deviation to every pixel."""

    NAME = "gaussian_noise"
    LABEL = "Gaussian noise"
    PARAMS = {"stddev": (0.0, 0.5, 0.01)}
    stddev: float = 0.05

    def draw(self, seed, image_shape):
        # the noise itself is derived in apply() from this (2,) seed, so params stay small
        return {"stddev": tf.constant(self.stddev, tf.float32), "seed": sub_seed(seed, 0)}

    def apply(self, image, params):
        noise = tf.random.stateless_normal(tf.shape(image), params["seed"], dtype=tf.float32)
        return clip01(image + params["stddev"] * noise)

    def describe(self, params):
        return f"Gaussian noise sigma={params['stddev']:.3f}"


@dataclass(frozen=True)
class RandomErasing(AugmentOp):
    """With some probability, fill a min_area..max_area rectangle (aspect 1/3..3) with a value."""

    NAME = "random_erasing"
    LABEL = "Random erasing"
    PARAMS = {
        "probability": (0.0, 1.0, 0.05),
        "min_area": (0.01, 0.5, 0.01),
        "max_area": (0.01, 0.5, 0.01),
        "fill_value": (0.0, 1.0, 0.05),
    }
    probability: float = 0.5
    min_area: float = 0.02
    max_area: float = 0.2
    fill_value: float = 0.0

    def check(self):
        self._ordered("min_area", "max_area")

    def draw(self, seed, image_shape):
        area = uniform(seed, 1, self.min_area, self.max_area)
        aspect = tf.exp(uniform(seed, 2, -math.log(3.0), math.log(3.0)))
        height = tf.minimum(tf.sqrt(area * aspect), 1.0)
        width = tf.minimum(tf.sqrt(area / aspect), 1.0)
        return {
            "erase": coin(seed, 0, self.probability),
            "top": uniform(seed, 3, 0.0, 1.0) * (1.0 - height),
            "left": uniform(seed, 4, 0.0, 1.0) * (1.0 - width),
            "height": height,
            "width": width,
        }

    def apply(self, image, params):
        h, w = static_hw(image)
        rows = (tf.range(h, dtype=tf.float32) + 0.5) / h
        cols = (tf.range(w, dtype=tf.float32) + 0.5) / w
        in_rows = (rows >= params["top"]) & (rows < params["top"] + params["height"])
        in_cols = (cols >= params["left"]) & (cols < params["left"] + params["width"])
        mask = in_rows[:, None, None] & in_cols[None, :, None] & (params["erase"] > 0.5)
        return tf.where(mask, tf.constant(self.fill_value, tf.float32), image)

    def describe(self, params):
        if params["erase"] < 0.5:
            return "not erased"
        return (
            f"erased {params['height'] * params['width']:.0%} at top {params['top']:.2f}, "
            f"left {params['left']:.2f}"
        )


OPS: dict[str, type] = {
    op.NAME: op
    for op in (
        FlipLeftRight,
        FlipUpDown,
        Transpose,
        RandomFlipLeftRight,
        RandomFlipUpDown,
        Brightness,
        Contrast,
        Hue,
        Saturation,
        Standardize,
        RandomCrop,
        CropOrPad,
        Rotation,
        Zoom,
        Translation,
        GaussianNoise,
        RandomErasing,
    )
}
