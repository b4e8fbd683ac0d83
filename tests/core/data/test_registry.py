"""core.data.registry: the registry and the two built-in datasets."""

from __future__ import annotations

import numpy as np
import pytest

from core.data.builtin import BUILTIN
from core.data.registry import dataset_info, list_datasets, load_dataset
from core.data.types import DatasetError


def test_registry_lists_the_builtin_datasets():
    names = [info.name for info in list_datasets()]
    assert names[:2] == ["digits", "shapes"]
    for info in list_datasets():
        data = info.to_dict()
        assert data["name"] == info.name and data["kind"] in ("image", "waveform")
        assert data["num_classes"] == len(data["class_names"]) == info.num_classes
        assert isinstance(data["input_shape"], list) and data["description"]


def test_unknown_dataset_names_the_choices():
    with pytest.raises(DatasetError) as info:
        dataset_info("nope")
    assert "unknown dataset 'nope'" in str(info.value)
    for name in BUILTIN:
        assert name in str(info.value)
    with pytest.raises(DatasetError):
        load_dataset("nope")


@pytest.mark.parametrize("name", ["digits", "shapes"])
def test_builtin_dataset_arrays(name):
    data = load_dataset(name)
    info = data.info
    assert info == dataset_info(name)
    sizes = data.split_sizes()
    assert all(size > 0 for size in sizes.values())
    for x, y in (
        (data.x_train, data.y_train),
        (data.x_val, data.y_val),
        (data.x_test, data.y_test),
    ):
        assert x.dtype == np.float32 and y.dtype == np.int64
        assert x.shape[1:] == info.input_shape and len(x) == len(y)
        assert 0.0 <= x.min() and x.max() <= 1.0
        assert set(np.unique(y)) <= set(range(info.num_classes))
    assert set(np.unique(data.y_train)) == set(range(info.num_classes))  # every class is trained
    assert load_dataset(name) is data  # cached per process


def test_digits_splits():
    data = load_dataset("digits")
    assert data.split_sizes() == {"train": 719, "validation": 179, "test": 899}
    assert data.x_train.shape[1:] == (16, 16, 1)
    assert data.info.class_names == tuple("0123456789")


def test_shapes_is_generated_the_same_way_every_time():
    from core.data.builtin import _make_shapes

    data = load_dataset("shapes")
    assert sum(data.split_sizes().values()) == 3000
    again = _make_shapes(data.info)
    np.testing.assert_array_equal(again.x_train[:20], data.x_train[:20])
    np.testing.assert_array_equal(again.y_test, data.y_test)
