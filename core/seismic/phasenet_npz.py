"""PhaseNet-style folders of labelled windows: one .npz per window, an optional CSV index.

Each file holds `data` (samples, 3) in channel order E, N, Z (also accepted: (3, samples), which
is transposed, and (samples, 1, 3)), `itp`, `its` (sample indices of P and S) and optionally
`channels` (e.g. "HHE_HHN_HHZ"; "EHZ" for a single-component station) and `sampling_rate`
(Hz; PhaseNet files have none, 100 Hz is assumed). A CSV in the folder with a `fname` column
(PhaseNet's waveform.csv: fname,itp,its,channels) takes precedence for the picks.

Missing, NaN, negative or out-of-window picks become NO_PICK. A column that is all zeros is a
missing component (present = False in the window's meta). Files that cannot be used (not an
npz, no `data`, wrong shape, NaN/Inf samples, empty, a length or rate different from the rest)
are skipped and listed in the NpzReport; one bad file never stops the load.
"""

from __future__ import annotations

import csv
import math
import re
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from core.data.zip_limits import ZipLimitError, check_zip
from core.seismic.windows import NO_PICK, WaveformSet

DEFAULT_SAMPLING_RATE = 100.0
INDEX_NAMES = ("waveform.csv", "index.csv")  # preferred CSV names; otherwise any CSV with fname
COMPONENT_COLUMN = {"E": 0, "1": 0, "N": 1, "2": 1, "Z": 2, "3": 2}
MAX_FILES = 200_000
MAX_WINDOW_MEMBERS = 32
MAX_WINDOW_BYTES = 256 * 2**20  # one window, uncompressed


@dataclass
class NpzReport:
    """What a folder import took and skipped: (file name, reason) pairs and notes."""

    loaded: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    index_file: str | None = None  # the CSV whose picks were used

    def summary(self) -> str:
        text = f"{self.loaded:,} windows loaded"
        if self.index_file:
            text += f" (picks from {self.index_file})"
        if self.skipped:
            text += f"; {len(self.skipped):,} files skipped"
        return text

    def to_dict(self) -> dict:
        return {
            "loaded": self.loaded,
            "skipped": [list(s) for s in self.skipped],
            "notes": list(self.notes),
            "index_file": self.index_file,
        }


@dataclass
class _Loaded:
    """One usable file before stacking."""

    name: str
    data: np.ndarray  # (samples, 3) float32
    itp: int
    its: int
    channels: list[str]
    present: list[bool]
    sampling_rate: float


def load_npz_folder(
    folder: str | Path, max_files: int = MAX_FILES
) -> tuple[WaveformSet, NpzReport]:
    """Every usable *.npz in folder (sorted by name) -> (WaveformSet, report).

    Raises ValueError with a readable message only when no file at all can be used.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise ValueError(f"{folder} is not a folder")
    report = NpzReport()
    index = read_index(folder, report)
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() == ".npz" and p.is_file())
    if len(files) > max_files:
        report.notes.append(f"only the first {max_files:,} of {len(files):,} files were read")
        files = files[:max_files]
    loaded = []
    for path in files:
        try:
            loaded.append(read_npz_window(path, index.get(path.name)))
        except ValueError as err:
            report.skipped.append((path.name, str(err)))
    if index:
        on_disk = {p.name for p in files}
        missing = sorted(set(index) - on_disk)
        report.skipped += [(name, "listed in the CSV index but not found") for name in missing]
    loaded = _keep_majority(loaded, report)
    if not loaded:
        reasons = "; ".join(f"{n}: {r}" for n, r in report.skipped[:3])
        raise ValueError(
            f"no usable .npz window in {folder}" + (f" ({reasons})" if reasons else "")
        )
    report.loaded = len(loaded)
    return _stack(loaded), report


def read_npz_window(path: Path, index_row: dict | None = None) -> _Loaded:
    """One PhaseNet .npz -> checked window; ValueError says what is wrong with the file."""
    try:
        check_zip(path, MAX_WINDOW_MEMBERS, MAX_WINDOW_BYTES)
        with np.load(path, allow_pickle=False) as npz:
            arrays = {key: npz[key] for key in npz.files}
    except ZipLimitError as err:
        raise ValueError(str(err).split(": ", 1)[-1]) from None
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as err:
        raise ValueError(f"not a readable .npz file ({type(err).__name__}: {err})") from None
    if "data" not in arrays:
        raise ValueError(f"no 'data' array (keys: {', '.join(sorted(arrays)) or 'none'})")
    data = _check_data(arrays["data"])
    samples = data.shape[0]
    rate = _sampling_rate(arrays)
    channels_text = _text(arrays.get("channels"))
    if index_row is not None:
        itp = _pick(index_row.get("itp"), samples)
        its = _pick(index_row.get("its"), samples)
        channels_text = index_row.get("channels") or channels_text
    else:
        itp = _pick(arrays.get("itp"), samples)
        its = _pick(arrays.get("its"), samples)
    channels = _channel_codes(channels_text)
    data = _reorder(data, channels)
    present = [bool(np.any(data[:, c] != 0)) for c in range(3)]
    if not any(present):
        raise ValueError("all samples are zero")
    return _Loaded(path.name, data, itp, its, channels, present, rate)


def read_index(folder: Path, report: NpzReport) -> dict[str, dict]:
    """{file name: {itp, its, channels}} from the folder's CSV index, or {} if there is none."""
    candidates = [folder / n for n in INDEX_NAMES if (folder / n).is_file()]
    candidates += sorted(p for p in folder.glob("*.csv") if p not in candidates)
    for path in candidates:
        try:
            with path.open(newline="", encoding="utf-8-sig") as handle:
                reader = csv.DictReader(handle)
                if not reader.fieldnames or "fname" not in reader.fieldnames:
                    continue
                rows = {row["fname"].strip(): row for row in reader if row.get("fname")}
        except (OSError, UnicodeDecodeError, csv.Error) as err:
            report.notes.append(f"{path.name}: CSV index not readable ({err})")
            continue
        report.index_file = path.name
        return {Path(name).name: row for name, row in rows.items()}
    return {}


def _check_data(raw: np.ndarray) -> np.ndarray:
    """(samples, 3), (3, samples) or (samples, 1, 3) numbers -> (samples, 3) float32, finite."""
    if raw.dtype.kind not in "uif":
        raise ValueError(f"'data' must hold numbers, not {raw.dtype}")
    data = raw
    if data.ndim == 3 and data.shape[1] == 1:
        data = data[:, 0, :]
    if data.ndim == 2 and data.shape[0] == 3 and data.shape[1] > 3:
        data = data.T
    if data.ndim != 2 or data.shape[1] != 3:
        raise ValueError(f"'data' must have shape (samples, 3), got {raw.shape}")
    if data.shape[0] < 2:
        raise ValueError(f"'data' is empty or too short {raw.shape}")
    if data.dtype.kind == "f":
        bad = int(np.size(data) - np.count_nonzero(np.isfinite(data)))
        if bad:
            raise ValueError(f"{bad:,} samples are NaN or infinite")
    data = np.asarray(data, np.float32)
    if not np.isfinite(data).all():
        raise ValueError("sample values overflow float32")
    return data


def _sampling_rate(arrays: dict[str, np.ndarray]) -> float:
    for key in ("sampling_rate", "fs"):
        if key in arrays:
            return _positive(arrays[key], key)
    for key in ("dt", "delta"):
        if key in arrays:
            return 1.0 / _positive(arrays[key], key)
    return DEFAULT_SAMPLING_RATE


def _positive(value: np.ndarray, key: str) -> float:
    try:
        number = float(np.asarray(value).reshape(-1)[0])
    except (IndexError, TypeError, ValueError):
        raise ValueError(f"'{key}' is not a number") from None
    if not math.isfinite(number) or number <= 0:
        raise ValueError(f"'{key}' must be a positive number, got {number}")
    return number


def _pick(value, samples: int) -> int:
    """A pick from an npz scalar/array or CSV text -> sample index, or NO_PICK."""
    if value is None:
        return NO_PICK
    try:
        arr = np.asarray(value).reshape(-1)
        if arr.size == 0:
            return NO_PICK
        number = float(arr[0]) if arr.dtype.kind in "uifb" else float(str(arr[0]).strip())
    except (TypeError, ValueError):
        return NO_PICK
    if not math.isfinite(number) or number < 0 or number >= samples:
        return NO_PICK
    return int(round(number))


def _text(value) -> str:
    if value is None:
        return ""
    arr = np.asarray(value).reshape(-1)
    return str(arr[0]) if arr.size else ""


def _channel_codes(text: str) -> list[str]:
    """'HHE_HHN_HHZ' -> ['HHE', 'HHN', 'HHZ']; a single code 'EHZ' -> ['', '', 'EHZ']."""
    codes = [c for c in re.split(r"[_,;\s]+", text.strip()) if c]
    if len(codes) == 3:
        return codes
    out = ["", "", ""]
    for code in codes:
        column = COMPONENT_COLUMN.get(code[-1].upper())
        if column is not None:
            out[column] = code
    return out


def _reorder(data: np.ndarray, channels: list[str]) -> np.ndarray:
    """Put columns in E, N, Z order when three channel codes say the order differs."""
    if not all(channels):
        return data
    columns = [COMPONENT_COLUMN.get(c[-1].upper()) for c in channels]
    if None in columns or sorted(columns) != [0, 1, 2] or columns == [0, 1, 2]:
        return data
    out = np.empty_like(data)
    out[:, columns] = data
    channels[:] = [channels[columns.index(k)] for k in range(3)]
    return out


def _keep_majority(loaded: list[_Loaded], report: NpzReport) -> list[_Loaded]:
    """Keep windows of the most common (samples, sampling rate); skip the others with a reason."""
    if not loaded:
        return loaded
    shape_of = {id(w): (w.data.shape[0], w.sampling_rate) for w in loaded}
    (samples, rate), _ = Counter(shape_of.values()).most_common(1)[0]
    keep = []
    for w in loaded:
        if shape_of[id(w)] == (samples, rate):
            keep.append(w)
        else:
            n, r = shape_of[id(w)]
            report.skipped.append(
                (w.name, f"{n} samples at {r:g} Hz; most files have {samples} at {rate:g} Hz")
            )
    return keep


def _stack(loaded: list[_Loaded]) -> WaveformSet:
    data = np.stack([w.data for w in loaded])
    meta = [
        {
            "station": _station_from_name(w.name),
            "channels": [c or "-" for c in w.channels],
            "present": w.present,
            "start_time": None,
            "source": w.name,
        }
        for w in loaded
    ]
    return WaveformSet(
        data=data,
        itp=np.array([w.itp for w in loaded], np.int64),
        its=np.array([w.its for w in loaded], np.int64),
        sampling_rate=float(loaded[0].sampling_rate),
        meta=meta,
    )


def _station_from_name(name: str) -> str:
    """PhaseNet names files NET_STA_<time>.npz -> 'NET.STA'; otherwise the file stem."""
    match = re.match(r"^([A-Za-z0-9]{1,2})_([A-Za-z0-9]{1,5})_", name)
    return f"{match[1]}.{match[2]}" if match else Path(name).stem
