"""Image augmentation operations: small dataclasses that draw random parameters, then apply them.

Every op works on one image, (h, w, c) float32 in [0, 1], with c = 1 (grayscale) or 3 (RGB):

    params = op.draw(seed, image.shape)   # dict of tensors, stateless: same seed -> same params
    image = op.apply(image, params)       # deterministic; same shape and dtype, clipped to [0, 1]
    op.describe({k: float(v) ...})        # "brightness +0.17"

Only TensorFlow ops are used, so each op runs eagerly (preview) and inside `tf.data.Dataset.map`
(graph mode). Per-image standardization is the one op that does not clip to [0, 1].
The pipeline, seeds, preview and tf.data glue live in core.augment.pipeline.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from dataclasses import dataclass
from typing import ClassVar

import tensorflow as tf

FILL_MODES = ("reflect", "constant", "wrap", "nearest")


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


class AugmentOp:
    """Base of all ops. Subclasses are frozen dataclasses whose fields are the op's settings.

    NAME is the registry/spec key, LABEL a human name, PARAMS maps each numeric field to its
    slider range (min, max, step), CHOICES maps each string field to its allowed values.
    """

    NAME: ClassVar[str] = ""
    LABEL: ClassVar[str] = ""
    PARAMS: ClassVar[dict[str, tuple[float, float, float]]] = {}
    CHOICES: ClassVar[dict[str, tuple[str, ...]]] = {}

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

    def settings(self) -> dict:
        """Field values as plain Python (JSON-serialisable)."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}

    def __str__(self) -> str:
        args = ", ".join(f"{k}={_num(v)}" for k, v in self.settings().items())
        return f"{type(self).__name__}({args})"


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


# ----------------------------------------------------------------------------- geometry


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
