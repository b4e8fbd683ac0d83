"""What every data source returns: DatasetInfo, ImageDataset, DatasetError, and the one split.

Images are float32 arrays (n, height, width, channels) scaled to [0, 1]; labels are int64 (n,).
`split_indices` is the one 70/15/15 shuffle-and-cut that image and waveform sources share.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SPLIT_SEED = 0
SPLIT_FRACTIONS = (0.7, 0.15)  # train, validation; the rest is the test split
SPLIT_NAMES = ("train", "validation", "test")


@dataclass(frozen=True)
class DatasetInfo:
    """What a page or the CLI shows about a dataset without loading it."""

    name: str
    kind: str  # "image" or "waveform"
    description: str
    input_shape: tuple[int, ...]
    class_names: tuple[str, ...]

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "kind": self.kind,
            "description": self.description,
            "input_shape": list(self.input_shape),
            "num_classes": self.num_classes,
            "class_names": list(self.class_names),
        }


@dataclass
class ImageDataset:
    """Fixed train/validation/test split of one image dataset."""

    info: DatasetInfo
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    report: object | None = None  # ImportReport of a folder import (what was skipped)

    def split_sizes(self) -> dict[str, int]:
        return {"train": len(self.y_train), "validation": len(self.y_val), "test": len(self.y_test)}


class DatasetError(ValueError):
    """A dataset that cannot be found or read; the message is meant for the user."""


def split_indices(n: int, seed: int = SPLIT_SEED, what: str = "example") -> list[np.ndarray]:
    """[train, validation, test] index arrays: a seeded permutation of range(n) cut 70/15/15,
    at least one in each split (DatasetError below 3)."""
    if n < 3:
        raise DatasetError(f"{n} {what}(s) is too few; need at least 3 to split")
    n_val = max(1, round(n * SPLIT_FRACTIONS[1]))
    n_test = max(1, n - round(n * SPLIT_FRACTIONS[0]) - n_val)
    n_train = n - n_val - n_test
    order = np.random.default_rng(seed).permutation(n)
    return np.split(order, [n_train, n_train + n_val])


def split_dataset(
    info: DatasetInfo,
    x: np.ndarray,
    y: np.ndarray,
    seed: int = SPLIT_SEED,
    report: object | None = None,
) -> ImageDataset:
    """Shuffle with `seed` and cut 70/15/15 into train/validation/test.

    x: (n, h, w, c) uint8 0-255 or float in [0, 1]; each split comes back float32 in [0, 1].
    """
    try:
        parts = split_indices(len(y), seed, "image")
    except DatasetError as err:
        raise DatasetError(f"{info.name}: {err}") from None
    arrays = []
    for idx in parts:
        arrays += [to_float_images(x[idx]), np.asarray(y[idx], dtype=np.int64)]
    return ImageDataset(info, *arrays, report=report)


def to_float_images(x: np.ndarray) -> np.ndarray:
    """uint8 0-255 or float [0, 1] images -> float32 [0, 1] (no copy if already float32)."""
    if x.dtype == np.uint8:
        return x.astype(np.float32) / np.float32(255)
    return np.asarray(x, dtype=np.float32)
