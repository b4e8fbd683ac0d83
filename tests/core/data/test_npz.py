""".npz datasets: labels through the split, custom keys, clear errors for bad files, header info."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pytest

from core.data.registry import dataset_info, load_dataset
from core.data.types import DatasetError
from tests.core.data.conftest import all_examples


def test_npz_uint8_images_keep_their_labels_through_the_split(root):
    ids = np.arange(30)
    x = np.broadcast_to(ids[:, None, None], (30, 5, 6)).astype(np.uint8)  # image i is all i
    np.savez(root / "arr.npz", x=x, y=ids % 3)
    ds = load_dataset("npz:arr.npz")
    assert ds.info.input_shape == (5, 6, 1) and ds.info.class_names == ("0", "1", "2")
    assert ds.split_sizes() == {"train": 21, "validation": 4, "test": 5}
    images_, labels = all_examples(ds)
    found = np.round(images_[:, 0, 0, 0] * 255).astype(int)
    assert sorted(found) == list(range(30))
    np.testing.assert_array_equal(labels, found % 3)
    np.testing.assert_allclose(images_[:, 2, 3, 0], found / 255, atol=1e-7)


def test_npz_custom_keys_float_images_and_class_names(root):
    rng = np.random.default_rng(1)
    x = rng.random((12, 4, 4, 3))
    np.savez(
        root / "f.npz",
        images=x,
        labels=(np.arange(12) % 2).reshape(12, 1),
        class_names=np.array(["cat", "dog"]),
    )
    info = dataset_info("npz:f.npz#images,labels")
    assert info.input_shape == (4, 4, 3) and info.class_names == ("cat", "dog")
    ds = load_dataset("npz:f.npz#images,labels")
    got, _ = all_examples(ds)
    assert got.dtype == np.float32
    np.testing.assert_allclose(np.sort(got.ravel()), np.sort(x.ravel()).astype(np.float32))

    np.savez(root / "big.npz", x=x * 255, y=np.arange(12) % 2)  # float 0-255 is scaled
    assert load_dataset("npz:big.npz").x_train.max() <= 1.0


def _write_bad_npz(root: Path, case: str) -> Path:
    path = root / f"{case}.npz"
    ok_x, ok_y = np.zeros((6, 4, 4), np.uint8), np.zeros(6, np.int64)
    if case == "missing_key":
        np.savez(path, images=ok_x, y=ok_y)
    elif case == "lengths":
        np.savez(path, x=ok_x, y=np.zeros(5, np.int64))
    elif case == "ndim":
        np.savez(path, x=np.zeros((6, 16)), y=ok_y)
    elif case == "nan":
        bad = np.zeros((6, 4, 4))
        bad[2, 1, 1] = np.nan
        np.savez(path, x=bad, y=ok_y)
    elif case == "inf":
        np.savez(path, x=np.full((6, 4, 4), np.inf), y=ok_y)
    elif case == "empty":
        np.savez(path, x=np.zeros((0, 4, 4)), y=np.zeros(0))
    elif case == "corrupt":
        np.savez(path, x=ok_x, y=ok_y)
        path.write_bytes(path.read_bytes()[:120])
    elif case == "text":
        path.write_text("x,y\n1,2\n")
    elif case == "pickled":
        np.savez(path, x=np.array([{"a": 1}] * 6, dtype=object), y=ok_y)
    elif case == "negative":
        np.savez(path, x=ok_x, y=-np.ones(6, np.int64))
    elif case == "npy":
        np.save(path, ok_x)
        path.with_suffix(".npz.npy").rename(path)
    elif case == "range":
        np.savez(path, x=np.full((6, 4, 4), 300.0), y=ok_y)
    return path


@pytest.mark.parametrize(
    "case, message",
    [
        ("missing_key", "no array 'x'; it holds: images, y"),
        ("lengths", "6 images but 5 labels"),
        ("ndim", r"shape \(n, height, width\)"),
        ("nan", "1 pixel values are NaN or infinite"),
        ("inf", "NaN or infinite"),
        ("empty", "empty"),
        ("corrupt", "cannot be read|not a readable"),
        ("text", "not an .npz file"),
        ("pickled", "Python objects"),
        ("negative", ">= 0"),
        ("npy", "single array"),
        ("range", "outside"),
    ],
)
def test_bad_npz_files_fail_with_a_clear_error(root, case, message):
    _write_bad_npz(root, case)
    with pytest.raises(DatasetError, match=message):
        load_dataset(f"npz:{case}.npz")


def test_npz_info_reads_headers_and_checks_keys(root):
    np.savez(root / "a.npz", x=np.zeros((7, 9, 8), np.uint8), y=np.arange(7) % 4)
    info = dataset_info("npz:a.npz")
    assert info.input_shape == (9, 8, 1) and info.num_classes == 4
    with pytest.raises(DatasetError, match="no array 'img'; it holds: x, y"):
        dataset_info("npz:a.npz#img,y")
    with pytest.raises(DatasetError, match="outside the data root"):
        dataset_info("npz:../a.npz")
    with zipfile.ZipFile(root / "a.npz") as z:
        assert sorted(z.namelist()) == ["x.npy", "y.npy"]
