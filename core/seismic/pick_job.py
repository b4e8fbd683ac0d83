"""Picking a long continuous record as a queued job (kind "pick") in its own worker process.

Params: {"run_id": picker run, "source": {"synthetic": {"minutes", "seed"}} or {"file": name in
the job folder, "rate": Hz}, "record": index, "options": PickOptions fields}. The worker saves
the stitched probabilities, (samples, 3) float32 [noise, P, S], as probabilities.npy in the job
folder and returns {windows, seconds, sampling_rate, start_time, station, channels, notes}.
A stop request (cancel, SIGTERM) is noticed between batches of windows: the job ends "stopped".
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from core.runs.job_control import JobReporter
from core.seismic.continuous import synthetic_record
from core.seismic.obspy_source import read_stream_file
from core.seismic.picking import Picker, PickingError, PickingResult, PickOptions

KIND = "pick"
PROBABILITIES = "probabilities.npy"


def pick_params(run_id: str, source: dict, record: int, options: PickOptions) -> dict:
    """The params of a pick job (see the module docstring)."""
    options.validate()
    return {
        "run_id": run_id,
        "source": source,
        "record": int(record),
        "options": dataclasses.asdict(options),
    }


def job_records(params: dict, folder: Path) -> list:
    """The ContinuousRecords a pick job reads (the synthetic record, or its saved file)."""
    source = params["source"]
    if "synthetic" in source:
        spec = source["synthetic"]
        return [synthetic_record(float(spec["minutes"]) * 60.0, seed=int(spec["seed"])).record]
    return read_stream_file(folder / source["file"], target_rate=float(source["rate"]))


def run_pick_job(store, job_id: str, params: dict, folder: Path) -> dict:
    """The worker's side: load the picker and the record, pick with progress, save the result."""
    picker = Picker.from_run(store.path.parent / params["run_id"])
    records = job_records(params, folder)
    index = int(params.get("record", 0))
    if not 0 <= index < len(records):
        raise PickingError(f"record {index} does not exist ({len(records)} in the source)")
    record = records[index]
    report = JobReporter(store, job_id)

    def progress(done: int, total: int) -> None:  # raises JobStopped once a stop is requested
        report(done, total, f"window {done:,} of {total:,}")

    report.check()
    result = picker.pick_record(record, PickOptions(**params["options"]), progress)
    tmp = folder / f".{PROBABILITIES}.tmp"
    with open(tmp, "wb") as f:
        np.save(f, result.probabilities.astype(np.float32))
    tmp.replace(folder / PROBABILITIES)  # atomic: a reader never sees half a file
    return {
        "windows": result.windows,
        "seconds": result.seconds,
        "sampling_rate": result.sampling_rate,
        "start_time": result.start_time,
        "station": result.station,
        "channels": list(record.channels),
        "notes": result.notes,
    }


def load_pick_result(folder: Path, result: dict) -> PickingResult:
    """A finished pick job's result, probabilities memory-mapped from the job folder; picks are
    found again by the caller with its thresholds (core.seismic.picking.find_picks)."""
    path = folder / PROBABILITIES
    if not path.is_file():
        raise PickingError(f"{path} is missing: the job's result was removed")
    return PickingResult(
        probabilities=np.load(path, mmap_mode="r"),
        picks=[],
        sampling_rate=float(result["sampling_rate"]),
        start_time=float(result["start_time"]),
        station=result.get("station", ""),
        windows=int(result.get("windows", 0)),
        seconds=float(result.get("seconds", 0.0)),
        notes=list(result.get("notes", [])),
    )
