"""TFRecord round trip: data, picks (from the label curves), times, shards, tf.data reader."""

from __future__ import annotations

import numpy as np
import pytest

from core.seismic.labels import make_labels
from core.seismic.waveform_tfrecord import (
    pick_from_curve,
    read_waveform_tfrecords,
    waveform_tfrecord_dataset,
    write_waveform_tfrecords,
)
from core.seismic.windows import NO_PICK


@pytest.mark.parametrize(("shape", "width"), [("gaussian", 20), ("box", 10), ("triangle", 15)])
def test_round_trip(tmp_path, small_set, shape, width):
    wset = small_set.subset(np.arange(12))
    wset.meta[0]["start_time"] = 1_600_000_000.25
    paths = write_waveform_tfrecords(wset, tmp_path / "w.tfrecord", shape, width, shards=3)
    assert [p.name for p in paths] == [f"w-{k:05d}-of-00003.tfrecord" for k in range(3)]
    back = read_waveform_tfrecords(str(tmp_path / "w-*.tfrecord"))
    np.testing.assert_array_equal(back.data, wset.data)
    np.testing.assert_array_equal(back.itp, wset.itp)
    np.testing.assert_array_equal(back.its, wset.its)
    assert back.sampling_rate == wset.sampling_rate
    assert back.meta[0]["start_time"] == 1_600_000_000.25 and back.meta[1]["start_time"] is None
    assert back.meta[0]["station"] == wset.meta[0]["station"]


def test_tf_data_reader(tmp_path, small_set):
    wset = small_set.subset(np.arange(4))
    write_waveform_tfrecords(wset, tmp_path / "one.tfrecord", "gaussian", 20)
    pairs = list(waveform_tfrecord_dataset(tmp_path / "one.tfrecord").as_numpy_iterator())
    assert len(pairs) == 4
    x, y = pairs[1]
    assert x.shape == (3001, 3) and y.shape == (3001, 3) and x.dtype == np.float32
    np.testing.assert_array_equal(x, wset.data[1])
    itp, its = (int(v) if v >= 0 else None for v in (wset.itp[1], wset.its[1]))
    np.testing.assert_allclose(y, make_labels(3001, itp, its, "gaussian", 20), atol=1e-6)


def test_pick_from_curve():
    assert pick_from_curve(np.zeros(100)) == NO_PICK
    assert pick_from_curve(np.full(100, 0.4, np.float32)) == NO_PICK
    curve = np.zeros(100, np.float32)
    curve[40:51] = 1.0  # a box of +-5 around 45
    assert pick_from_curve(curve) == 45


def test_no_files(tmp_path):
    with pytest.raises(ValueError, match="no TFRecord file matches"):
        read_waveform_tfrecords(str(tmp_path / "*.tfrecord"))
