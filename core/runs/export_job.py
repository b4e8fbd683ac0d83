"""Exporting a run's model as a queued job (kind "export") in its own worker process.

Params: {"run_id", "format": keras|savedmodel|tflite, "quantize": None|"dynamic"}. The worker
calls core.runs.export_model.export_run, writing the file into the job folder (e.g.
<run>-int8.tflite), and returns ExportResult.to_dict() (path, bytes, max_abs_diff, accuracies,
seconds) plus "file", the exported file's name in the job folder. A stop request is noticed
before the export starts and when it ends (one export is not interrupted half-way).
"""

from __future__ import annotations

from pathlib import Path

from core.runs.export_model import FORMATS, QUANTIZE, SUFFIX, ExportError, export_run
from core.runs.job_control import JobReporter

KIND = "export"
LABELS = {"keras": ".keras", "savedmodel": "SavedModel zip", "tflite": "TFLite"}


def export_params(run_id: str, fmt: str, quantize: str | None = None) -> dict:
    """The params of an export job; ExportError for a format the exporter does not offer."""
    if fmt not in FORMATS:
        raise ExportError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    if quantize not in QUANTIZE:
        raise ExportError(f"unknown quantisation {quantize!r}; only 'dynamic' is offered")
    if quantize and fmt != "tflite":
        raise ExportError("quantisation is only offered for the tflite format")
    return {"run_id": run_id, "format": fmt, "quantize": quantize}


def export_label(params: dict) -> str:
    """'TFLite (dynamic-range int8)' etc., for job labels and messages."""
    label = LABELS.get(params["format"], params["format"])
    return label + (" (dynamic-range int8)" if params.get("quantize") else "")


def export_file_name(params: dict) -> str:
    """The exported file's name: <run id>[-int8]<suffix>."""
    int8 = "-int8" if params.get("quantize") else ""
    return f"{params['run_id']}{int8}{SUFFIX[params['format']]}"


def run_export_job(store, job_id: str, params: dict, folder: Path) -> dict:
    """The worker's side: export into the job folder and check it against the Keras model."""
    params = export_params(params["run_id"], params["format"], params.get("quantize"))
    report = JobReporter(store, job_id)
    report(0, 1, f"exporting {export_label(params)} and loading it back")
    name = export_file_name(params)
    result = export_run(
        store.path.parent / params["run_id"], params["format"], folder / name, params["quantize"]
    )
    report.check()
    return {**result.to_dict(), "file": name}


def exported_file(folder: Path, result: dict) -> Path:
    """The finished job's exported file; ExportError naming it if it is missing."""
    path = Path(folder) / Path(str(result.get("file", ""))).name
    if not result.get("file") or not path.is_file():
        raise ExportError(f"{path}: the exported file is missing (was the job folder cleaned?)")
    return path
