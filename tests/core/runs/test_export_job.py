"""The export job (core.runs.export_job) run through core.runs.job_worker.run_job on a tiny
trained run: the file lands in the job folder and matches the Keras model; bad params fail with
a message; a job stopped before it starts exports nothing."""

from __future__ import annotations

import pytest

from core.runs.export_job import export_file_name, export_params, exported_file
from core.runs.export_model import ExportError
from core.runs.job_worker import run_job
from core.runs.store import RunStore
from tests.core.runs.job_helpers import run_in_process
from tests.image_run_helpers import save_image_run


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    root = tmp_path_factory.mktemp("export-job-runs")
    save_image_run(root, "classification")
    return root


def only_run(root) -> str:
    return RunStore(root / "runs.sqlite").list_runs()[0].id


def test_a_keras_export_job_leaves_its_file_in_the_job_folder(root):
    run_id = only_run(root)
    store = RunStore(root / "runs.sqlite")
    _, outcome, folder = run_in_process(store, "export", export_params(run_id, "keras"))
    assert outcome["status"] == "succeeded", outcome["error"]
    result = outcome["result"]
    path = exported_file(folder, result)
    assert path == folder / f"{run_id}.keras" and result["file"] == path.name
    assert result["bytes"] == path.stat().st_size > 1000
    assert result["max_abs_diff"] == 0.0 and result["accuracy_diff"] == 0.0
    assert path.read_bytes() == (root / run_id / "model.keras").read_bytes()


def test_a_tflite_int8_export_job(root):
    run_id = only_run(root)
    store = RunStore(root / "runs.sqlite")
    _, outcome, folder = run_in_process(store, "export", export_params(run_id, "tflite", "dynamic"))
    assert outcome["status"] == "succeeded", outcome["error"]
    result = outcome["result"]
    assert (
        result["file"] == f"{run_id}-int8.tflite" == export_file_name({**result, "run_id": run_id})
    )
    assert exported_file(folder, result).stat().st_size == result["bytes"]
    assert 0 < result["max_abs_diff"] < 0.1 and result["quantize"] == "dynamic"


def test_bad_params_and_a_missing_file(root, tmp_path):
    run_id = only_run(root)
    with pytest.raises(ExportError, match="unknown format 'onnx'"):
        export_params(run_id, "onnx")
    with pytest.raises(ExportError, match="only offered for the tflite format"):
        export_params(run_id, "keras", "dynamic")
    store = RunStore(root / "runs.sqlite")
    _, outcome, _ = run_in_process(store, "export", {"run_id": run_id, "format": "onnx"})
    assert outcome["status"] == "failed" and "unknown format 'onnx'" in outcome["error"]
    with pytest.raises(ExportError, match="the exported file is missing"):
        exported_file(tmp_path, {"file": "gone.keras"})


def test_a_job_stopped_before_it_starts_exports_nothing(root):
    run_id = only_run(root)
    store = RunStore(root / "runs.sqlite")
    job_id = store.create_job("export", export_params(run_id, "keras"), owner="")
    store.request_job_stop(job_id)
    assert run_job(store, job_id, root / "jobs" / job_id) == 0
    assert store.job_outcome(job_id)["status"] == "stopped"
    assert not (root / "jobs" / job_id / f"{run_id}.keras").exists()
