"""ObsPy files -> continuous records: bundled example data, gaps, rates, components, bad files."""

from __future__ import annotations

import time

import numpy as np
import obspy
import pytest
from obspy.core.util import get_example_file

from core.seismic.obspy_source import (
    WaveformError,
    obspy_filter,
    read_stream_bytes,
    read_stream_file,
    stream_to_records,
    windows_from_record,
)
from core.seismic.windows import NO_PICK

T0 = obspy.UTCDateTime(2020, 1, 1)


def trace(channel, data, rate=100.0, start=T0, station="STA"):
    header = {"network": "XX", "station": station, "channel": channel, "sampling_rate": rate}
    return obspy.Trace(np.asarray(data, np.float32), header={**header, "starttime": start})


def test_bundled_example_stream():
    st = obspy.read()  # BW.RJOB..EH[ZNE], 3000 samples at 100 Hz
    (record,) = stream_to_records(st)
    assert record.station == "BW.RJOB..EH" and record.sampling_rate == 100.0
    assert record.data.shape == (3000, 3) and record.data.dtype == np.float32
    assert record.present == (True, True, True) and record.channels == ("EHE", "EHN", "EHZ")
    np.testing.assert_allclose(record.data[:, 2], st.select(component="Z")[0].data, rtol=1e-6)
    np.testing.assert_allclose(record.data[:, 0], st.select(component="E")[0].data, rtol=1e-6)
    assert record.start_time == st[0].stats.starttime.timestamp and record.notes == []


def test_written_miniseed_and_sac_round_trip(tmp_path):
    st = obspy.read()
    st.write(str(tmp_path / "x.mseed"), format="MSEED")
    (record,) = read_stream_file(tmp_path / "x.mseed")
    assert record.data.shape == (3000, 3) and record.source == "x.mseed"
    st.select(component="Z").write(str(tmp_path / "z.sac"), format="SAC")
    (z_only,) = read_stream_file(tmp_path / "z.sac")
    assert z_only.present == (False, False, True)
    assert any("missing component(s) E, N" in n for n in z_only.notes)
    upload = read_stream_bytes((tmp_path / "x.mseed").read_bytes(), "upload.mseed")
    assert upload[0].source == "upload.mseed" and upload[0].samples == 3000


@pytest.mark.parametrize(
    ("name", "rate", "present"),
    [
        ("gaps.mseed", 200.0, (True, False, False)),  # MiniSEED with 3 gaps
        ("test.sac", 1.0, (False, False, True)),  # SAC, component code Q
        ("loc_RJOB20050831023349.z", 200.0, (False, False, True)),  # GSE2
        ("1.sgy_first_trace", 4000.0, (False, False, True)),  # SEG-Y, no codes
    ],
)
def test_obspy_bundled_files(name, rate, present):
    records = read_stream_file(get_example_file(name))
    assert len(records) == 1
    assert records[0].sampling_rate == rate and records[0].present == present
    if name == "gaps.mseed":
        note = next(n for n in records[0].notes if "gap" in n)
        assert note.startswith("E: 3 gap(s)") and "filled with zeros" in note
    if name in ("test.sac", "1.sgy_first_trace"):
        assert any("shown as Z" in n for n in records[0].notes)


def test_thousands_of_gaps_are_fast():
    pieces = [trace("HHZ", np.ones(100), start=T0 + 1.5 * k) for k in range(2001)]
    start = time.perf_counter()
    (record,) = stream_to_records(obspy.Stream(pieces))
    assert time.perf_counter() - start < 2.0
    assert record.samples == 2000 * 150 + 100
    assert record.data[:100, 2].sum() == 100 and record.data[100:150, 2].sum() == 0
    assert any(n.startswith("Z: 2,000 gap(s)") and "1,997 more" in n for n in record.notes)


def test_overlap_keeps_later_trace():
    st = obspy.Stream([trace("HHZ", np.ones(200)), trace("HHZ", 2 * np.ones(200), start=T0 + 1)])
    (record,) = stream_to_records(st)
    assert record.samples == 300 and record.data[150, 2] == 2 and record.data[50, 2] == 1
    assert any("overlap" in n for n in record.notes)


def test_mixed_rates_resampled_to_most_common_and_12z_mapped():
    t = np.arange(6000) / 100.0
    sine = np.sin(2 * np.pi * 1.0 * t)
    st = obspy.Stream(
        [
            trace("HHZ", sine),
            trace("HH1", sine),
            trace("HH2", np.sin(2 * np.pi * 1.0 * np.arange(12000) / 200.0), rate=200.0),
        ]
    )
    (record,) = stream_to_records(st)
    assert record.sampling_rate == 100.0 and record.channels == ("HH1", "HH2", "HHZ")
    assert record.samples == 6000
    mid = slice(500, 5500)
    np.testing.assert_allclose(record.data[mid, 1], record.data[mid, 2], atol=0.02)
    assert any("resampled 200 Hz -> 100 Hz" in n for n in record.notes)
    (forced,) = stream_to_records(st, target_rate=50.0)
    assert forced.sampling_rate == 50.0 and forced.samples == 3000


def test_stations_are_separate_records():
    st = obspy.Stream([trace("HHZ", np.ones(10)), trace("HHZ", np.ones(10), station="OTHER")])
    assert [r.station for r in stream_to_records(st)] == ["XX.OTHER..HH", "XX.STA..HH"]


def test_nan_samples_cleaned_or_refused():
    data = np.ones(100)
    data[[3, 7]] = np.nan
    st = obspy.Stream([trace("HHZ", data)])
    (record,) = stream_to_records(st)
    assert np.isfinite(record.data).all() and record.data[3, 2] == 0
    assert any("2 NaN/Inf samples set to zero" in n for n in record.notes)
    with pytest.raises(WaveformError, match="NaN or infinite"):
        stream_to_records(st, nan_policy="refuse")


def test_unreadable_files_give_clear_errors(tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("station list\nABC 1 2\n")
    with pytest.raises(WaveformError, match="not a seismic format this server reads"):
        read_stream_file(text)
    (tmp_path / "empty.mseed").write_bytes(b"")
    with pytest.raises(WaveformError, match="empty"):
        read_stream_file(tmp_path / "empty.mseed")
    with pytest.raises(WaveformError, match="not found"):
        read_stream_file(tmp_path / "missing.mseed")
    with pytest.raises(WaveformError, match="larger than the limit"):
        read_stream_file(get_example_file("gaps.mseed"), max_bytes=1000)
    far = obspy.Stream([trace("HHZ", np.ones(10)), trace("HHZ", np.ones(10), start=T0 + 86400)])
    with pytest.raises(WaveformError, match="cut the file into shorter pieces"):
        stream_to_records(far, max_samples=1_000_000)


def test_windows_from_record():
    (record,) = stream_to_records(obspy.read())
    wset = windows_from_record(record, length=1000, step=500)
    assert wset.data.shape == (5, 1000, 3) and (wset.itp == NO_PICK).all()
    assert wset.meta[1]["start_time"] == pytest.approx(record.start_time + 5.0)
    np.testing.assert_array_equal(wset.data[1], record.data[500:1500])
    short = windows_from_record(record, length=4000, step=100)
    assert len(short) == 1 and np.all(short.data[0, 3000:] == 0)


def test_obspy_filter():
    t = np.arange(3000) / 100.0
    data = np.zeros((3000, 3), np.float32)
    data[:, 2] = 5 + np.sin(2 * np.pi * 0.05 * t) + np.sin(2 * np.pi * 5 * t)
    out, notes = obspy_filter(data, 100.0, "linear", 0.05, "bandpass", 2.0, 10.0)
    assert out.dtype == np.float32 and not out[:, :2].any() and notes == []
    mid = out[500:2500, 2]
    assert abs(mid.mean()) < 0.05 and 0.6 < mid.std() / np.sqrt(0.5) < 1.1  # 5 Hz kept
    _, notes = obspy_filter(data, 100.0, kind="lowpass", freqmax=80.0)
    assert "below Nyquist" in notes[0]
    with pytest.raises(ValueError, match="below the upper"):
        obspy_filter(data, 100.0, kind="bandpass", freqmin=10.0, freqmax=5.0)


def test_ascii_encoded_miniseed_names_the_file(tmp_path):
    text = np.frombuffer(b"hello seismic world " * 50, dtype="S1")
    obspy.Trace(text, header={"station": "A", "channel": "HHZ"}).write(
        str(tmp_path / "notes.mseed"), format="MSEED", encoding="ASCII"
    )
    with pytest.raises(WaveformError, match=r"notes.mseed: .*hold text \(e.g. ASCII-encoded"):
        read_stream_file(tmp_path / "notes.mseed")


def test_a_long_slow_trace_is_refused_before_resampling(tmp_path, monkeypatch):
    """80 h at 0.1 Hz beside a 100 Hz trace: refused from the headers, nothing resampled."""
    import core.seismic.obspy_source as source

    def no_resampling(*args):
        raise AssertionError("resampled before the length check")

    monkeypatch.setattr(source, "resample", no_resampling)
    slow = trace("LHZ", np.ones(int(80 * 3600 * 0.1)), rate=0.1, station="B")
    fast = trace("HHZ", np.ones(300_000), rate=100.0, station="B")
    obspy.Stream([slow, fast]).write(str(tmp_path / "slow.mseed"), format="MSEED")
    with pytest.raises(WaveformError, match="slow.mseed XX.B..[LH]H: the traces span 80.0 h"):
        read_stream_file(tmp_path / "slow.mseed")
