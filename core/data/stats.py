"""Statistics of an image split for the Data page, computed on a bounded random sample.

Images are float32 (n, h, w, c) in [0, 1]; labels int64 (n,). Nothing here loads more than
`max_images` images into new arrays, so a 100k-image split stays fast.
"""

from __future__ import annotations

import numpy as np

STATS_SAMPLE = 5000


def class_counts(labels: np.ndarray, num_classes: int) -> np.ndarray:
    """(num_classes,) int64: examples per class over the whole split (cheap: labels only)."""
    return np.bincount(labels.astype(np.int64), minlength=num_classes)[:num_classes]


def sample_indices(
    labels: np.ndarray, count: int, seed: int = 0, classes: list[int] | None = None
) -> np.ndarray:
    """Up to `count` sorted indices drawn without replacement, optionally only from `classes`."""
    pool = np.arange(len(labels)) if not classes else np.flatnonzero(np.isin(labels, classes))
    if len(pool) <= count:
        return pool
    return np.sort(np.random.default_rng(seed).choice(pool, size=count, replace=False))


def pixel_statistics(images: np.ndarray, max_images: int = STATS_SAMPLE, seed: int = 0) -> dict:
    """Shape, dtype and per-channel min/max/mean/std over a random sample of the images."""
    idx = sample_indices(np.zeros(len(images), np.int64), max_images, seed)
    sample = np.asarray(images[idx], dtype=np.float64)
    axes = (0, 1, 2)
    return {
        "images": int(len(images)),
        "sampled": int(len(idx)),
        "height": int(images.shape[1]),
        "width": int(images.shape[2]),
        "channels": int(images.shape[3]),
        "dtype": str(images.dtype),
        "min": sample.min(axis=axes).tolist() if len(idx) else [],
        "max": sample.max(axis=axes).tolist() if len(idx) else [],
        "mean": sample.mean(axis=axes).tolist() if len(idx) else [],
        "std": sample.std(axis=axes).tolist() if len(idx) else [],
    }


def mean_images(
    images: np.ndarray, labels: np.ndarray, num_classes: int, per_class: int = 500, seed: int = 0
) -> np.ndarray:
    """(num_classes, h, w, c) float32: mean image of each class over up to per_class samples."""
    out = np.zeros((num_classes, *images.shape[1:]), np.float32)
    for c in range(num_classes):
        idx = sample_indices(labels, per_class, seed, classes=[c])
        if len(idx):
            out[c] = images[idx].mean(axis=0)
    return out
