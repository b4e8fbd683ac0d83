"""Built-in image datasets (no download) and the registry that names every dataset a run can use.

Images are float32 arrays (n, height, width, channels) scaled to [0, 1]; labels are int64 (n,).

Names: a built-in name (`digits`, `shapes`), `keras:mnist`, `keras:fashion_mnist`,
`keras:cifar10`, or a path inside the data root (core.paths.data_root()):
`folder:<path>[@<size>[x<channels>]]`, `npz:<path>[#<xkey>,<ykey>]`, `tfrecord:<path or glob>`.
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from core.data.folder import ImportReport


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
    report: ImportReport | None = None  # what a folder import imported and skipped

    def split_sizes(self) -> dict[str, int]:
        return {"train": len(self.y_train), "validation": len(self.y_val), "test": len(self.y_test)}


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


class DatasetError(ValueError):
    """A dataset that cannot be found or read; the message is meant for the user."""


NAME_FORMATS = (
    "folder:<path>[@<size>[x<channels>]]",
    "npz:<path>[#<xkey>,<ykey>]",
    "tfrecord:<path or glob>",
    "keras:mnist|fashion_mnist|cifar10",
)
SPLIT_SEED = 0
SPLIT_FRACTIONS = (0.7, 0.15)  # train, validation; the rest is the test split


def list_datasets() -> list[DatasetInfo]:
    """All datasets a run can name without a path: built-in first, then the Keras downloads."""
    from core.data.keras_cache import KERAS_DATASETS, keras_info
    from core.seismic.sources import list_waveform_datasets

    return [
        *BUILTIN.values(),
        *list_waveform_datasets(),
        *(keras_info(key) for key in KERAS_DATASETS),
    ]


def dataset_info(name: str) -> DatasetInfo:
    """Shape, classes and description of a dataset by name, reading as little data as possible."""
    if name in BUILTIN:
        return BUILTIN[name]
    from core.seismic.sources import is_waveform_name, waveform_dataset_info

    if is_waveform_name(name):
        return waveform_dataset_info(name)
    if name.startswith("mix:"):  # several waveform datasets trained together
        parts = [p.strip() for p in name[4:].split("+") if p.strip()]
        infos = [dataset_info(p) for p in parts]
        if not infos or any(i.kind != "waveform" for i in infos):
            raise DatasetError(f"{name!r}: mix: joins waveform datasets with '+'")
        described = " + ".join(parts)
        return dataclasses.replace(infos[0], name=name, description=f"Mixed: {described}")
    source, spec = _split_name(name)
    if source == "keras":
        from core.data.keras_cache import keras_info

        return keras_info(spec)
    if source == "folder":
        from core.data.folder import folder_info

        return folder_info(spec, name)
    if source == "npz":
        from core.data.npz import npz_info

        return npz_info(spec, name)
    from core.data.tfrecord import tfrecord_info

    return tfrecord_info(spec, name)


@functools.lru_cache(maxsize=4)
def load_dataset(name: str):
    """Load a dataset by name: an ImageDataset, or a WaveformDataset for waveform names
    (cached per process; arrays must not be modified)."""
    if name in BUILTIN:
        info = BUILTIN[name]
        return _load_digits(info) if name == "digits" else _make_shapes(info)
    from core.seismic.sources import is_waveform_name, load_waveform_dataset

    if is_waveform_name(name):
        return load_waveform_dataset(name)
    source, spec = _split_name(name)
    if source == "keras":
        from core.data.keras_cache import load_keras

        return load_keras(spec)
    if source == "folder":
        from core.data.folder import load_folder

        return load_folder(spec, name)
    if source == "npz":
        from core.data.npz import load_npz

        return load_npz(spec, name)
    from core.data.tfrecord import read_tfrecords

    return read_tfrecords(spec, name)


def _split_name(name: str) -> tuple[str, str]:
    source, sep, spec = name.partition(":")
    if not sep or source not in ("folder", "npz", "tfrecord", "keras"):
        known = ", ".join([*BUILTIN, *NAME_FORMATS])
        raise DatasetError(f"unknown dataset {name!r}; choose one of: {known}")
    if not spec.strip():
        raise DatasetError(f"{name!r}: give a path or name after '{source}:'")
    return source, spec.strip()


def split_dataset(
    info: DatasetInfo,
    x: np.ndarray,
    y: np.ndarray,
    seed: int = SPLIT_SEED,
    report: ImportReport | None = None,
) -> ImageDataset:
    """Shuffle with `seed` and cut 70/15/15 into train/validation/test.

    x: (n, h, w, c) uint8 0-255 or float in [0, 1]; each split comes back float32 in [0, 1].
    """
    n = len(y)
    if n < 3:
        raise DatasetError(f"{info.name}: {n} image(s) is too few; need at least 3 to split")
    n_val = max(1, round(n * SPLIT_FRACTIONS[1]))
    n_test = max(1, n - round(n * SPLIT_FRACTIONS[0]) - n_val)
    n_train = n - n_val - n_test
    order = np.random.default_rng(seed).permutation(n)
    parts = np.split(order, [n_train, n_train + n_val])
    arrays = []
    for idx in parts:
        arrays += [to_float_images(x[idx]), np.asarray(y[idx], dtype=np.int64)]
    return ImageDataset(info, *arrays, report=report)


def to_float_images(x: np.ndarray) -> np.ndarray:
    """uint8 0-255 or float [0, 1] images -> float32 [0, 1] (no copy if already float32)."""
    if x.dtype == np.uint8:
        return x.astype(np.float32) / np.float32(255)
    return np.asarray(x, dtype=np.float32)


def _load_digits(info: DatasetInfo) -> ImageDataset:
    from PIL import Image
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
