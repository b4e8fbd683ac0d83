"""TFRecord export and import of image datasets (`tfrecord:<folder, file or glob of shards>`).

Each record is a tf.train.Example: image_raw (bytes, uint8 pixels in h, w, c order), label,
height, width, channels (int64). An export writes <split>-00000-of-0000N.tfrecord shards per split
and metadata.json (class names, shapes, the shard files of each split).
"""

from __future__ import annotations

import glob
import json
import os
import struct
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from google.protobuf.message import DecodeError

from core.data.root import glob_in_data_root, resolve_in_data_root
from core.data.types import DatasetError, DatasetInfo, ImageDataset, split_dataset, to_float_images

SPLITS = ("train", "validation", "test")
METADATA = "metadata.json"
FORMAT = "tflab-tfrecord-images"
SUFFIXES = (".tfrecord", ".tfrecords", ".tfrec")
_DIMS = ("height", "width", "channels")
_KEYS = ", ".join(("image_raw", "label", *_DIMS))
_ARRAYS = {
    "train": ("x_train", "y_train"),
    "validation": ("x_val", "y_val"),
    "test": ("x_test", "y_test"),
}


def export_tfrecords(
    dataset: ImageDataset,
    out_dir: str | os.PathLike,
    shards: int = 4,
    splits: Sequence[str] = SPLITS,
) -> dict[str, list[Path]]:
    """Write each split as up to `shards` TFRecord files plus metadata.json in out_dir.

    out_dir must lie inside the data root (relative paths start there). Pixels are stored as
    uint8 (float [0, 1] * 255, rounded). Returns {split: [shard paths]}.
    """
    import tensorflow as tf

    if shards < 1:
        raise DatasetError(f"shards must be at least 1, not {shards}")
    unknown = [s for s in splits if s not in _ARRAYS]
    if unknown or not splits:
        raise DatasetError(f"split names must be some of {', '.join(SPLITS)}; got {list(splits)}")
    out = resolve_in_data_root(out_dir, must_exist=False)
    out.mkdir(parents=True, exist_ok=True)
    written: dict[str, list[Path]] = {}
    for split in splits:
        x_name, y_name = _ARRAYS[split]
        x, y = getattr(dataset, x_name), getattr(dataset, y_name)
        for stale in out.glob(f"{split}-*-of-*.tfrecord"):
            stale.unlink()
        n_files = max(1, min(shards, len(y)))
        written[split] = []
        for index, part in enumerate(np.array_split(np.arange(len(y)), n_files)):
            path = out / f"{split}-{index:05d}-of-{n_files:05d}.tfrecord"
            with tf.io.TFRecordWriter(str(path)) as writer:
                for i in part:
                    writer.write(_example(x[i], int(y[i])))
            written[split].append(path)
    meta = {
        "format": FORMAT,
        "version": 1,
        "name": dataset.info.name,
        "description": dataset.info.description,
        "input_shape": list(dataset.info.input_shape),
        "class_names": list(dataset.info.class_names),
        "splits": {
            s: {"files": [p.name for p in ps], "count": len(getattr(dataset, _ARRAYS[s][1]))}
            for s, ps in written.items()
        },
    }
    (out / METADATA).write_text(json.dumps(meta, indent=2))
    return written


def _example(image: np.ndarray, label: int) -> bytes:
    import tensorflow as tf

    pixels = np.clip(np.round(np.asarray(image, np.float32) * 255), 0, 255).astype(np.uint8)
    h, w, c = pixels.shape

    def ints(v: int) -> tf.train.Feature:
        return tf.train.Feature(int64_list=tf.train.Int64List(value=[v]))

    feature = {
        "image_raw": tf.train.Feature(bytes_list=tf.train.BytesList(value=[pixels.tobytes()])),
        "label": ints(label),
        "height": ints(h),
        "width": ints(w),
        "channels": ints(c),
    }
    return tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString()


def _features():
    import tensorflow as tf

    spec = {"image_raw": tf.io.FixedLenFeature([], tf.string)}
    for key in ("label", "height", "width", "channels"):
        spec[key] = tf.io.FixedLenFeature([], tf.int64)
    return spec


def resolve_shards(pattern: str | os.PathLike) -> tuple[list[Path], dict | None]:
    """A folder, file or glob inside the data root -> (sorted shard files, export metadata)."""
    text = str(pattern)
    if not glob.has_magic(text):
        path = resolve_in_data_root(text)
        if path.is_dir():
            meta = _read_metadata(path)
            if meta is not None:
                files = [path / f for s in meta["splits"].values() for f in s["files"]]
                return [_inside(f, path) for f in files], meta
            files = sorted(p for p in path.iterdir() if p.suffix in SUFFIXES and p.is_file())
            if not files:
                raise DatasetError(f"{path} holds no {'/'.join(SUFFIXES)} files")
            return [_inside(f, path) for f in files], None
        return [path], _read_metadata(path.parent)
    _, files = glob_in_data_root(text)
    return files, _read_metadata(files[0].parent)


def _inside(file: Path, where: Path) -> Path:
    return resolve_in_data_root(file if file.is_absolute() else where / file)


def _read_metadata(folder: Path) -> dict | None:
    path = folder / METADATA
    if not path.is_file():
        return None
    try:
        meta = json.loads(path.read_text())
    except (OSError, ValueError) as err:
        raise DatasetError(f"{path} cannot be read ({err})") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        return None
    try:
        shape = [int(d) for d in meta["input_shape"]]
        names = [str(c) for c in meta["class_names"]]
        splits = {
            str(s): {"files": [str(f) for f in v["files"]], "count": int(v["count"])}
            for s, v in meta["splits"].items()
        }
        if len(shape) != 3 or min(shape) < 1:
            raise ValueError(f"input_shape {shape}")
    except (KeyError, TypeError, ValueError, AttributeError) as err:
        raise DatasetError(f"{path} is malformed ({type(err).__name__}: {err})") from None
    return {**meta, "input_shape": shape, "class_names": names, "splits": splits}


def tfrecord_dataset(
    pattern: str | os.PathLike,
    image_shape: Sequence[int] | None = None,
    split: str | None = None,
):
    """tf.data.Dataset of (image (h, w, c) float32 in [0, 1], label int64) from TFRecord files.

    pattern: a folder, file or glob inside the data root. split: with an exported folder, read
    only that split's shards. image_shape: (h, w, c) if known; otherwise taken from
    metadata.json or the first record. Starts the TF runtime: for training processes.
    """
    import tensorflow as tf

    files, meta = resolve_shards(pattern)
    if split is not None:
        if meta is None or split not in meta["splits"]:
            raise DatasetError(f"{pattern}: no export metadata with a {split!r} split")
        folder = files[0].parent
        files = [_inside(Path(f), folder) for f in meta["splits"][split]["files"]]
    if image_shape is None:
        image_shape = meta["input_shape"] if meta else _first_shape(files)
    shape = [int(d) for d in image_shape]
    features = _features()

    def parse(record):
        ex = tf.io.parse_single_example(record, features)
        image = tf.reshape(tf.io.decode_raw(ex["image_raw"], tf.uint8), shape)
        return tf.cast(image, tf.float32) / 255.0, ex["label"]

    records = tf.data.TFRecordDataset([str(f) for f in files])
    return records.map(parse, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)


def _first_shape(files: list[Path]) -> tuple[int, int, int]:
    for file in files:
        for _, _, shape in _examples(file):
            return shape
    raise DatasetError(f"{files[0].parent if files else 'the pattern'}: no records")


def read_records(files: list[Path]) -> tuple[np.ndarray, np.ndarray]:
    """All records of some TFRecord files -> ((n, h, w, c) uint8, (n,) int64).

    Reads with TensorFlow's record reader and protobuf only: no TF runtime (and no GPU) starts,
    so a dashboard process can call it.
    """
    raws, labels, first = [], [], None
    for file in files:
        for raw, label, shape in _examples(file):
            if first is None:
                first = shape
            elif shape != first:
                raise DatasetError(f"{file.name}: image shape {shape} differs from {first}")
            raws.append(raw)
            labels.append(label)
    if first is None:
        raise DatasetError(f"{', '.join(f.name for f in files[:3])}: no records")
    x = np.frombuffer(b"".join(raws), np.uint8).reshape(len(raws), *first)
    return x, np.asarray(labels, np.int64)


def _examples(file: Path):
    """Yield (pixel bytes, label, (h, w, c)) per record of one file, checked."""
    import tensorflow as tf

    _check_framing(file)
    try:
        for record in tf.compat.v1.io.tf_record_iterator(str(file)):  # checks CRCs
            feature = tf.train.Example.FromString(record).features.feature
            try:
                raw = feature["image_raw"].bytes_list.value[0]
                label = int(feature["label"].int64_list.value[0])
                shape = tuple(int(feature[k].int64_list.value[0]) for k in _DIMS)
            except IndexError:
                raise DatasetError(f"{file.name}: a record lacks one of {_KEYS}") from None
            if min(shape) < 1 or len(raw) != shape[0] * shape[1] * shape[2]:
                raise DatasetError(f"{file.name}: image_raw does not hold {shape} uint8 pixels")
            if label < 0:
                raise DatasetError(f"{file.name}: labels must be class ids >= 0 (found {label})")
            yield raw, label, shape
    except (tf.errors.OpError, DecodeError) as err:
        reason = str(getattr(err, "message", err)).split("\n")[0]
        raise DatasetError(f"cannot read TFRecords {file.name} ({reason})") from None


def _check_framing(file: Path) -> None:
    """Walk the record headers: a truncated file is an error, not a shorter dataset."""
    size, pos = file.stat().st_size, 0
    with open(file, "rb") as f:
        while pos < size:
            head = f.read(8)
            if len(head) < 8:
                break
            pos += 8 + 4 + struct.unpack("<Q", head)[0] + 4
            if pos > size:
                break
            f.seek(pos)
    if pos != size:
        raise DatasetError(f"cannot read TFRecords {file.name} (truncated or not a TFRecord file)")


def read_tfrecords(spec: str, name: str | None = None) -> ImageDataset:
    """ImageDataset from `tfrecord:<spec>`.

    A whole export keeps its train/validation/test splits (record counts checked against
    metadata.json); any other set of records is pooled and split 70/15/15 with seed 0.
    """
    files, meta = resolve_shards(spec)
    name = name or f"tfrecord:{spec}"
    folder = files[0].parent
    if meta is None or not _is_whole_export(files, meta):
        x, y = read_records(files)
        return split_dataset(_info(name, x.shape[1:], meta, int(y.max()) + 1), x, y)
    parts = {split: _read_split(folder, meta, split) for split in meta["splits"]}
    n_classes = max(int(y.max(initial=-1)) for _, y in parts.values()) + 1
    info = _info(name, meta["input_shape"], meta, n_classes)
    if set(parts) == set(SPLITS):
        arrays = [[to_float_images(parts[s][0]), parts[s][1]] for s in SPLITS]
        return ImageDataset(info, *(a for pair in arrays for a in pair))
    x = np.concatenate([x for x, _ in parts.values()])
    return split_dataset(info, x, np.concatenate([y for _, y in parts.values()]))


def _read_split(folder: Path, meta: dict, split: str) -> tuple[np.ndarray, np.ndarray]:
    """One split of an export as (uint8 images, labels), checked against metadata.json."""
    expected = int(meta["splits"][split]["count"])
    if expected == 0:
        return np.zeros((0, *meta["input_shape"]), np.uint8), np.zeros(0, np.int64)
    x, y = read_records([folder / f for f in meta["splits"][split]["files"]])
    if len(y) != expected:
        raise DatasetError(
            f"{folder.name}: the {split} shards hold {len(y):,} records, metadata.json says "
            f"{expected:,}; a shard is missing or truncated"
        )
    if list(x.shape[1:]) != list(meta["input_shape"]):
        raise DatasetError(f"{folder.name}: {split} images are {x.shape[1:]}, not as exported")
    return x, y


def tfrecord_info(spec: str, name: str) -> DatasetInfo:
    """DatasetInfo from metadata.json beside the records, else by reading them."""
    files, meta = resolve_shards(spec)
    if meta is None:
        return read_tfrecords(spec, name).info
    return _info(name, meta["input_shape"], meta, 0)


def _is_whole_export(files: list[Path], meta: dict) -> bool:
    listed = {f for s in meta["splits"].values() for f in s["files"]}
    return {f.name for f in files} == listed


def _info(name: str, shape, meta: dict | None, n_classes: int) -> DatasetInfo:
    names = list(meta["class_names"]) if meta else []
    if len(names) < n_classes:
        names += [str(i) for i in range(len(names), n_classes)]
    source = f" (exported from {meta['name']})" if meta else ""
    return DatasetInfo(
        name=name,
        kind="image",
        description=f"TFRecord images{source}, {shape[0]}x{shape[1]}x{shape[2]}, "
        f"{len(names)} classes.",
        input_shape=tuple(int(d) for d in shape),
        class_names=tuple(names),
    )
