"""Keras datasets from the local Keras cache: offline advice, cache layouts, no pickled code."""

from __future__ import annotations

import gzip
import os
import pickle
import time
from pathlib import Path

import numpy as np
import pytest

from core.data import keras_cache as keras_datasets
from core.data.registry import list_datasets, load_dataset
from core.data.types import DatasetError


@pytest.fixture
def keras_home(tmp_path, monkeypatch) -> Path:
    home = tmp_path / "keras-home"
    (home / "datasets").mkdir(parents=True)
    monkeypatch.setenv("KERAS_HOME", str(home))
    monkeypatch.delenv("TFLAB_OFFLINE", raising=False)
    load_dataset.cache_clear()
    yield home
    load_dataset.cache_clear()


def test_keras_dataset_offline_fails_fast_with_advice(keras_home, monkeypatch):
    probed = []
    monkeypatch.setattr(keras_datasets, "is_online", lambda host: probed.append(host) or False)
    start = time.monotonic()
    with pytest.raises(DatasetError, match="needs a download.*offline.*digits/shapes"):
        load_dataset("keras:mnist")
    assert time.monotonic() - start < 5
    assert probed == [("storage.googleapis.com", 443)]
    assert list((keras_home / "datasets").iterdir()) == []  # nothing half-downloaded

    monkeypatch.setenv("TFLAB_OFFLINE", "1")  # no probe at all when told so
    with pytest.raises(DatasetError, match="offline"):
        load_dataset("keras:cifar10")
    assert len(probed) == 1


def test_online_probe_gives_up_quickly_on_an_unreachable_host():
    start = time.monotonic()
    assert keras_datasets.is_online(("192.0.2.1", 9), timeout=0.5) is False  # TEST-NET-1
    assert time.monotonic() - start < 2


def test_keras_mnist_is_read_from_the_cache(keras_home):
    rng = np.random.default_rng(0)
    x_train = rng.integers(0, 256, (40, 28, 28), dtype=np.uint8)
    x_test = rng.integers(0, 256, (10, 28, 28), dtype=np.uint8)
    y_train, y_test = (np.arange(40) % 10).astype(np.uint8), (np.arange(10) % 10).astype(np.uint8)
    np.savez(
        keras_home / "datasets" / "mnist.npz",
        x_train=x_train,
        y_train=y_train,
        x_test=x_test,
        y_test=y_test,
    )
    infos = {info.name: info for info in list_datasets()}
    assert list(infos)[:2] == ["digits", "shapes"]
    assert "cached" in infos["keras:mnist"].description
    assert "needs a download" in infos["keras:fashion_mnist"].description

    ds = load_dataset("keras:mnist")
    assert ds.info.input_shape == (28, 28, 1) and ds.info.num_classes == 10
    np.testing.assert_array_equal(ds.x_test[..., 0], x_test / np.float32(255))
    np.testing.assert_array_equal(ds.y_test, y_test)
    assert ds.split_sizes() == {"train": 34, "validation": 6, "test": 10}
    seen = np.round(np.concatenate([ds.x_train, ds.x_val])[..., 0] * 255).astype(np.uint8)
    assert {im.tobytes() for im in seen} == {im.tobytes() for im in x_train}


def test_keras_fashion_mnist_and_cifar10_cache_layouts(keras_home):
    folder = keras_home / "datasets" / "fashion-mnist"
    folder.mkdir()
    labels, pixels = np.arange(6, dtype=np.uint8), np.full((6, 28, 28), 51, np.uint8)
    for prefix in ("train", "t10k"):
        with gzip.open(folder / f"{prefix}-labels-idx1-ubyte.gz", "wb") as f:
            f.write(b"\0" * 8 + labels.tobytes())
        with gzip.open(folder / f"{prefix}-images-idx3-ubyte.gz", "wb") as f:
            f.write(b"\0" * 16 + pixels.tobytes())
    fashion = load_dataset("keras:fashion_mnist")
    assert fashion.info.class_names[9] == "Ankle boot"
    np.testing.assert_allclose(fashion.x_test, 0.2, atol=1e-6)
    np.testing.assert_array_equal(fashion.y_test, labels)

    batches = keras_home / "datasets" / "cifar-10-batches-py-target" / "cifar-10-batches-py"
    batches.mkdir(parents=True)
    rng = np.random.default_rng(3)
    test_images = rng.integers(0, 256, (4, 32, 32, 3), dtype=np.uint8)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        imgs = test_images if name == "test_batch" else test_images[::-1]
        batch = {b"data": imgs.transpose(0, 3, 1, 2).reshape(4, 3072), b"labels": [1, 2, 3, 9]}
        (batches / name).write_bytes(pickle.dumps(batch, protocol=4))
    cifar = load_dataset("keras:cifar10")
    np.testing.assert_array_equal(cifar.x_test, test_images / np.float32(255))
    np.testing.assert_array_equal(cifar.y_test, [1, 2, 3, 9])
    assert len(cifar.y_train) + len(cifar.y_val) == 20


class _Boom:
    def __reduce__(self):
        return (os.system, ("echo pwned > pwned.txt",))


def test_keras_cache_files_cannot_run_code_and_damage_is_reported(keras_home, tmp_path):
    batches = keras_home / "datasets" / "cifar-10-batches-py"
    batches.mkdir()
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        (batches / name).write_bytes(pickle.dumps({b"data": _Boom()}, protocol=4))
    with pytest.raises(DatasetError, match="refusing to unpickle.*delete it"):
        load_dataset("keras:cifar10")
    assert not Path("pwned.txt").exists() and not (tmp_path / "pwned.txt").exists()

    (keras_home / "datasets" / "mnist.npz").write_bytes(b"PK\x03\x04 broken")
    with pytest.raises(DatasetError, match="cannot be read.*delete it"):
        load_dataset("keras:mnist")
    with pytest.raises(DatasetError, match="choose one of: keras:mnist"):
        load_dataset("keras:imagenet")
