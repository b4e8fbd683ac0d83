"""Evaluating an image run as a queued job (kind "evaluate") in its own worker process.

Params: {"run_id", "dataset" (None = the run's own), "split"}. The worker runs
core.tasks.evaluate_images.evaluate_run with progress, then saves in the job folder
evaluation.json (the whole report, per-example labels and predictions included) and gallery.npz
(the images the page shows: up to GALLERY per confusion cell, the confident mistakes, the worst
reconstructions), "index" (m,) int64 into the split and "images" (m, h, w, c) uint8 (0-255).
The job's result is the report without its per-example lists.
"""

from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.data.registry import data_kind
from core.data.root import resolve_in_data_root
from core.data.types import DatasetError
from core.runs import artifacts
from core.runs.job_control import JobReporter
from core.tasks.evaluate_images import SPLITS, EvaluateError, evaluate_run, load_split

KIND = "evaluate"
REPORT = "evaluation.json"
GALLERY_FILE = "gallery.npz"
GALLERY = 12  # images kept per confusion-matrix cell
PER_EXAMPLE = ("labels", "predicted", "per_image_error")  # left out of the job's result


def evaluate_params(run_id: str, dataset: str | None, split: str) -> dict:
    """The params of an evaluate job; EvaluateError for a split or dataset name that cannot be
    (checked from the name alone, no file is read)."""
    if split not in SPLITS:
        raise EvaluateError(f"unknown split {split!r}; choose one of {', '.join(SPLITS)}")
    if dataset:
        try:
            kind = data_kind(dataset)
        except DatasetError as err:
            raise EvaluateError(str(err)) from None
        if kind != "image":
            raise EvaluateError(f"{dataset} is not an image dataset")
        prefix, _, path = dataset.partition(":")
        if path and prefix != "keras":  # a folder or file: inside the data root, and there
            try:
                resolve_in_data_root(path, must_exist=not any(c in path for c in "*?["))
            except DatasetError as err:
                raise EvaluateError(str(err)) from None
    return {"run_id": run_id, "dataset": dataset or None, "split": split}


def run_evaluate_job(store, job_id: str, params: dict, folder: Path) -> dict:
    """The worker's side: evaluate with progress (stops when asked), save report and gallery."""
    report_progress = JobReporter(store, job_id)
    report_progress(0, 1, "loading the model and the images")

    def progress(done: int, total: int) -> None:  # raises JobStopped once a stop is requested
        report_progress(done, total, f"{done:,} of {total:,} images")

    report = evaluate_run(
        store.path.parent / params["run_id"], params.get("dataset"), params["split"], progress
    )
    report_progress.check()
    images = load_split(report["dataset"], report["split"]).x
    index = gallery_indices(report)
    pixels = np.clip(np.rint(np.asarray(images[index], np.float32) * 255.0), 0, 255)
    tmp = folder / f".{GALLERY_FILE}.tmp"
    with open(tmp, "wb") as f:
        np.savez(f, index=index, images=pixels.astype(np.uint8))
    tmp.replace(folder / GALLERY_FILE)  # atomic: a reader never sees half a file
    artifacts.write_json(folder, REPORT, report)
    return {k: v for k, v in report.items() if k not in PER_EXAMPLE}


def gallery_indices(report: dict, per_cell: int = GALLERY) -> np.ndarray:
    """Sorted example indices the page's galleries need (see the module docstring)."""
    wanted: set[int] = set()
    if report["task"] == "classification":
        taken: dict[tuple[int, int], int] = {}
        for i, cell in enumerate(zip(report["labels"], report["predicted"], strict=True)):
            if taken.get(cell, 0) < per_cell:
                taken[cell] = taken.get(cell, 0) + 1
                wanted.add(i)
        wanted.update(int(m["index"]) for m in report["mistakes"])
    else:
        wanted.update(int(w["index"]) for w in report["worst"])
    return np.array(sorted(wanted), dtype=np.int64)


@dataclass
class Evaluation:
    """A finished evaluate job: its report and the images the galleries show."""

    report: dict
    index: np.ndarray  # (m,) example indices
    images: np.ndarray  # (m, h, w, c) uint8

    def images_of(self, indices) -> tuple[np.ndarray, list[int]]:
        """(images, their indices) of those of `indices` kept in the gallery, in that order."""
        where = {int(i): k for k, i in enumerate(self.index)}
        kept = [int(i) for i in indices if int(i) in where]
        return self.images[[where[i] for i in kept]], kept


def load_evaluation(folder: Path) -> Evaluation:
    """Read a finished evaluate job's files; EvaluateError naming the file if one is unusable."""
    folder = Path(folder)
    path = folder / REPORT
    try:
        report = json.loads(path.read_text())
        if not isinstance(report, dict) or "task" not in report:
            raise ValueError("not an evaluation report")
    except (OSError, ValueError) as err:
        raise EvaluateError(f"{path}: cannot be read ({err})") from None
    path = folder / GALLERY_FILE
    try:
        with np.load(path, allow_pickle=False) as data:
            index, images = np.asarray(data["index"]), np.asarray(data["images"])
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as err:
        raise EvaluateError(f"{path}: cannot be read ({err})") from None
    if len(index) != len(images):
        raise EvaluateError(f"{path}: {len(index)} indices for {len(images)} images")
    return Evaluation(report, index, images)
