"""TFRecord export and import: round trip, sharding, metadata, tf.data reading, bad input."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from core.data import tfrecord as tfrecords
from core.data.registry import dataset_info, load_dataset
from core.data.tfrecord import export_tfrecords, tfrecord_dataset
from core.data.types import DatasetError, DatasetInfo, ImageDataset

QUANT = 1 / 255 + 1e-6


@pytest.fixture(scope="module")
def digits() -> ImageDataset:
    return load_dataset("digits")


def small_rgb(n: int = 10, seed: int = 0) -> ImageDataset:
    """n random float RGB images of 6x5 in 3 classes (not multiples of 1/255)."""
    rng = np.random.default_rng(seed)
    x = rng.random((n, 6, 5, 3)).astype(np.float32)
    y = (np.arange(n) % 3).astype(np.int64)
    info = DatasetInfo("rand", "image", "random", (6, 5, 3), ("r", "g", "b"))
    return ImageDataset(info, x, y, x[:3], y[:3], x[3:5], y[3:5])


def test_digits_round_trip_keeps_splits_pixels_and_classes(root, digits):
    written = export_tfrecords(digits, "exports/digits", shards=3)
    folder = root / "exports" / "digits"
    for split in ("train", "validation", "test"):
        names = sorted(p.name for p in folder.glob(f"{split}-*.tfrecord"))
        assert names == [f"{split}-{i:05d}-of-00003.tfrecord" for i in range(3)]
        assert [p.name for p in written[split]] == names
    meta = json.loads((folder / "metadata.json").read_text())
    assert meta["class_names"] == list(digits.info.class_names)
    assert meta["splits"]["test"]["count"] == len(digits.y_test)

    back = load_dataset("tfrecord:exports/digits")
    assert back.info.class_names == digits.info.class_names
    assert back.info.input_shape == (16, 16, 1)
    for xa, ya in (("x_train", "y_train"), ("x_val", "y_val"), ("x_test", "y_test")):
        got, want = getattr(back, xa), getattr(digits, xa)
        assert got.dtype == np.float32 and got.shape == want.shape
        np.testing.assert_allclose(got, want, atol=QUANT)
        np.testing.assert_array_equal(getattr(back, ya), getattr(digits, ya))
        assert getattr(back, ya).dtype == np.int64


def test_tf_data_reader_streams_float_images_and_labels(root, digits):
    export_tfrecords(digits, "exp", shards=2, splits=("train",))
    ds = tfrecord_dataset("exp/train-*.tfrecord")
    image_spec, label_spec = ds.element_spec
    assert tuple(image_spec.shape) == (16, 16, 1) and image_spec.dtype.name == "float32"
    assert label_spec.dtype.name == "int64"
    images, labels = next(iter(ds.batch(len(digits.y_train))))
    np.testing.assert_allclose(images.numpy(), digits.x_train, atol=QUANT)
    np.testing.assert_array_equal(labels.numpy(), digits.y_train)
    assert not (root / "exp" / "test-00000-of-00002.tfrecord").exists()
    assert ds.cardinality().numpy() in (-2, len(digits.y_train))  # -2: unknown before reading


def test_tf_data_reader_picks_one_split_of_an_export(root):
    data = small_rgb()
    export_tfrecords(data, "sp", shards=2)
    images, labels = next(iter(tfrecord_dataset("sp", split="validation").batch(100)))
    np.testing.assert_allclose(images.numpy(), data.x_val, atol=QUANT)
    np.testing.assert_array_equal(labels.numpy(), data.y_val)
    with pytest.raises(DatasetError, match="'training' split"):
        tfrecord_dataset("sp", split="training")


def test_float_rgb_round_trip_is_within_one_quantisation_step(root):
    data = small_rgb()
    export_tfrecords(data, "rgb", shards=2)
    back = load_dataset("tfrecord:rgb")
    np.testing.assert_allclose(back.x_train, data.x_train, atol=QUANT)
    assert np.abs(back.x_train - data.x_train).max() > 0  # really stored as uint8
    assert back.info.class_names == ("r", "g", "b")


def test_shards_never_outnumber_examples_and_reexport_removes_stale_shards(root):
    data = small_rgb()
    export_tfrecords(data, "out", shards=8)
    assert len(list((root / "out").glob("validation-*.tfrecord"))) == 3  # 3 examples
    assert len(list((root / "out").glob("train-*.tfrecord"))) == 8
    export_tfrecords(data, "out", shards=2)
    assert sorted(p.name for p in (root / "out").glob("train-*")) == [
        "train-00000-of-00002.tfrecord",
        "train-00001-of-00002.tfrecord",
    ]
    assert load_dataset("tfrecord:out").split_sizes() == {"train": 10, "validation": 3, "test": 2}


def test_a_glob_of_some_shards_is_pooled_and_split_with_a_seed(root, digits):
    export_tfrecords(digits, "d", shards=4)
    ds = load_dataset("tfrecord:d/test-*.tfrecord")
    sizes = ds.split_sizes()
    assert sum(sizes.values()) == len(digits.y_test)
    assert sizes["train"] == round(len(digits.y_test) * 0.7)
    assert ds.info.class_names == digits.info.class_names  # metadata beside the shards
    labels = np.concatenate([ds.y_train, ds.y_val, ds.y_test])
    np.testing.assert_array_equal(np.bincount(labels), np.bincount(digits.y_test))


def test_info_comes_from_metadata_without_reading_records(root, digits, monkeypatch):
    export_tfrecords(digits, "d", shards=1)
    monkeypatch.setattr(tfrecords, "read_records", lambda files: pytest.fail("records read"))
    info = dataset_info("tfrecord:d")
    assert info.input_shape == digits.info.input_shape
    assert info.class_names == digits.info.class_names


def test_records_without_metadata_get_numbered_classes(root):
    export_tfrecords(small_rgb(12), "plain", shards=1)
    (root / "plain" / "metadata.json").unlink()
    ds = load_dataset("tfrecord:plain")
    assert ds.info.class_names == ("0", "1", "2")
    assert sum(ds.split_sizes().values()) == 12 + 3 + 2
    assert dataset_info("tfrecord:plain").input_shape == (6, 5, 3)


def test_outside_paths_are_refused_for_export_and_import(root, tmp_path):
    with pytest.raises(DatasetError, match="outside the data root"):
        export_tfrecords(small_rgb(), tmp_path / "elsewhere")
    assert not (tmp_path / "elsewhere").exists()
    with pytest.raises(DatasetError, match="outside the data root"):
        export_tfrecords(small_rgb(), "../escape")
    export_tfrecords(small_rgb(), tmp_path / "data" / "in", shards=1)
    (tmp_path / "shards").mkdir()
    for f in (root / "in").glob("*.tfrecord"):
        (tmp_path / "shards" / f.name).write_bytes(f.read_bytes())
    (root / "link").symlink_to(tmp_path / "shards", target_is_directory=True)
    for name in ("tfrecord:../shards", "tfrecord:../shards/*.tfrecord", "tfrecord:link/*"):
        with pytest.raises(DatasetError, match="outside the data root"):
            load_dataset(name)
    meta = json.loads((root / "in" / "metadata.json").read_text())
    meta["splits"]["train"]["files"] = ["../../shards/train-00000-of-00001.tfrecord"]
    (root / "in" / "metadata.json").write_text(json.dumps(meta))
    with pytest.raises(DatasetError, match="outside the data root"):
        load_dataset("tfrecord:in")


def test_corrupt_missing_and_bad_arguments_fail_clearly(root):
    (root / "bad").mkdir()
    (root / "bad" / "x.tfrecord").write_bytes(b"not a tfrecord at all, just some bytes")
    with pytest.raises(DatasetError, match="cannot read TFRecords"):
        load_dataset("tfrecord:bad")
    with pytest.raises(DatasetError, match="no file matches"):
        load_dataset("tfrecord:nothing-*.tfrecord")
    (root / "empty").mkdir()
    with pytest.raises(DatasetError, match="holds no"):
        load_dataset("tfrecord:empty")
    with pytest.raises(DatasetError, match="shards must be at least 1"):
        export_tfrecords(small_rgb(), "x", shards=0)
    with pytest.raises(DatasetError, match="split names"):
        export_tfrecords(small_rgb(), "x", splits=("training",))
    export_tfrecords(small_rgb(), "meta", shards=1)
    (root / "meta" / "metadata.json").write_text(json.dumps({"format": tfrecords.FORMAT}))
    with pytest.raises(DatasetError, match="metadata.json is malformed"):
        load_dataset("tfrecord:meta")


def test_truncated_or_flipped_shards_are_errors_not_shorter_datasets(root):
    export_tfrecords(small_rgb(40), "cut", shards=1, splits=("train",))
    shard = root / "cut" / "train-00000-of-00001.tfrecord"
    data = shard.read_bytes()
    for damaged in (data[: len(data) // 2 + 7], data[:-2], data[:5]):
        shard.write_bytes(damaged)
        with pytest.raises(DatasetError, match="truncated"):
            load_dataset.__wrapped__("tfrecord:cut/train-*")
    shard.write_bytes(data[: len(data) // 2])  # 40 equal records: a cut between two records
    for name in ("tfrecord:cut", "tfrecord:cut/train-*"):  # is caught by the exported count
        with pytest.raises(DatasetError, match="hold 20 records, metadata.json says 40"):
            load_dataset.__wrapped__(name)
    flipped = bytearray(data)
    flipped[200] ^= 0x01
    shard.write_bytes(bytes(flipped))
    with pytest.raises(DatasetError, match="cannot read TFRecords"):
        load_dataset.__wrapped__("tfrecord:cut/train-*")


def test_reading_records_into_numpy_does_not_start_the_tf_runtime(root):
    """A dashboard process may read TFRecords; starting TF there would claim the GPU."""
    export_tfrecords(small_rgb(), "ok", shards=1)
    script = (
        "from core.data.registry import load_dataset\n"
        "from tensorflow.python.eager import context\n"
        "ds = load_dataset('tfrecord:ok')\n"
        "assert ds.split_sizes()['train'] == 10\n"
        "print('runtime started' if context.context()._context_handle else 'no runtime')\n"
    )
    env = {**os.environ, "TFLAB_DATA_ROOT": str(root), "TF_CPP_MIN_LOG_LEVEL": "3"}
    out = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == "no runtime"
