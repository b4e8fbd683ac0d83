"""Picks to CSV and to QuakeML (an ObsPy Catalog holding one event with the unassociated picks).

CSV columns: station, phase, time (ISO 8601 UTC), probability, sample (plus channel).
QuakeML: each pick gets a WaveformStreamID (network, station, location, channel from the
record's NET.STA.LOC.BI code and the pick's channel), phase_hint, time, evaluation_mode
"automatic", a method_id naming the model, creation info, and its probability as a comment
("probability=0.873") since QuakeML has no field for it.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from pathlib import Path

from core.seismic.picking import Pick

CSV_COLUMNS = ("station", "phase", "time", "probability", "sample", "channel")
AUTHOR = "tflab picker"


def picks_to_csv(picks: Iterable[Pick], path: str | Path | None = None) -> str:
    """Write picks as CSV (to `path` if given); returns the CSV text."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for p in picks:
        writer.writerow(
            [p.station, p.phase, p.time_iso, f"{p.probability:.4f}", p.sample, p.channel]
        )
    text = buffer.getvalue()
    if path is not None:
        Path(path).write_text(text)
    return text


def stream_id(station: str, channel: str = ""):
    """obspy WaveformStreamID from "NET.STA.LOC.BI" (or "NET.STA", "STA") and a channel code."""
    from obspy.core.event import WaveformStreamID

    parts = station.split(".")
    if len(parts) == 1:
        parts = ["", parts[0]]
    network, code = parts[0], parts[1]
    location = parts[2] if len(parts) > 2 else ""
    band = parts[3] if len(parts) > 3 else ""
    if not channel and band:
        channel = band  # unknown component: the band + instrument code alone
    return WaveformStreamID(
        network_code=network, station_code=code, location_code=location, channel_code=channel
    )


def picks_to_catalog(picks: Iterable[Pick], model_name: str = "phasenet", run_id: str = ""):
    """An obspy Catalog with one Event that holds every pick (no origin: picks only)."""
    from obspy import UTCDateTime
    from obspy.core.event import Catalog, Comment, CreationInfo, Event, ResourceIdentifier
    from obspy.core.event import Pick as QuakePick

    created = UTCDateTime()
    info = CreationInfo(author=AUTHOR, creation_time=created, version=run_id or None)
    method = ResourceIdentifier(f"smi:local/tflab/{model_name}/{run_id or 'model'}")
    event = Event(
        resource_id=ResourceIdentifier(prefix="smi:local/tflab/event"),
        event_type="not reported",
        creation_info=info,
        comments=[Comment(text=f"automatic, unassociated picks by {model_name} {run_id}".strip())],
    )
    for p in picks:
        event.picks.append(
            QuakePick(
                resource_id=ResourceIdentifier(prefix="smi:local/tflab/pick"),
                time=UTCDateTime(p.time),
                waveform_id=stream_id(p.station, p.channel),
                phase_hint=p.phase,
                evaluation_mode="automatic",
                method_id=method,
                creation_info=CreationInfo(author=AUTHOR, creation_time=created),
                comments=[Comment(text=f"probability={p.probability:.4f}")],
            )
        )
    return Catalog(events=[event], creation_info=info, description="tflab automatic picks")


def picks_to_quakeml(
    picks: Iterable[Pick], path: str | Path | None = None, model_name="phasenet", run_id=""
) -> bytes:
    """QuakeML bytes (written to `path` if given)."""
    catalog = picks_to_catalog(picks, model_name, run_id)
    buffer = io.BytesIO()
    catalog.write(buffer, format="QUAKEML")
    data = buffer.getvalue()
    if path is not None:
        Path(path).write_bytes(data)
    return data
