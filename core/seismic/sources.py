"""Registry of waveform datasets by name, each split 70/15/15 into train/validation/test.

Names:
  synthetic                     built in, no download: 2,000 generated 30 s windows (seed 0)
  phasenet:<folder>             a PhaseNet-style folder of .npz windows (core.seismic.phasenet_npz),
                                relative to the data root (core.paths.data_root()) or an
                                absolute path inside it; anything outside the root is refused
  phasenet:ncedc-sample         the 103 real NCEDC windows in ../shared/data/ncedc-phasenet,
                                only when that folder exists (tests and benchmarks use it)
  tfrecord-waveform:<pattern>   TFRecord files (core.seismic.waveform_tfrecord), a glob inside
                                the data root

Every window is (samples, 3) float32, channels E, N, Z; classes are noise, P, S per sample.
"""

from __future__ import annotations

import functools
import glob
from dataclasses import dataclass, field
from pathlib import Path

from core.data.root import glob_in_data_root, resolve_in_data_root
from core.data.types import SPLIT_SEED, DatasetError, DatasetInfo, split_indices
from core.paths import REPO_ROOT
from core.seismic.labels import CLASS_NAMES
from core.seismic.phasenet_npz import load_npz_folder, read_npz_window
from core.seismic.waveform_tfrecord import read_waveform_tfrecords
from core.seismic.windows import WaveformSet

SYNTHETIC_SIZE = 2000
SYNTHETIC_SAMPLES = 3001
SAMPLE_FOLDER_NAME = "ncedc-sample"
SAMPLE_FOLDER = REPO_ROOT.parent / "shared" / "data" / "ncedc-phasenet"
PREFIXES = ("phasenet", "tfrecord-waveform")
NAME_FORMATS = ("phasenet:<folder>", "tfrecord-waveform:<path or glob>")

WAVEFORM_BUILTIN: dict[str, DatasetInfo] = {
    "synthetic": DatasetInfo(
        name="synthetic",
        kind="waveform",
        description=f"{SYNTHETIC_SIZE:,} generated three-component 30 s windows at 100 Hz with "
        "labelled P and S arrivals (S-P 1-25 s, SNR 0-30 dB, coloured noise, random "
        "back-azimuth); about 10 % without S and 4 % noise only. No download.",
        input_shape=(SYNTHETIC_SAMPLES, 3),
        class_names=CLASS_NAMES,
    ),
}


@dataclass
class WaveformDataset:
    """Fixed train/validation/test split of one waveform dataset."""

    info: DatasetInfo
    train: WaveformSet
    val: WaveformSet
    test: WaveformSet
    report: object | None = None  # NpzReport for folders; None otherwise
    notes: list[str] = field(default_factory=list)

    def split_sizes(self) -> dict[str, int]:
        return {"train": len(self.train), "validation": len(self.val), "test": len(self.test)}

    def split(self, name: str) -> WaveformSet:
        """'train', 'validation' (or 'val') or 'test'."""
        sets = {"train": self.train, "validation": self.val, "val": self.val, "test": self.test}
        if name not in sets:
            raise DatasetError(f"unknown split {name!r}; choose train, validation or test")
        return sets[name]


def is_waveform_name(name: str) -> bool:
    """True for names this registry handles (so core.data.registry can route to it)."""
    return name in WAVEFORM_BUILTIN or name.partition(":")[0] in PREFIXES


def list_waveform_datasets() -> list[DatasetInfo]:
    """Built-in waveform datasets, plus the NCEDC sample when its folder exists."""
    infos = list(WAVEFORM_BUILTIN.values())
    if SAMPLE_FOLDER.is_dir():
        infos.append(waveform_dataset_info(f"phasenet:{SAMPLE_FOLDER_NAME}"))
    return infos


def waveform_dataset_info(name: str) -> DatasetInfo:
    """Shape, classes and description by name, reading as little as possible."""
    if name in WAVEFORM_BUILTIN:
        return WAVEFORM_BUILTIN[name]
    source, spec = _split_name(name)
    if source == "phasenet":
        folder = resolve_folder(spec)
        files = sorted(folder.glob("*.npz"))
        for path in files[:20]:  # the first readable file gives the shape
            try:
                window = read_npz_window(path)
            except ValueError:
                continue
            return _info(
                name,
                f"PhaseNet-style folder {folder.name}: {len(files):,} .npz files, "
                f"{window.data.shape[0]:,} samples at {window.sampling_rate:g} Hz",
                window.data.shape[0],
            )
        raise DatasetError(f"{name}: no readable .npz window in {folder}")
    dataset = load_waveform_dataset(name)  # a TFRecord header alone does not give the count
    return dataset.info


@functools.lru_cache(maxsize=4)
def load_waveform_dataset(name: str) -> WaveformDataset:
    """Load and split a dataset by name (cached per process; arrays must not be modified)."""
    if name == "synthetic":
        from core.seismic.synthetic import make_synthetic

        wset = make_synthetic(SYNTHETIC_SIZE, seed=0, samples=SYNTHETIC_SAMPLES)
        return split_waveforms(WAVEFORM_BUILTIN[name], wset)
    source, spec = _split_name(name)
    if source == "phasenet":
        folder = resolve_folder(spec)
        try:
            wset, report = load_npz_folder(folder)
        except ValueError as err:
            raise DatasetError(f"{name}: {err}") from None
        info = _info(
            name,
            f"PhaseNet-style folder {folder.name}: {report.summary()}, "
            f"{wset.data.shape[1]:,} samples at {wset.sampling_rate:g} Hz",
            wset.data.shape[1],
        )
        return split_waveforms(info, wset, report=report)

    pattern = resolve_pattern(spec)
    try:
        wset = read_waveform_tfrecords(pattern)
    except ValueError as err:
        raise DatasetError(f"{name}: {err}") from None
    except Exception as err:  # tf.errors.DataLossError and friends: a corrupt or foreign file
        raise DatasetError(f"{name}: not a readable waveform TFRecord ({err})") from None
    n_files = len(glob.glob(pattern))
    info = _info(
        name,
        f"{len(wset):,} windows from {n_files} TFRecord file(s), {wset.data.shape[1]:,} samples "
        f"at {wset.sampling_rate:g} Hz (picks recovered from the label curves)",
        wset.data.shape[1],
    )
    return split_waveforms(info, wset)


def split_waveforms(
    info: DatasetInfo, wset: WaveformSet, seed: int = SPLIT_SEED, report=None
) -> WaveformDataset:
    """Shuffle with `seed` and cut 70/15/15 (at least one window in each split)."""
    try:
        train, val, test = split_indices(len(wset), seed, "window")
    except DatasetError as err:
        raise DatasetError(f"{info.name}: {err}") from None
    return WaveformDataset(
        info, wset.subset(train), wset.subset(val), wset.subset(test), report=report
    )


def resolve_folder(spec: str) -> Path:
    """`phasenet:` spec -> an existing folder inside the data root (or the NCEDC sample)."""
    if spec == SAMPLE_FOLDER_NAME:
        if not SAMPLE_FOLDER.is_dir():
            raise DatasetError(f"the NCEDC sample folder {SAMPLE_FOLDER} is not on this machine")
        return SAMPLE_FOLDER
    path = resolve_in_data_root(spec)
    if not path.is_dir():
        raise DatasetError(f"{spec!r} is not a folder (looked for {path})")
    return path


def resolve_pattern(spec: str) -> str:
    """`tfrecord-waveform:` path or glob -> absolute pattern inside the data root, with matches."""
    return glob_in_data_root(spec)[0]


def _split_name(name: str) -> tuple[str, str]:
    source, sep, spec = name.partition(":")
    if not sep or source not in PREFIXES:
        known = ", ".join([*WAVEFORM_BUILTIN, *NAME_FORMATS])
        raise DatasetError(f"unknown waveform dataset {name!r}; choose one of: {known}")
    if not spec.strip():
        raise DatasetError(f"{name!r}: give a path after '{source}:'")
    return source, spec.strip()


def _info(name: str, description: str, samples: int) -> DatasetInfo:
    return DatasetInfo(
        name=name,
        kind="waveform",
        description=description,
        input_shape=(int(samples), 3),
        class_names=CLASS_NAMES,
    )
