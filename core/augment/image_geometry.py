"""Image augmentation ops that move pixels: crops, crop-or-pad, rotation, zoom, translation."""

from __future__ import annotations

import math
from dataclasses import dataclass

import tensorflow as tf

from core.augment.image_op_base import AugmentOp, clip01, static_hw, uniform

FILL_MODES = ("reflect", "constant", "wrap", "nearest")


@dataclass(frozen=True)
class RandomCrop(AugmentOp):
    """Crop a square-aspect window of min_area..max_area of the image, resize back to full size."""

    NAME = "random_crop"
    LABEL = "Random crop"
    PARAMS = {"min_area": (0.1, 1.0, 0.05), "max_area": (0.1, 1.0, 0.05)}
    min_area: float = 0.6
    max_area: float = 1.0

    def check(self):
        self._ordered("min_area", "max_area")

    def draw(self, seed, image_shape):
        area = uniform(seed, 0, self.min_area, self.max_area)
        side = tf.sqrt(area)
        top = uniform(seed, 1, 0.0, 1.0) * (1.0 - side)
        left = uniform(seed, 2, 0.0, 1.0) * (1.0 - side)
        return {"area": area, "top": top, "left": left}

    def apply(self, image, params):
        h, w = static_hw(image)
        side = tf.sqrt(params["area"])
        top, left = params["top"], params["left"]
        box = tf.reshape(tf.stack([top, left, top + side, left + side]), [1, 4])
        out = tf.image.crop_and_resize(image[None], box, tf.zeros([1], tf.int32), (h, w))
        return clip01(out[0])

    def describe(self, params):
        return (
            f"cropped {params['area']:.0%} of the area at top {params['top']:.2f}, "
            f"left {params['left']:.2f}"
        )


@dataclass(frozen=True)
class CropOrPad(AugmentOp):
    """Centre-crop (fraction < 1) or zero-pad (fraction > 1) to fraction x size, resize back."""

    NAME = "crop_or_pad"
    LABEL = "Resize with crop or pad"
    PARAMS = {"fraction": (0.5, 1.5, 0.05)}
    fraction: float = 0.8

    def apply(self, image, params):
        h, w = static_hw(image)
        th, tw = max(1, round(h * self.fraction)), max(1, round(w * self.fraction))
        out = tf.image.resize_with_crop_or_pad(image, th, tw)
        return clip01(tf.image.resize(out, (h, w)))

    def describe(self, params):
        if self.fraction == 1:
            return "not cropped or padded"
        verb = "centre-cropped" if self.fraction < 1 else "padded"
        return f"{verb} to {self.fraction:.0%} and resized back"


def project(image, transform, fill_mode: str, fill_value: float) -> tf.Tensor:
    """Apply a projective transform [a0, a1, a2, b0, b1, b2, 0, 0] (output -> input coords)."""
    h, w = static_hw(image)
    out = tf.raw_ops.ImageProjectiveTransformV3(
        images=image[None],
        transforms=tf.reshape(tf.cast(transform, tf.float32), [1, 8]),
        output_shape=tf.constant([h, w], tf.int32),
        fill_value=tf.constant(fill_value, tf.float32),
        interpolation="BILINEAR",
        fill_mode=fill_mode.upper(),
    )
    return clip01(out[0])


def _about_centre(image, a: tf.Tensor, b: tf.Tensor, c: tf.Tensor, d: tf.Tensor):
    """Transform sampling input = centre + [[a, b], [c, d]] @ (output - centre)."""
    h, w = static_hw(image)
    cx, cy = (w - 1) / 2.0, (h - 1) / 2.0
    zero = tf.zeros([], tf.float32)
    return tf.stack([a, b, cx - a * cx - b * cy, c, d, cy - c * cx - d * cy, zero, zero])


_FILL = {"fill_mode": FILL_MODES}


@dataclass(frozen=True)
class Rotation(AugmentOp):
    """Rotate about the centre by an angle in [-max_degrees, max_degrees] (positive = ccw)."""

    NAME = "rotation"
    LABEL = "Rotation"
    PARAMS = {"max_degrees": (0.0, 180.0, 1.0), "fill_value": (0.0, 1.0, 0.05)}
    CHOICES = _FILL
    max_degrees: float = 15.0
    fill_mode: str = "reflect"
    fill_value: float = 0.0

    def draw(self, seed, image_shape):
        return {"degrees": uniform(seed, 0, -self.max_degrees, self.max_degrees)}

    def apply(self, image, params):
        theta = params["degrees"] * (math.pi / 180.0)
        cos, sin = tf.cos(theta), tf.sin(theta)
        transform = _about_centre(image, cos, -sin, sin, cos)
        return project(image, transform, self.fill_mode, self.fill_value)

    def describe(self, params):
        return f"rotated {params['degrees']:+.1f} deg"


@dataclass(frozen=True)
class Zoom(AugmentOp):
    """Scale about the centre by a factor in [lower, upper] (> 1 zooms in)."""

    NAME = "zoom"
    LABEL = "Zoom"
    PARAMS = {
        "lower": (0.5, 2.0, 0.05),
        "upper": (0.5, 2.0, 0.05),
        "fill_value": (0.0, 1.0, 0.05),
    }
    CHOICES = _FILL
    lower: float = 0.9
    upper: float = 1.2
    fill_mode: str = "reflect"
    fill_value: float = 0.0

    def check(self):
        self._ordered("lower", "upper")

    def draw(self, seed, image_shape):
        return {"factor": uniform(seed, 0, self.lower, self.upper)}

    def apply(self, image, params):
        inv = 1.0 / params["factor"]
        zero = tf.zeros([], tf.float32)
        transform = _about_centre(image, inv, zero, zero, inv)
        return project(image, transform, self.fill_mode, self.fill_value)

    def describe(self, params):
        return f"zoomed x{params['factor']:.2f}"


@dataclass(frozen=True)
class Translation(AugmentOp):
    """Shift by up to max_fraction of the width (x) and height (y); positive = right / down."""

    NAME = "translation"
    LABEL = "Translation"
    PARAMS = {"max_fraction": (0.0, 0.5, 0.01), "fill_value": (0.0, 1.0, 0.05)}
    CHOICES = _FILL
    max_fraction: float = 0.1
    fill_mode: str = "reflect"
    fill_value: float = 0.0

    def draw(self, seed, image_shape):
        m = self.max_fraction
        return {"dx": uniform(seed, 0, -m, m), "dy": uniform(seed, 1, -m, m)}

    def apply(self, image, params):
        h, w = static_hw(image)
        one, zero = tf.ones([], tf.float32), tf.zeros([], tf.float32)
        tx, ty = params["dx"] * w, params["dy"] * h
        transform = tf.stack([one, zero, -tx, zero, one, -ty, zero, zero])
        return project(image, transform, self.fill_mode, self.fill_value)

    def describe(self, params):
        return f"shifted x {params['dx']:+.2f}, y {params['dy']:+.2f} (fraction of size)"
