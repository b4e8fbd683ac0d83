"""The one data-root guard (core.data.root): paths, globs and links that leave the root."""

from __future__ import annotations

import pytest

from core.data.root import glob_in_data_root, is_inside_data_root, resolve_in_data_root
from core.data.types import DatasetError


@pytest.fixture
def root(tmp_path, monkeypatch):
    data = tmp_path / "data"
    (data / "a").mkdir(parents=True)
    (data / "a" / "x.rec").write_text("x")
    (tmp_path / "secret").mkdir()
    (tmp_path / "secret" / "y.rec").write_text("y")
    monkeypatch.setenv("TFLAB_DATA_ROOT", str(data))
    return data


def test_relative_absolute_and_missing(root):
    assert resolve_in_data_root("a/x.rec") == root / "a" / "x.rec"
    assert resolve_in_data_root(root / "a") == root / "a"
    assert resolve_in_data_root("new", must_exist=False) == root / "new"
    with pytest.raises(DatasetError, match="not found"):
        resolve_in_data_root("missing")


@pytest.mark.parametrize("text", ["../secret", "/etc/passwd", "a/../../secret", "~/x"])
def test_paths_leaving_the_root(root, text):
    with pytest.raises(DatasetError, match="outside the data root"):
        resolve_in_data_root(text, must_exist=False)


def test_links_leaving_the_root(root):
    (root / "out").symlink_to(root.parent / "secret")
    with pytest.raises(DatasetError, match="outside the data root"):
        resolve_in_data_root("out/y.rec")
    assert not is_inside_data_root(root / "out" / "y.rec")
    assert is_inside_data_root(root / "a" / "x.rec")
    with pytest.raises(DatasetError, match="via links"):
        glob_in_data_root("*/*.rec")  # a/x.rec is fine, out/y.rec leaves the root


def test_globs(root):
    pattern, files = glob_in_data_root("a/*.rec")
    assert pattern == str(root / "a" / "*.rec") and files == [root / "a" / "x.rec"]
    with pytest.raises(DatasetError, match="outside the data root"):
        glob_in_data_root("a/*/../../../secret/*.rec")
    with pytest.raises(DatasetError, match="no file matches"):
        glob_in_data_root("a/*.none")
