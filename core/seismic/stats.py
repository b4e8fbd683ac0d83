"""Dataset statistics for waveform windows: S-P times, SNR, components present, metadata rows.

All functions take a WaveformSet ((n, samples, 3) float32, picks in samples, NO_PICK = none).
"""

from __future__ import annotations

import math
from datetime import UTC, datetime

import numpy as np

from core.seismic.windows import WaveformSet

SNR_WINDOW_S = 2.0  # seconds of signal after P and of noise before P compared by snr_db
COMPONENTS = ("E", "N", "Z")


def sp_times(wset: WaveformSet) -> np.ndarray:
    """(k,) float64 S-P times in s of the windows with both picks (S after P)."""
    both = (wset.itp >= 0) & (wset.its >= 0) & (wset.its > wset.itp)
    return (wset.its[both] - wset.itp[both]) / wset.sampling_rate


def snr_db(wset: WaveformSet, window_s: float = SNR_WINDOW_S) -> np.ndarray:
    """(n,) float64 SNR in dB per window: 10 log10(mean energy after P / mean energy before P).

    Energy = sum over components of the squared, demeaned samples (mean taken before P);
    `window_s` seconds on each side of P, shortened at the window edges. NaN where there is no
    P pick, no sample before P, or no energy before P.
    """
    n, samples, _ = wset.data.shape
    out = np.full(n, np.nan)
    length = max(1, int(round(window_s * wset.sampling_rate)))
    for i in np.flatnonzero(wset.itp >= 0):
        p = int(wset.itp[i])
        before = wset.data[i, max(0, p - length) : p].astype(np.float64)
        after = wset.data[i, p : min(samples, p + length)].astype(np.float64)
        if len(before) < 2 or len(after) < 1:
            continue
        mean = before.mean(axis=0)
        noise = float(np.mean(np.sum((before - mean) ** 2, axis=1)))
        signal = float(np.mean(np.sum((after - mean) ** 2, axis=1)))
        if noise > 0 and signal > 0:
            out[i] = 10 * math.log10(signal / noise)
    return out


def present_matrix(wset: WaveformSet) -> np.ndarray:
    """(n, 3) bool: component present (from meta `present`, else any non-zero sample)."""
    out = np.empty((len(wset), 3), bool)
    for i in range(len(wset)):
        meta = wset.meta[i] if i < len(wset.meta) else {}
        if "present" in meta:
            out[i] = [bool(v) for v in meta["present"]]
        else:
            out[i] = np.any(wset.data[i] != 0, axis=0)
    return out


def components_present(wset: WaveformSet) -> dict[str, int]:
    """Counts: windows with E, N, Z present, and windows with 3, 2, 1 or 0 components."""
    present = present_matrix(wset)
    counts = {c: int(present[:, k].sum()) for k, c in enumerate(COMPONENTS)}
    per_window = present.sum(axis=1)
    for k in (3, 2, 1, 0):
        counts[f"{k} component{'s' if k != 1 else ''}"] = int((per_window == k).sum())
    return counts


def pick_counts(wset: WaveformSet) -> dict[str, int]:
    """Windows with P and S, P only, S only, and neither (noise)."""
    p, s = wset.itp >= 0, wset.its >= 0
    return {
        "P and S": int((p & s).sum()),
        "P only": int((p & ~s).sum()),
        "S only": int((~p & s).sum()),
        "no pick": int((~p & ~s).sum()),
    }


def metadata_table(wset: WaveformSet, snr: np.ndarray | None = None) -> list[dict]:
    """One row per window: station, channels, present, picks (samples and s), S-P, SNR, source."""
    snr = snr_db(wset) if snr is None else snr
    present = present_matrix(wset)
    rate = wset.sampling_rate
    rows = []
    for i in range(len(wset)):
        meta = wset.meta[i] if i < len(wset.meta) else {}
        itp, its = int(wset.itp[i]), int(wset.its[i])
        start = meta.get("start_time")
        rows.append(
            {
                "window": i,
                "station": meta.get("station", ""),
                "channels": " ".join(meta.get("channels", COMPONENTS)),
                "present": "".join(c for c, p in zip(COMPONENTS, present[i], strict=True) if p),
                "itp": itp if itp >= 0 else None,
                "its": its if its >= 0 else None,
                "P (s)": round(itp / rate, 2) if itp >= 0 else None,
                "S (s)": round(its / rate, 2) if its >= 0 else None,
                "S-P (s)": round((its - itp) / rate, 2) if itp >= 0 and its > itp else None,
                "SNR (dB)": None if np.isnan(snr[i]) else round(float(snr[i]), 1),
                "start (UTC)": _iso(start),
                "source": meta.get("source", ""),
            }
        )
    return rows


def dataset_summary(wset: WaveformSet) -> dict:
    """Headline numbers: windows, samples, rate, duration, pick counts, stations."""
    stations = {m.get("station", "") for m in wset.meta} - {""}
    return {
        "windows": len(wset),
        "samples": int(wset.data.shape[1]),
        "sampling_rate_hz": float(wset.sampling_rate),
        "duration_s": round(wset.data.shape[1] / wset.sampling_rate, 2),
        "stations": len(stations),
        **pick_counts(wset),
    }


def _iso(start) -> str:
    if start is None:
        return ""
    return datetime.fromtimestamp(float(start), UTC).isoformat(timespec="milliseconds")[:23]
