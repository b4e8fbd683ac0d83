"""Dataset statistics with known answers."""

from __future__ import annotations

import math

import numpy as np
import pytest

from core.seismic.stats import (
    components_present,
    dataset_summary,
    metadata_table,
    pick_counts,
    snr_db,
    sp_times,
)
from core.seismic.windows import NO_PICK, WaveformSet


@pytest.fixture
def known() -> WaveformSet:
    """4 windows of 1000 samples at 100 Hz: +-1 noise before P, +-10 after (20 dB)."""
    data = np.zeros((4, 1000, 3), np.float32)
    alternating = np.where(np.arange(1000) % 2 == 0, 1.0, -1.0).astype(np.float32)
    data[:, :, :] = alternating[None, :, None]
    data[0, 400:, :] *= 10  # window 0: P at 400, 20 dB
    data[1, 300:, 2] *= 100  # window 1: P at 300, only Z grows 100x: energy 1+1+1e4 vs 3
    data[2, :, :2] = 0  # window 2: Z only, no picks
    meta = [
        {
            "station": "XX.A",
            "channels": ["HHE", "HHN", "HHZ"],
            "present": [True, True, True],
            "start_time": 0.0,
            "source": "a",
        },
        {"station": "XX.B", "present": [True, True, True]},
        {"station": "XX.C", "present": [False, False, True]},
        {"station": "XX.A"},
    ]
    itp = np.array([400, 300, NO_PICK, 500], np.int64)
    its = np.array([650, NO_PICK, NO_PICK, 400], np.int64)  # window 3: S before P, ignored
    return WaveformSet(data, itp, its, 100.0, meta)


def test_sp_times(known):
    np.testing.assert_allclose(sp_times(known), [2.5])


def test_snr_known_answers(known):
    snr = snr_db(known)
    assert snr[0] == pytest.approx(20.0, abs=1e-6)
    assert snr[1] == pytest.approx(10 * math.log10((2 + 1e4) / 3), abs=1e-6)
    assert math.isnan(snr[2])  # no P
    assert snr[3] == pytest.approx(0.0, abs=1e-6)  # nothing changes at P


def test_components_and_picks(known):
    counts = components_present(known)
    assert counts["E"] == 3 and counts["Z"] == 4
    assert counts["3 components"] == 3 and counts["1 component"] == 1
    assert pick_counts(known) == {"P and S": 2, "P only": 1, "S only": 0, "no pick": 1}
    summary = dataset_summary(known)
    assert summary["windows"] == 4 and summary["stations"] == 3 and summary["duration_s"] == 10


def test_metadata_table(known):
    rows = metadata_table(known)
    assert len(rows) == 4
    first = rows[0]
    assert first["station"] == "XX.A" and first["present"] == "ENZ"
    assert first["P (s)"] == 4.0 and first["S-P (s)"] == 2.5 and first["SNR (dB)"] == 20.0
    assert first["start (UTC)"].startswith("1970-01-01T00:00:00")
    assert rows[2]["present"] == "Z" and rows[2]["itp"] is None and rows[2]["SNR (dB)"] is None
    assert rows[3]["S-P (s)"] is None


def test_on_synthetic_data_snr_tracks_the_generator(small_set):
    snr = snr_db(small_set)
    truth = np.array([m["snr_db"] if m["snr_db"] is not None else np.nan for m in small_set.meta])
    ok = np.isfinite(snr) & np.isfinite(truth)
    assert ok.sum() > 20 and np.corrcoef(snr[ok], truth[ok])[0, 1] > 0.7
