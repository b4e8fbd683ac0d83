"""Any file ObsPy reads (MiniSEED, SAC, GSE2, SEG-Y, ...) -> continuous three-component records.

Traces are grouped by station and instrument (network.station.location.band+instrument, e.g.
"BW.RJOB..EH"); components map to columns E, N, Z (1 -> E, 2 -> N, 3 -> Z). Each group becomes
one ContinuousRecord: data (samples, 3) float32 in the file's units (usually counts), on one time
grid at one sampling rate. Gaps are filled with zeros and overlaps keep the later trace (as
obspy's Stream.merge(method=1, fill_value=0)), but placed directly on the sample grid, so a
stream with thousands of gaps costs one pass, not a quadratic merge. Traces at another sampling
rate are resampled (scipy resample_poly, anti-aliased) to the target rate. A missing component
is a zero column with present = False. Everything that was changed is listed in record.notes.

Also here: obspy_filter, the detrend / taper / filter chain the data page previews.
"""

from __future__ import annotations

import tempfile
import warnings
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from core.data.types import DatasetError
from core.seismic.waveform_formats import UnknownWaveformFormat, read_waveform_file
from core.seismic.windows import NO_PICK, WaveformSet, WaveformWindow, resample

DEFAULT_MAX_BYTES = 200_000_000
DEFAULT_MAX_SAMPLES = 10_000_000  # per component of one record (about 28 h at 100 Hz)
COMPONENT_COLUMN = {"E": 0, "1": 0, "N": 1, "2": 1, "Z": 2, "3": 2}
NAN_POLICIES = ("zero", "refuse")
FILTER_KINDS = ("none", "bandpass", "highpass", "lowpass")
DETREND_KINDS = ("none", "demean", "linear")
RATE_RANGE_HZ = (1e-5, 1e5)  # sampling rates outside this are refused as broken headers
SHOWN_GAPS = 3  # gaps listed by time in a note; the rest are counted


class WaveformError(DatasetError):
    """A waveform file that cannot be used; the message is meant for the user."""


@dataclass
class ContinuousRecord:
    """One station's continuous three-component record on a single time grid."""

    station: str  # "NET.STA.LOC.BI" (band + instrument code)
    data: np.ndarray  # (samples, 3) float32, columns E, N, Z
    sampling_rate: float  # Hz
    start_time: float  # POSIX seconds (UTC) of sample 0
    present: tuple[bool, bool, bool]  # False: that component is missing (zeros)
    notes: list[str] = field(default_factory=list)  # gaps, overlaps, resampling, cleaned samples
    channels: tuple[str, str, str] = ("", "", "")  # SEED channel codes per column, "" if missing
    source: str = ""  # file name

    @property
    def samples(self) -> int:
        return int(self.data.shape[0])

    @property
    def duration_s(self) -> float:
        return self.samples / self.sampling_rate

    def to_window(self) -> WaveformWindow:
        """The whole record as one unlabelled window."""
        return WaveformWindow(
            data=self.data,
            sampling_rate=self.sampling_rate,
            itp=None,
            its=None,
            station=self.station,
            channels=tuple(c or "-" for c in self.channels),
            present=self.present,
            start_time=self.start_time,
            source=self.source,
        )


def read_stream_file(
    path: str | Path,
    max_bytes: int = DEFAULT_MAX_BYTES,
    target_rate: float | None = None,
    nan_policy: str = "zero",
    max_samples: int = DEFAULT_MAX_SAMPLES,
) -> list[ContinuousRecord]:
    """Read one file with ObsPy -> one ContinuousRecord per station/instrument, sorted by name.

    Only the formats in core.seismic.waveform_formats are tried (never ObsPy's PICKLE).
    """
    path = Path(path)
    if not path.is_file():
        raise WaveformError(f"{path.name}: file not found")
    size = path.stat().st_size
    if size == 0:
        raise WaveformError(f"{path.name}: the file is empty")
    if size > max_bytes:
        raise WaveformError(
            f"{path.name}: {size / 1e6:,.1f} MB is larger than the limit of "
            f"{max_bytes / 1e6:,.0f} MB; cut the file into pieces (e.g. one day each)"
        )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            stream, _ = read_waveform_file(path)
        except UnknownWaveformFormat as err:
            raise WaveformError(str(err)) from None
        except Exception as err:  # ObsPy raises TypeError, ValueError, struct errors, ...
            raise WaveformError(
                f"{path.name}: ObsPy cannot read this file as seismic data "
                f"({type(err).__name__}: {str(err).replace(str(path), path.name)[:200]})"
            ) from None
    records = stream_to_records(stream, target_rate, nan_policy, max_samples, source=path.name)
    read_notes = sorted({f"ObsPy: {w.message}" for w in caught})[:5]
    for record in records:
        record.notes[:0] = read_notes
    return records


def read_stream_bytes(content: bytes, filename: str, **options) -> list[ContinuousRecord]:
    """Like read_stream_file for an uploaded file's bytes (written to a temporary file)."""
    safe = "".join(c if c.isalnum() or c in "._-" else "_" for c in Path(filename).name)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / (safe.lstrip(".")[-100:] or "upload")  # messages name the user's file
        path.write_bytes(content)
        records = read_stream_file(path, **options)
    for record in records:
        record.source = filename
    return records


def stream_to_records(
    stream,
    target_rate: float | None = None,
    nan_policy: str = "zero",
    max_samples: int = DEFAULT_MAX_SAMPLES,
    source: str = "",
) -> list[ContinuousRecord]:
    """An obspy Stream -> ContinuousRecords (see the module docstring for the rules)."""
    if nan_policy not in NAN_POLICIES:
        raise ValueError(f"nan_policy must be one of {NAN_POLICIES}, got {nan_policy!r}")
    traces = [tr for tr in stream if tr.stats.npts > 0]
    if not traces:
        raise WaveformError(f"{source or 'stream'}: no trace with samples in it")
    bad_rate = [tr.id for tr in traces if not tr.stats.sampling_rate > 0]
    if bad_rate:
        raise WaveformError(f"{source}: traces without a sampling rate: {', '.join(bad_rate[:3])}")
    absurd = [
        f"{tr.id} at {tr.stats.sampling_rate:g} Hz"
        for tr in traces
        if not RATE_RANGE_HZ[0] <= tr.stats.sampling_rate <= RATE_RANGE_HZ[1]
    ]
    if absurd:
        raise WaveformError(
            f"{source}: sampling rate outside {RATE_RANGE_HZ[0]:g}-{RATE_RANGE_HZ[1]:g} Hz: "
            f"{', '.join(absurd[:3])}; the file's headers are probably wrong"
        )
    text = [tr.id for tr in traces if np.asarray(tr.data).dtype.kind not in "iuf"]
    if text:
        raise WaveformError(
            f"{source}: {', '.join(text[:3])} hold text (e.g. ASCII-encoded MiniSEED), "
            "not samples; export the data as numbers (INT32, FLOAT32, STEIM)"
        )
    if target_rate is None:
        volume = Counter()
        for tr in traces:
            volume[float(tr.stats.sampling_rate)] += tr.stats.npts
        target_rate = volume.most_common(1)[0][0]
    groups: dict[str, list] = {}
    for k, tr in enumerate(traces):
        s = tr.stats
        key = f"{s.network}.{s.station}.{s.location}.{s.channel[:-1]}"
        if not s.station and not s.network:
            key = f"trace {k}"  # e.g. SEG-Y: traces without station codes stay apart
        groups.setdefault(key, []).append(tr)
    records = [
        _group_record(key, members, float(target_rate), nan_policy, max_samples, source)
        for key, members in sorted(groups.items())
    ]
    return [r for r in records if r is not None]


def windows_from_record(record: ContinuousRecord, length: int, step: int) -> WaveformSet:
    """Cut (n, length, 3) windows every `step` samples (no labels: itp = its = NO_PICK).

    A record shorter than `length` gives one zero-padded window; meta start_time is POSIX s.
    """
    if length < 2 or step < 1:
        raise ValueError(f"need length >= 2 and step >= 1, got {length}, {step}")
    starts = list(range(0, max(record.samples - length, 0) + 1, step))
    data = np.zeros((len(starts), length, 3), np.float32)
    for i, start in enumerate(starts):
        piece = record.data[start : start + length]
        data[i, : len(piece)] = piece
    meta = [
        {
            "station": record.station,
            "channels": [c or "-" for c in record.channels],
            "present": list(record.present),
            "start_time": record.start_time + start / record.sampling_rate,
            "source": record.source,
            "offset": start,
        }
        for start in starts
    ]
    picks = np.full(len(starts), NO_PICK, np.int64)
    return WaveformSet(data, picks, picks.copy(), record.sampling_rate, meta)


def _group_record(key, traces, rate, nan_policy, max_samples, source) -> ContinuousRecord | None:
    """Traces of one station/instrument -> a record on one grid, or None if no component fits."""
    notes: list[str] = []
    by_column: dict[int, list] = {}
    unknown = []
    for tr in traces:
        column = COMPONENT_COLUMN.get(tr.stats.channel[-1:].upper())
        (unknown if column is None else by_column.setdefault(column, [])).append(tr)
    if unknown:
        codes = sorted({tr.stats.channel or "(none)" for tr in unknown})
        if 2 not in by_column and len(codes) == 1:
            by_column[2] = unknown
            notes.append(f"component {codes[0]} is not E/N/Z/1/2/3; shown as Z")
        else:
            notes.append(f"dropped components that are not E/N/Z/1/2/3: {', '.join(codes)}")
    if not by_column:
        return None
    for column, members in by_column.items():
        codes = sorted({tr.stats.channel for tr in members})
        if len(codes) > 1:  # e.g. both HHE and HH1: keep the first code in sort order
            notes.append(
                f"two channels for column {'ENZ'[column]}: {', '.join(codes)}; kept {codes[0]}"
            )
            by_column[column] = [tr for tr in members if tr.stats.channel == codes[0]]
    members = [tr for m in by_column.values() for tr in m]  # the span, before any resampling
    span = max(tr.stats.endtime.timestamp for tr in members) - min(
        tr.stats.starttime.timestamp for tr in members
    )
    if int(round(span * rate)) + 1 > max_samples:
        raise WaveformError(
            f"{source} {key}: the traces span {span / 3600:,.1f} h ({int(span * rate) + 1:,} "
            f"samples at {rate:g} Hz), more than {max_samples:,} samples; cut the file into "
            "shorter pieces"
        )
    arrays = {c: [_clean(tr, rate, nan_policy, notes) for tr in m] for c, m in by_column.items()}
    t0 = min(start for pieces in arrays.values() for start, _ in pieces)
    t1 = max(start + (len(x) - 1) / rate for pieces in arrays.values() for start, x in pieces)
    n = int(round((t1 - t0) * rate)) + 1
    data = np.zeros((n, 3), np.float32)
    channels = ["", "", ""]
    for column, pieces in sorted(arrays.items()):
        data[:, column] = _place(pieces, t0, rate, n, "ENZ"[column], notes)
        channels[column] = by_column[column][0].stats.channel or "?"
    present = tuple(bool(channels[c]) for c in range(3))
    missing = [name for name, p in zip("ENZ", present, strict=True) if not p]
    if missing:
        notes.append(f"missing component(s) {', '.join(missing)}: zeros")
    return ContinuousRecord(key, data, rate, t0, present, notes, tuple(channels), source)


def _clean(tr, rate: float, nan_policy: str, notes: list[str]) -> tuple[float, np.ndarray]:
    """(start POSIX s, float64 samples at `rate`) of one trace, NaN/Inf handled."""
    x = np.asarray(tr.data, dtype=np.float64)
    bad = ~np.isfinite(x)
    if bad.any():
        if nan_policy == "refuse":
            raise WaveformError(f"{tr.id}: {int(bad.sum()):,} samples are NaN or infinite")
        x = np.where(bad, 0.0, x)
        notes.append(f"{tr.id}: {int(bad.sum()):,} NaN/Inf samples set to zero")
    own = float(tr.stats.sampling_rate)
    if abs(own - rate) > 1e-6 * rate:
        x = resample(x, own, rate).astype(np.float64)
        notes.append(f"{tr.stats.channel}: resampled {own:g} Hz -> {rate:g} Hz")
    return float(tr.stats.starttime.timestamp), x


def _place(pieces, t0: float, rate: float, n: int, name: str, notes: list[str]) -> np.ndarray:
    """Put pieces on the grid t0 + k / rate: zeros in gaps, later pieces win in overlaps."""
    out = np.zeros(n, np.float32)
    gaps: list[tuple[float, float]] = []
    overlaps = 0
    cursor = 0  # first sample not yet covered
    for start, x in sorted(pieces, key=lambda p: p[0]):
        offset = int(round((start - t0) * rate))
        end = min(offset + len(x), n)
        if offset > cursor:
            gaps.append((t0 + cursor / rate, (offset - cursor) / rate))
        elif offset < cursor:
            overlaps += 1
        out[offset:end] = x[: end - offset]
        cursor = max(cursor, end)
    if cursor < n:
        gaps.append((t0 + cursor / rate, (n - cursor) / rate))
    if gaps:
        notes.append(_gap_note(name, gaps))
    if overlaps:
        notes.append(f"{name}: {overlaps:,} overlap(s); the later trace was kept")
    return out


def _gap_note(name: str, gaps: list[tuple[float, float]]) -> str:
    from obspy import UTCDateTime

    total = sum(d for _, d in gaps)
    shown = ", ".join(f"{UTCDateTime(t).isoformat()[:22]} ({d:g} s)" for t, d in gaps[:SHOWN_GAPS])
    more = f" and {len(gaps) - SHOWN_GAPS:,} more" if len(gaps) > SHOWN_GAPS else ""
    return (
        f"{name}: {len(gaps):,} gap(s), {total:,.2f} s in total, filled with zeros: {shown}{more}"
    )


def obspy_filter(
    data: np.ndarray,
    sampling_rate: float,
    detrend: str = "linear",
    taper: float = 0.05,
    kind: str = "bandpass",
    freqmin: float = 1.0,
    freqmax: float = 20.0,
    corners: int = 4,
    zerophase: bool = True,
) -> tuple[np.ndarray, list[str]]:
    """(samples, 3) -> filtered (samples, 3) float32 with ObsPy's detrend, taper and filter.

    taper: max_percentage (0-0.5) of a Hann taper at each end; corner frequencies in Hz are
    clipped below Nyquist (noted). Zero columns (missing components) stay zero.
    """
    from obspy import Trace

    if detrend not in DETREND_KINDS or kind not in FILTER_KINDS:
        raise ValueError(f"detrend must be one of {DETREND_KINDS}, filter one of {FILTER_KINDS}")
    notes = []
    nyquist = sampling_rate / 2
    if kind in ("bandpass", "lowpass") and freqmax >= nyquist:
        freqmax = 0.95 * nyquist
        notes.append(f"upper corner lowered to {freqmax:g} Hz (below Nyquist {nyquist:g} Hz)")
    if kind == "bandpass" and freqmin >= freqmax:
        raise ValueError(f"lower corner {freqmin:g} Hz must be below the upper {freqmax:g} Hz")
    out = np.zeros_like(data, dtype=np.float32)
    for c in range(data.shape[1]):
        if not np.any(data[:, c]):
            continue
        tr = Trace(np.asarray(data[:, c], np.float64), header={"sampling_rate": sampling_rate})
        if detrend != "none":
            tr.detrend("constant" if detrend == "demean" else "linear")
        if taper > 0:
            tr.taper(max_percentage=min(taper, 0.5), type="hann")
        if kind == "bandpass":
            tr.filter(kind, freqmin=freqmin, freqmax=freqmax, corners=corners, zerophase=zerophase)
        elif kind == "highpass":
            tr.filter(kind, freq=freqmin, corners=corners, zerophase=zerophase)
        elif kind == "lowpass":
            tr.filter(kind, freq=freqmax, corners=corners, zerophase=zerophase)
        out[:, c] = tr.data
    return out, notes
