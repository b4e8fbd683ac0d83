"""Labelled waveform windows as TFRecord files (ConvNetQuake-style schema) and back.

One tf.train.Example per window:
  window_size  int64   samples per trace
  n_traces     int64   3 (E, N, Z)
  data         bytes   raw float32, (n_traces, window_size) row-major (channels first)
  label        bytes   raw float32, (3, window_size): noise, P, S target curves
  start_time   int64   nanoseconds since 1970-01-01 UTC of the first sample, -1 if unknown
  end_time     int64   nanoseconds of the last sample, -1 if unknown
plus two optional extras that readers which only know the schema above ignore:
  sampling_rate float  Hz (without it: from the times, else 100 Hz)
  station      bytes   station code

Picks are not stored as numbers: `read_waveform_tfrecords` recovers them from the label curves.
A pick is the centre of the run of samples where the P (or S) curve reaches its maximum, if that
maximum is > 0.5; otherwise NO_PICK. That is the exact arrival sample for gaussian and triangle
labels and for box labels away from the window edges (a box cut by the edge is biased inwards).
"""

from __future__ import annotations

import glob
import math
from pathlib import Path

import numpy as np

from core.seismic.labels import make_labels
from core.seismic.windows import NO_PICK, WaveformSet

N_TRACES = 3
DEFAULT_SAMPLING_RATE = 100.0
PICK_THRESHOLD = 0.5


def write_waveform_tfrecords(
    wset: WaveformSet,
    path: str | Path,
    label_shape: str = "gaussian",
    label_width: float = 20,
    shards: int = 1,
) -> list[Path]:
    """Write the set to `path`, or to `shards` files <stem>-0000k-of-0000n<suffix>; returns them."""
    import tensorflow as tf

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    shards = max(1, min(int(shards), max(1, len(wset))))
    if shards == 1:
        paths = [path]
    else:
        paths = [
            path.with_name(f"{path.stem}-{k:05d}-of-{shards:05d}{path.suffix}")
            for k in range(shards)
        ]
    blocks = np.array_split(np.arange(len(wset)), shards)  # contiguous: order survives a read
    for shard_path, block in zip(paths, blocks, strict=True):
        with tf.io.TFRecordWriter(str(shard_path)) as writer:
            for i in block:
                writer.write(_example(wset, int(i), label_shape, label_width))
    return paths


def read_waveform_tfrecords(pattern: str | Path) -> WaveformSet:
    """All records of the files matching `pattern` (sorted) -> WaveformSet (picks from labels)."""
    import tensorflow as tf

    files = _files(pattern)
    data, itp, its, meta, rates = [], [], [], [], set()
    for raw in tf.data.TFRecordDataset(files):
        example = tf.train.Example.FromString(raw.numpy())
        window, label, info = _decode(example)
        if data and window.shape != data[0].shape:
            raise ValueError(
                f"record {len(data)} has shape {window.shape}, the first has {data[0].shape}"
            )
        data.append(window)
        itp.append(pick_from_curve(label[:, 1]))
        its.append(pick_from_curve(label[:, 2]))
        rates.add(info.pop("sampling_rate"))
        meta.append(info)
    if not data:
        raise ValueError(f"no records in {', '.join(files)}")
    if len(rates) > 1:
        raise ValueError(f"records have different sampling rates: {sorted(rates)}")
    return WaveformSet(
        np.stack(data), np.array(itp, np.int64), np.array(its, np.int64), rates.pop(), meta
    )


def waveform_tfrecord_dataset(pattern: str | Path):
    """tf.data.Dataset of (data (window_size, 3) float32, label (window_size, 3) float32)."""
    import tensorflow as tf

    spec = {
        "window_size": tf.io.FixedLenFeature([], tf.int64),
        "n_traces": tf.io.FixedLenFeature([], tf.int64),
        "data": tf.io.FixedLenFeature([], tf.string),
        "label": tf.io.FixedLenFeature([], tf.string),
    }

    def parse(raw):
        ex = tf.io.parse_single_example(raw, spec)
        shape = tf.stack([ex["n_traces"], ex["window_size"]])
        data = tf.reshape(tf.io.decode_raw(ex["data"], tf.float32), shape)
        label = tf.reshape(tf.io.decode_raw(ex["label"], tf.float32), [3, ex["window_size"]])
        return tf.transpose(data), tf.transpose(label)

    files = _files(pattern)
    return tf.data.TFRecordDataset(files).map(parse, num_parallel_calls=tf.data.AUTOTUNE)


def pick_from_curve(curve: np.ndarray, threshold: float = PICK_THRESHOLD) -> int:
    """Sample index of a label curve's peak (centre of its flat top), or NO_PICK if <= threshold."""
    peak = float(curve.max()) if len(curve) else 0.0
    if peak <= threshold:
        return NO_PICK
    first = int(np.argmax(curve))
    top = curve[first:] >= peak - 1e-6
    run = int(np.argmin(top)) if not top.all() else len(top)
    return first + (run - 1) // 2


def _example(wset: WaveformSet, i: int, label_shape: str, label_width: float) -> bytes:
    import tensorflow as tf

    samples = wset.data.shape[1]
    meta = wset.meta[i] if i < len(wset.meta) else {}
    itp, its = int(wset.itp[i]), int(wset.its[i])
    label = make_labels(
        samples, itp if itp >= 0 else None, its if its >= 0 else None, label_shape, label_width
    )
    start = meta.get("start_time")
    if start is None:
        start_ns = end_ns = -1
    else:
        whole = math.floor(float(start))  # split: float64 cannot hold 1e18 ns to the ns
        start_ns = whole * 10**9 + int(round((float(start) - whole) * 1e9))
        end_ns = start_ns + int(round((samples - 1) / wset.sampling_rate * 1e9))

    def int64(v):
        return tf.train.Feature(int64_list=tf.train.Int64List(value=[v]))

    def raw(b):
        return tf.train.Feature(bytes_list=tf.train.BytesList(value=[b]))

    feature = {
        "window_size": int64(samples),
        "n_traces": int64(N_TRACES),
        "data": raw(np.ascontiguousarray(wset.data[i].T, dtype="<f4").tobytes()),
        "label": raw(np.ascontiguousarray(label.T, dtype="<f4").tobytes()),
        "start_time": int64(start_ns),
        "end_time": int64(end_ns),
        "sampling_rate": tf.train.Feature(
            float_list=tf.train.FloatList(value=[wset.sampling_rate])
        ),
        "station": raw(str(meta.get("station", "")).encode()),
    }
    return tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString()


def _decode(example) -> tuple[np.ndarray, np.ndarray, dict]:
    """Example -> (data (window_size, 3) float32, label (window_size, 3), meta with rate)."""
    f = example.features.feature
    for key in ("window_size", "n_traces", "data", "label"):
        if key not in f:
            raise ValueError(f"record without '{key}': not a waveform TFRecord")
    size, n_traces = f["window_size"].int64_list.value[0], f["n_traces"].int64_list.value[0]
    if n_traces != N_TRACES:
        raise ValueError(f"n_traces is {n_traces}; only 3-component windows are supported")
    data = np.frombuffer(f["data"].bytes_list.value[0], "<f4")
    label = np.frombuffer(f["label"].bytes_list.value[0], "<f4")
    if data.size != n_traces * size or label.size != 3 * size:
        raise ValueError(f"data or label length does not match window_size {size}")
    start = f["start_time"].int64_list.value[0] if "start_time" in f else -1
    end = f["end_time"].int64_list.value[0] if "end_time" in f else -1
    if "sampling_rate" in f and f["sampling_rate"].float_list.value:
        rate = float(f["sampling_rate"].float_list.value[0])
    elif start >= 0 and end > start:
        rate = (size - 1) / ((end - start) / 1e9)
    else:
        rate = DEFAULT_SAMPLING_RATE
    station = f["station"].bytes_list.value[0].decode() if "station" in f else ""
    meta = {
        "station": station,
        "channels": ["E", "N", "Z"],
        "present": [bool(np.any(row)) for row in data.reshape(n_traces, size)],
        "start_time": start // 10**9 + (start % 10**9) / 1e9 if start >= 0 else None,
        "source": "tfrecord",
        "sampling_rate": round(rate, 6),
    }
    return data.reshape(n_traces, size).T.copy(), label.reshape(3, size).T, meta


def _files(pattern: str | Path) -> list[str]:
    files = sorted(glob.glob(str(pattern)))
    if not files:
        raise ValueError(f"no TFRecord file matches {str(pattern)!r}")
    return files
