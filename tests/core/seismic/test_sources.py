"""The waveform dataset registry: names, splits, data-root confinement, caching."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from core.data.types import DatasetError
from core.seismic import sources
from core.seismic.sources import (
    WAVEFORM_BUILTIN,
    is_waveform_name,
    load_waveform_dataset,
    waveform_dataset_info,
)
from core.seismic.waveform_tfrecord import write_waveform_tfrecords


@pytest.fixture
def data_root(tmp_path, monkeypatch):
    root = tmp_path / "data"
    root.mkdir()
    monkeypatch.setenv("TFLAB_DATA_ROOT", str(root))
    load_waveform_dataset.cache_clear()
    yield root
    load_waveform_dataset.cache_clear()


def test_synthetic_builtin():
    info = waveform_dataset_info("synthetic")
    assert info is WAVEFORM_BUILTIN["synthetic"]
    assert info.kind == "waveform" and info.input_shape == (3001, 3)
    assert info.class_names == ("noise", "P", "S")
    data = load_waveform_dataset("synthetic")
    assert data.split_sizes() == {"train": 1400, "validation": 300, "test": 300}
    assert load_waveform_dataset("synthetic") is data  # cached per process
    assert data.train.data.shape[1:] == (3001, 3)
    assert data.split("validation") is data.val


def test_ncedc_sample(ncedc_folder):
    info = waveform_dataset_info("phasenet:ncedc-sample")
    assert info.kind == "waveform" and info.input_shape == (9001, 3)
    data = load_waveform_dataset("phasenet:ncedc-sample")
    assert sum(data.split_sizes().values()) == 103 and data.report.loaded == 103
    sources_seen = {m["source"] for s in (data.train, data.val, data.test) for m in s.meta}
    assert len(sources_seen) == 103  # the splits do not overlap


def test_folder_inside_root_relative_and_absolute(data_root, ncedc_folder):
    folder = data_root / "pn"
    folder.mkdir()
    for path in sorted(ncedc_folder.glob("*.npz"))[:6]:
        shutil.copy(path, folder / path.name)
    (folder / "broken.npz").write_text("x")
    rel = load_waveform_dataset("phasenet:pn")
    assert sum(rel.split_sizes().values()) == 6 and rel.report.skipped[0][0] == "broken.npz"
    absolute = load_waveform_dataset(f"phasenet:{folder}")
    assert sum(absolute.split_sizes().values()) == 6
    assert waveform_dataset_info("phasenet:pn").input_shape == (9001, 3)


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("phasenet:../outside", "outside the data root"),
        ("phasenet:/etc", "outside the data root"),
        ("phasenet:missing", "not found"),
        ("phasenet:", "give a path"),
        ("tfrecord-waveform:/tmp/*.tfrecord", "outside the data root"),
        ("tfrecord-waveform:none/*.tfrecord", "no file matches"),
        ("tfrecord-waveform:x/*/../../../*.tfrecord", "outside the data root"),
        ("waveforms:abc", "unknown waveform dataset"),
    ],
)
def test_user_errors(data_root, name, message):
    with pytest.raises(DatasetError, match=message):
        load_waveform_dataset(name)


def test_symlink_out_of_root_refused(data_root, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (data_root / "link").symlink_to(outside)
    with pytest.raises(DatasetError, match="outside the data root"):
        load_waveform_dataset("phasenet:link")


def test_empty_folder_is_a_user_error(data_root):
    (data_root / "empty").mkdir()
    with pytest.raises(DatasetError, match="no usable"):
        load_waveform_dataset("phasenet:empty")


def test_sample_name_needs_the_folder(data_root, monkeypatch, tmp_path):
    monkeypatch.setattr(sources, "SAMPLE_FOLDER", tmp_path / "nowhere")
    with pytest.raises(DatasetError, match="not on this machine"):
        load_waveform_dataset("phasenet:ncedc-sample")


def test_tfrecord_waveform(data_root, small_set):
    write_waveform_tfrecords(small_set, data_root / "tf" / "s.tfrecord", shards=2)
    data = load_waveform_dataset("tfrecord-waveform:tf/s-*.tfrecord")
    assert sum(data.split_sizes().values()) == len(small_set)
    assert data.info.kind == "waveform" and data.info.input_shape == (3001, 3)
    all_itp = np.sort(np.concatenate([data.train.itp, data.val.itp, data.test.itp]))
    np.testing.assert_array_equal(all_itp, np.sort(small_set.itp))
    (data_root / "tf" / "junk.tfrecord").write_bytes(b"not a record at all")
    with pytest.raises(DatasetError, match="tfrecord-waveform:tf/junk.tfrecord"):
        load_waveform_dataset("tfrecord-waveform:tf/junk.tfrecord")


def test_is_waveform_name():
    assert is_waveform_name("synthetic") and is_waveform_name("phasenet:x")
    assert is_waveform_name("tfrecord-waveform:a") and not is_waveform_name("digits")
