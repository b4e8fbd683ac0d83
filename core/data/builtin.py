"""Built-in image datasets, no download: `digits` (scikit-learn's 8x8 digits at 16x16) and
`shapes` (generated colour shapes, 32x32 RGB). Arrays as in core.data.types."""

from __future__ import annotations

import numpy as np
from PIL import Image

from core.data.types import DatasetInfo, ImageDataset

SHAPE_CLASSES = ("circle", "square", "triangle", "cross")

BUILTIN: dict[str, DatasetInfo] = {
    "digits": DatasetInfo(
        name="digits",
        kind="image",
        description="Handwritten digits 0-9 (scikit-learn's bundled 8x8 set, shown at 16x16), "
        "1,797 images; first half for training and validation, second half for testing.",
        input_shape=(16, 16, 1),
        class_names=tuple(str(d) for d in range(10)),
    ),
    "shapes": DatasetInfo(
        name="shapes",
        kind="image",
        description="Generated colour shapes (circle, square, triangle, cross) on tinted "
        "backgrounds, 32x32 RGB, 3,000 images; colours vary so hue and saturation matter.",
        input_shape=(32, 32, 3),
        class_names=SHAPE_CLASSES,
    ),
}


def load_builtin(name: str) -> ImageDataset:
    """`digits` or `shapes` -> its fixed split (KeyError for other names)."""
    info = BUILTIN[name]
    return _load_digits(info) if name == "digits" else _make_shapes(info)


def _load_digits(info: DatasetInfo) -> ImageDataset:
    from sklearn.datasets import load_digits

    bunch = load_digits()
    images = bunch.images.astype(np.float32) / 16.0  # (1797, 8, 8) in [0, 1]
    size = info.input_shape[:2]
    big = np.stack(
        [np.asarray(Image.fromarray(im).resize(size[::-1], Image.BILINEAR)) for im in images]
    )
    x = np.clip(big, 0.0, 1.0)[..., None].astype(np.float32)
    y = bunch.target.astype(np.int64)
    half = len(y) // 2  # scikit-learn's digits example: first half train, second half test
    n_val = half // 5
    return ImageDataset(
        info,
        x[: half - n_val],
        y[: half - n_val],
        x[half - n_val : half],
        y[half - n_val : half],
        x[half:],
        y[half:],
    )


def _make_shapes(info: DatasetInfo, n: int = 3000, seed: int = 7) -> ImageDataset:
    rng = np.random.default_rng(seed)
    h, w, _ = info.input_shape
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    x = np.empty((n, h, w, 3), np.float32)
    y = rng.integers(0, len(SHAPE_CLASSES), size=n)
    for i in range(n):
        cy, cx = rng.uniform(10, h - 10), rng.uniform(10, w - 10)
        r = rng.uniform(5, 9)
        mask = _shape_mask(SHAPE_CLASSES[y[i]], yy - cy, xx - cx, r)
        background = rng.uniform(0.0, 0.5, size=3)
        colour = _random_colour(rng)
        img = np.broadcast_to(background, (h, w, 3)).copy()
        img[mask] = colour
        img += rng.normal(0, 0.03, size=img.shape)
        x[i] = np.clip(img, 0, 1)
    n_train, n_val = int(n * 0.7), int(n * 0.15)
    y = y.astype(np.int64)
    return ImageDataset(
        info,
        x[:n_train],
        y[:n_train],
        x[n_train : n_train + n_val],
        y[n_train : n_train + n_val],
        x[n_train + n_val :],
        y[n_train + n_val :],
    )


def _shape_mask(kind: str, dy: np.ndarray, dx: np.ndarray, r: float) -> np.ndarray:
    if kind == "circle":
        return dy**2 + dx**2 <= r**2
    if kind == "square":
        return (np.abs(dy) <= r * 0.85) & (np.abs(dx) <= r * 0.85)
    if kind == "triangle":
        return (dy <= r * 0.8) & (dy >= -r) & (np.abs(dx) <= (dy + r) * 0.6)
    thick = r * 0.3
    return ((np.abs(dy) <= thick) & (np.abs(dx) <= r)) | ((np.abs(dx) <= thick) & (np.abs(dy) <= r))


def _random_colour(rng: np.random.Generator) -> np.ndarray:
    """A saturated colour of random hue (HSV with s, v in [0.6, 1]) as RGB in [0, 1]."""
    hue, sat, val = rng.uniform(0, 1), rng.uniform(0.6, 1.0), rng.uniform(0.6, 1.0)
    k = (np.array([5.0, 3.0, 1.0]) + hue * 6) % 6
    return val - val * sat * np.clip(np.minimum(k, 4 - k), 0, 1)
