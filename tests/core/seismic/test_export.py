"""Picks to CSV and QuakeML; QuakeML is read back with obspy.read_events."""

from __future__ import annotations

import csv
import io

import obspy
import pytest
from obspy import UTCDateTime

from core.seismic.export import picks_to_csv, picks_to_quakeml, stream_id
from core.seismic.picking import Pick

T0 = UTCDateTime("2024-03-01T12:00:00").timestamp
PICKS = [
    Pick("P", 1234, T0 + 12.34, 0.91, "NC.KCT..HH", "HHZ"),
    Pick("S", 1890, T0 + 18.9, 0.55, "NC.KCT..HH", "HHN"),
    Pick("P", 40, T0 + 0.4, 0.42, "BW.RJOB.00.EH", ""),
]


def test_csv_has_one_row_per_pick_with_iso_times(tmp_path):
    path = tmp_path / "picks.csv"
    text = picks_to_csv(PICKS, path)
    assert path.read_text() == text
    rows = list(csv.DictReader(io.StringIO(text)))
    assert list(rows[0]) == ["station", "phase", "time", "probability", "sample", "channel"]
    assert rows[0] == {
        "station": "NC.KCT..HH",
        "phase": "P",
        "time": "2024-03-01T12:00:12.340000Z",
        "probability": "0.9100",
        "sample": "1234",
        "channel": "HHZ",
    }
    assert [r["phase"] for r in rows] == ["P", "S", "P"]


def test_csv_of_no_picks_is_a_header():
    assert picks_to_csv([]) == "station,phase,time,probability,sample,channel\n"


def test_quakeml_round_trip(tmp_path):
    path = tmp_path / "picks.xml"
    data = picks_to_quakeml(PICKS, path, model_name="phasenet", run_id="run-7")
    assert path.read_bytes() == data
    catalog = obspy.read_events(str(path))
    assert len(catalog) == 1
    event = catalog[0]
    assert len(event.picks) == 3
    first, second, third = event.picks
    assert first.time == UTCDateTime(T0 + 12.34)
    assert first.phase_hint == "P" and second.phase_hint == "S"
    assert first.evaluation_mode == "automatic"
    wid = first.waveform_id
    assert (wid.network_code, wid.station_code, wid.location_code, wid.channel_code) == (
        "NC",
        "KCT",
        "",
        "HHZ",
    )
    assert second.waveform_id.channel_code == "HHN"
    assert third.waveform_id.location_code == "00"
    assert third.waveform_id.channel_code == "EH"  # unknown component: band + instrument only
    assert first.creation_info.author == "tflab picker"
    assert first.method_id.id.endswith("phasenet/run-7")
    assert first.comments[0].text == "probability=0.9100"
    assert catalog.creation_info.version == "run-7"
    assert len({p.resource_id.id for p in event.picks}) == 3


def test_quakeml_of_no_picks_is_readable():
    catalog = obspy.read_events(io.BytesIO(picks_to_quakeml([])))
    assert len(catalog) == 1 and len(catalog[0].picks) == 0


@pytest.mark.parametrize(
    "station, channel, expected",
    [
        ("NC.KCT..HH", "HHZ", ("NC", "KCT", "", "HHZ")),
        ("NC.KCT", "", ("NC", "KCT", "", "")),
        ("KCT", "BHZ", ("", "KCT", "", "BHZ")),
    ],
)
def test_stream_id_parsing(station, channel, expected):
    wid = stream_id(station, channel)
    assert (wid.network_code, wid.station_code, wid.location_code, wid.channel_code) == expected
