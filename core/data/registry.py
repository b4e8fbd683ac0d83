"""Dataset names -> sources: the one place that knows every name a run can use.

Names: a built-in name (`digits`, `shapes`, `synthetic`), `keras:mnist`, `keras:fashion_mnist`,
`keras:cifar10`, `mix:<a>+<b>` (waveform datasets trained together), or a path inside the data
root (core.data.root): `folder:<path>[@<size>[x<channels>]]`, `npz:<path>[#<xkey>,<ykey>]`,
`tfrecord:<path or glob>`, `phasenet:<folder>`, `tfrecord-waveform:<path or glob>`.
Images come back as an ImageDataset (core.data.types), waveforms as a WaveformDataset.
"""

from __future__ import annotations

import dataclasses
import functools

from core.data import folder, keras_cache, npz, tfrecord
from core.data.builtin import BUILTIN, load_builtin
from core.data.types import DatasetError, DatasetInfo
from core.seismic import sources as waveform_sources

MIX_PREFIX = "mix:"
IMAGE_SOURCES = ("folder", "npz", "tfrecord", "keras")
NAME_FORMATS = (
    "folder:<path>[@<size>[x<channels>]]",
    "npz:<path>[#<xkey>,<ykey>]",
    "tfrecord:<path or glob>",
    "keras:mnist|fashion_mnist|cifar10",
    *waveform_sources.NAME_FORMATS,
    "mix:<waveform dataset>+<waveform dataset>",
)


def list_datasets() -> list[DatasetInfo]:
    """All datasets a run can name without a path: built-in first, then the Keras downloads."""
    return [
        *BUILTIN.values(),
        *waveform_sources.list_waveform_datasets(),
        *(keras_cache.keras_info(key) for key in keras_cache.KERAS_DATASETS),
    ]


def mix_parts(name: str) -> list[str]:
    """`mix:a+b` -> [a, b]; any other name -> [name]."""
    if not name.startswith(MIX_PREFIX):
        return [name]
    parts = [p.strip() for p in name[len(MIX_PREFIX) :].split("+") if p.strip()]
    if not parts:
        raise DatasetError(f"{name!r}: name the datasets to mix, e.g. mix:synthetic+phasenet:x")
    return parts


def data_kind(name: str) -> str:
    """'image' or 'waveform' from the name alone (no file is read); DatasetError if unknown."""
    if name in BUILTIN:
        return "image"
    if name.startswith(MIX_PREFIX) or waveform_sources.is_waveform_name(name):
        return "waveform"
    split_name(name)  # raises for unknown names
    return "image"


def dataset_info(name: str) -> DatasetInfo:
    """Shape, classes and description of a dataset by name, reading as little data as possible."""
    if name in BUILTIN:
        return BUILTIN[name]
    if waveform_sources.is_waveform_name(name):
        return waveform_sources.waveform_dataset_info(name)
    if name.startswith(MIX_PREFIX):
        parts = mix_parts(name)
        infos = [dataset_info(p) for p in parts]
        if any(i.kind != "waveform" for i in infos):
            raise DatasetError(f"{name!r}: mix: joins waveform datasets with '+'")
        described = " + ".join(parts)
        return dataclasses.replace(infos[0], name=name, description=f"Mixed: {described}")
    source, spec = split_name(name)
    if source == "keras":
        return keras_cache.keras_info(spec)
    if source == "folder":
        return folder.folder_info(spec, name)
    if source == "npz":
        return npz.npz_info(spec, name)
    return tfrecord.tfrecord_info(spec, name)


@functools.lru_cache(maxsize=4)
def load_dataset(name: str):
    """Load a dataset by name: an ImageDataset, or a WaveformDataset for waveform names
    (cached per process; arrays must not be modified)."""
    if name in BUILTIN:
        return load_builtin(name)
    if waveform_sources.is_waveform_name(name):
        return waveform_sources.load_waveform_dataset(name)
    source, spec = split_name(name)
    if source == "keras":
        return keras_cache.load_keras(spec)
    if source == "folder":
        return folder.load_folder(spec, name)
    if source == "npz":
        return npz.load_npz(spec, name)
    return tfrecord.read_tfrecords(spec, name)


def split_name(name: str) -> tuple[str, str]:
    """`source:spec` of an image dataset -> (source, spec); DatasetError for unknown names."""
    source, sep, spec = name.partition(":")
    if not sep or source not in IMAGE_SOURCES:
        known = ", ".join([*BUILTIN, *waveform_sources.WAVEFORM_BUILTIN, *NAME_FORMATS])
        raise DatasetError(f"unknown dataset {name!r}; choose one of: {known}")
    if not spec.strip():
        raise DatasetError(f"{name!r}: give a path or name after '{source}:'")
    return source, spec.strip()


def folder_spec(name: str) -> str | None:
    """The `<path>[@<size>[x<channels>]]` part of a `folder:` name; None for other names."""
    source, sep, spec = name.partition(":")
    return spec.strip() if sep and source == "folder" else None
