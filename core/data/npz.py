"""Image arrays from a NumPy .npz file (`npz:<path>[#<xkey>,<ykey>]`), checked before use.

x: (n, h, w) or (n, h, w, c), uint8/int 0-255 or float in [0, 1] (or 0-255); y: (n,) or (n, 1)
integer class ids. An optional `class_names` string array names the classes.
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import numpy as np

from core.data.root import resolve_in_data_root
from core.data.types import DatasetError, DatasetInfo, ImageDataset, split_dataset
from core.data.zip_limits import ZipLimitError, check_zip

DEFAULT_KEYS = ("x", "y")
MAX_CHANNELS = 4
MAX_NPZ_MEMBERS = 16
MAX_NPZ_BYTES = 8 * 2**30  # uncompressed


def parse_npz_spec(spec: str) -> tuple[str, str, str]:
    """`<path>[#<xkey>,<ykey>]` -> (path text, x key, y key)."""
    match = re.fullmatch(r"(?P<path>.*?)(?:#(?P<x>[^,#]+),(?P<y>[^,#]+))?", spec.strip())
    if not match["path"]:
        raise DatasetError(f"{spec!r}: give the path of an .npz file")
    if match["x"]:
        return match["path"], match["x"].strip(), match["y"].strip()
    return match["path"], *DEFAULT_KEYS


def check_images(x: np.ndarray, where: str) -> np.ndarray:
    """Validate image data -> (n, h, w, c) uint8 0-255 or float32 in [0, 1]."""
    if x.dtype.kind not in "uif":
        raise DatasetError(f"{where}: images must be numbers, not {x.dtype}")
    if x.ndim == 3:
        x = x[..., None]
    if x.ndim != 4:
        raise DatasetError(
            f"{where}: images must have shape (n, height, width) or (n, height, width, "
            f"channels); got {x.shape}"
        )
    if x.size == 0:
        raise DatasetError(f"{where}: the image array is empty {x.shape}")
    if x.shape[-1] > MAX_CHANNELS:
        raise DatasetError(
            f"{where}: {x.shape[-1]} channels; expected channels last, at most {MAX_CHANNELS} "
            f"(shape {x.shape}; transpose channels-first data)"
        )
    if x.dtype == np.uint8:
        return x
    if x.dtype.kind == "f" and not np.isfinite(x).all():
        bad = int(np.size(x) - np.isfinite(x).sum())
        raise DatasetError(f"{where}: {bad:,} pixel values are NaN or infinite")
    low, high = float(x.min()), float(x.max())
    if low < 0 or high > 255:
        raise DatasetError(
            f"{where}: pixel values {low:g}..{high:g} are outside [0, 1] and [0, 255]"
        )
    if x.dtype.kind in "ui" or high > 1:
        return np.asarray(x, np.float32) / np.float32(255)  # 0-255 values
    return np.asarray(x, np.float32)


def check_labels(y: np.ndarray, n: int, where: str) -> np.ndarray:
    """Validate class ids for n images -> (n,) int64, all >= 0."""
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1:
        raise DatasetError(f"{where}: labels must have shape (n,) or (n, 1); got {y.shape}")
    if len(y) != n:
        raise DatasetError(f"{where}: {n:,} images but {len(y):,} labels; they must match")
    if y.size == 0:
        raise DatasetError(f"{where}: the label array is empty")
    if y.dtype.kind == "f":
        if not np.isfinite(y).all() or (y != np.round(y)).any():
            raise DatasetError(f"{where}: labels must be whole class ids (NaN or fractions found)")
    elif y.dtype.kind not in "ui":
        raise DatasetError(f"{where}: labels must be integer class ids, not {y.dtype}")
    if y.min() < 0:
        raise DatasetError(f"{where}: labels must be class ids >= 0 (found {y.min()})")
    return y.astype(np.int64)


def load_npz(spec: str, name: str) -> ImageDataset:
    """Dataset for the name `npz:<spec>`, split 70/15/15 with seed 0."""
    path, xkey, ykey = parse_npz_spec(spec)
    file = resolve_in_data_root(path)
    with _open_npz(file) as data:
        where = file.name
        x = check_images(_member(data, xkey, where), f"{where}[{xkey}]")
        y = check_labels(_member(data, ykey, where), len(x), f"{where}[{ykey}]")
        names = _class_names(data, int(y.max()) + 1, where)
    info = _info(name, file, x.shape[1:], names, len(y))
    return split_dataset(info, x, y)


def npz_info(spec: str, name: str) -> DatasetInfo:
    """DatasetInfo of `npz:<spec>` reading the image header and the labels only."""
    path, xkey, ykey = parse_npz_spec(spec)
    file = resolve_in_data_root(path)
    with _open_npz(file) as data:
        where = file.name
        shape = _member_shape(data, xkey, where)
        if len(shape) not in (3, 4) or 0 in shape:
            raise DatasetError(f"{where}[{xkey}]: expected (n, h, w[, c]) images; got {shape}")
        y = check_labels(_member(data, ykey, where), shape[0], f"{where}[{ykey}]")
        names = _class_names(data, int(y.max()) + 1, where)
    image_shape = (*shape[1:], 1) if len(shape) == 3 else shape[1:]
    return _info(name, file, image_shape, names, len(y))


def _info(name: str, file: Path, shape, names, n: int) -> DatasetInfo:
    return DatasetInfo(
        name=name,
        kind="image",
        description=f"NumPy file {file.name}: {n:,} images of {shape[0]}x{shape[1]}x{shape[2]} "
        f"in {len(names)} classes; shuffled 70/15/15 split (seed 0).",
        input_shape=tuple(int(d) for d in shape),
        class_names=names,
    )


def _open_npz(file: Path):
    if file.is_dir():
        raise DatasetError(f"{file} is a folder, not an .npz file")
    with open(file, "rb") as f:
        magic = f.read(6)
    if magic.startswith(b"\x93NUMPY"):
        raise DatasetError(f"{file.name} holds a single array (.npy); save x and y with np.savez")
    if not magic.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        kind = "it is empty" if not magic else "it is not a zip archive"
        raise DatasetError(f"{file.name} is not an .npz file ({kind})")
    try:
        check_zip(file, MAX_NPZ_MEMBERS, MAX_NPZ_BYTES)
    except ZipLimitError as err:
        raise DatasetError(str(err)) from None
    try:
        return np.load(file, allow_pickle=False)
    except Exception as err:  # noqa: BLE001 - np.load raises many types for broken files
        raise DatasetError(f"{file.name} is not a readable .npz file ({_reason(err)})") from None


def _member(data, key: str, where: str) -> np.ndarray:
    if key not in data.files:
        held = ", ".join(data.files) or "no arrays"
        raise DatasetError(f"{where} has no array {key!r}; it holds: {held}")
    try:
        return data[key]
    except Exception as err:  # noqa: BLE001 - corrupt members, pickled objects
        raise DatasetError(f"{where}[{key}] cannot be read ({_reason(err)})") from None


def _member_shape(data, key: str, where: str) -> tuple[int, ...]:
    """Shape of one array from its .npy header, without reading the data."""
    if key not in data.files:
        _member(data, key, where)  # raises the missing-key error
    try:
        with data.zip.open(f"{key}.npy") as f:
            version = np.lib.format.read_magic(f)
            if version == (1, 0):
                return np.lib.format.read_array_header_1_0(f)[0]
            if version == (2, 0):
                return np.lib.format.read_array_header_2_0(f)[0]
    except (zipfile.BadZipFile, ValueError, OSError) as err:
        raise DatasetError(f"{where}[{key}] cannot be read ({_reason(err)})") from None
    return _member(data, key, where).shape


def _class_names(data, n_classes: int, where: str) -> tuple[str, ...]:
    if "class_names" not in data.files:
        return tuple(str(i) for i in range(n_classes))
    names = _member(data, "class_names", where)
    if names.ndim != 1 or names.dtype.kind not in "US" or len(names) < n_classes:
        raise DatasetError(
            f"{where}[class_names] must be {n_classes} or more strings; got {names.dtype} "
            f"{names.shape}"
        )
    return tuple(str(s) for s in names.astype(str))


def _reason(err: Exception) -> str:
    text = str(err).split("\n")[0]
    if "pickle" in text.lower():
        return "it stores Python objects; only plain numeric arrays are read"
    return f"{type(err).__name__}: {text}" if text else type(err).__name__
