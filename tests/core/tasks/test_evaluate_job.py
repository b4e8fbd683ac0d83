"""The evaluate job (core.tasks.evaluate_job) run through core.runs.job_worker.run_job on tiny
trained runs: the saved report equals a direct evaluation, the gallery holds the images the page
shows, bad input fails with a clear message, and a cancel stops the prediction loop."""

from __future__ import annotations

import json

import numpy as np
import pytest

from core.runs import job_control
from core.runs.store import RunStore
from core.tasks.evaluate_images import EvaluateError, evaluate_run, load_split
from core.tasks.evaluate_job import (
    GALLERY,
    GALLERY_FILE,
    REPORT,
    evaluate_params,
    load_evaluation,
)
from tests.core.runs.job_helpers import CancelOnFirstProgress, run_in_process
from tests.image_run_helpers import save_image_run


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("evaluate-job-runs")
    return root, save_image_run(root, "classification"), save_image_run(root, "reconstruction")


def test_a_classifier_job_saves_the_report_and_the_gallery(runs):
    root, cls_run, _ = runs
    store = RunStore(root / "runs.sqlite")
    job_id, outcome, folder = run_in_process(
        store, "evaluate", evaluate_params(cls_run, None, "test")
    )
    assert outcome["status"] == "succeeded", outcome["error"]
    assert outcome["progress"] == 1.0
    direct = evaluate_run(root / cls_run, None, "test")
    saved = json.loads((folder / REPORT).read_text())
    assert saved == json.loads(json.dumps(direct))
    result = outcome["result"]  # the report without its per-example lists
    assert result["accuracy"] == direct["accuracy"] and result["ece"] == direct["ece"]
    assert result["confusion_matrix"] == direct["confusion_matrix"]
    assert "labels" not in result and "predicted" not in result
    evaluation = load_evaluation(folder)
    x = load_split("digits", "test").x
    expected = np.clip(np.rint(x[evaluation.index] * 255), 0, 255).astype(np.uint8)
    assert evaluation.images.dtype == np.uint8 and np.array_equal(evaluation.images, expected)
    # every cell keeps its first GALLERY images; every confident mistake is kept
    labels, predicted = np.array(saved["labels"]), np.array(saved["predicted"])
    matrix = np.array(saved["confusion_matrix"])
    for t, p in zip(*np.nonzero(matrix), strict=True):
        members = np.flatnonzero((labels == t) & (predicted == p))
        _, kept = evaluation.images_of(members)
        assert kept[:GALLERY] == members[:GALLERY].tolist()
    mistakes = [m["index"] for m in saved["mistakes"]]
    assert mistakes and evaluation.images_of(mistakes)[1] == mistakes


def test_an_autoencoder_job_keeps_the_worst_images(runs):
    root, _, ae_run = runs
    store = RunStore(root / "runs.sqlite")
    _, outcome, folder = run_in_process(store, "evaluate", evaluate_params(ae_run, None, "test"))
    assert outcome["status"] == "succeeded", outcome["error"]
    assert outcome["result"]["restored_error"] > 0 and "per_image_error" not in outcome["result"]
    evaluation = load_evaluation(folder)
    worst = [w["index"] for w in evaluation.report["worst"]]
    assert len(worst) == 16 and evaluation.images_of(worst)[1] == worst


def test_bad_input_is_refused_or_fails_with_a_message(runs):
    root, cls_run, _ = runs
    with pytest.raises(EvaluateError, match="unknown dataset 'no-such-set'"):
        evaluate_params(cls_run, "no-such-set", "test")
    with pytest.raises(EvaluateError, match="not an image dataset"):
        evaluate_params(cls_run, "synthetic", "test")
    with pytest.raises(EvaluateError, match="unknown split"):
        evaluate_params(cls_run, None, "dev")
    store = RunStore(root / "runs.sqlite")
    _, outcome, folder = run_in_process(
        store, "evaluate", evaluate_params("no-such-run", None, "test")
    )
    assert outcome["status"] == "failed"
    assert "run no-such-run has no saved model" in outcome["error"]
    assert not (folder / REPORT).exists()


def test_a_broken_result_file_is_named(runs, tmp_path):
    (tmp_path / REPORT).write_text("{not json")
    with pytest.raises(EvaluateError, match=REPORT):
        load_evaluation(tmp_path)
    (tmp_path / REPORT).write_text(json.dumps({"task": "classification"}))
    (tmp_path / GALLERY_FILE).write_bytes(b"PK\x03\x04 truncated")
    with pytest.raises(EvaluateError, match=GALLERY_FILE):
        load_evaluation(tmp_path)


def test_a_cancelled_evaluation_stops_in_its_loop(runs, monkeypatch):
    root, cls_run, _ = runs
    monkeypatch.setattr(job_control, "PROGRESS_EVERY_S", 0.0)  # check at every batch
    store = CancelOnFirstProgress(root / "runs.sqlite")
    _, outcome, folder = run_in_process(
        store, "evaluate", evaluate_params(cls_run, "digits", "all")
    )
    assert store.cancelled == ["stop requested"]
    assert outcome["status"] == "stopped" and outcome["progress"] < 1.0
    assert not (folder / REPORT).exists() and not (folder / GALLERY_FILE).exists()


def test_a_folder_outside_the_data_root_or_missing_is_refused_before_queueing(
    tmp_path, monkeypatch
):
    monkeypatch.setenv("TFLAB_DATA_ROOT", str(tmp_path / "data"))
    (tmp_path / "data" / "mine").mkdir(parents=True)
    with pytest.raises(EvaluateError, match="outside the data root"):
        evaluate_params("any-run", "folder:../../etc", "all")
    with pytest.raises(EvaluateError, match="'gone' not found"):
        evaluate_params("any-run", "folder:gone", "all")
    assert evaluate_params("any-run", "folder:mine", "all")["dataset"] == "folder:mine"
