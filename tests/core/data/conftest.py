"""Fixtures of the data tests: an empty data root with load_dataset's cache cleared."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from core.data.registry import load_dataset
from core.data.types import ImageDataset


@pytest.fixture
def root(tmp_path, monkeypatch) -> Path:
    """An empty data root that core.paths.data_root() points at; load_dataset's cache cleared."""
    path = tmp_path / "data"
    path.mkdir()
    monkeypatch.setenv("TFLAB_DATA_ROOT", str(path))
    load_dataset.cache_clear()
    yield path
    load_dataset.cache_clear()


def all_examples(ds: ImageDataset) -> tuple[np.ndarray, np.ndarray]:
    """(x, y) of all three splits joined."""
    x = np.concatenate([ds.x_train, ds.x_val, ds.x_test])
    return x, np.concatenate([ds.y_train, ds.y_val, ds.y_test])
