"""Evaluate page (pages/evaluate.py) through AppTest: Evaluate and Export queue jobs (the page
runs no model); the test runs each job in-process through core.runs.job_worker.run_job, then the
page draws the saved result: a classifier's diagnostics and a confusion cell's images, an
autoencoder's errors, an export's download; a shared ?job= link finds the result again."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core.access import os_user
from core.runs import launcher, scheduler
from core.runs.job_worker import run_job
from core.runs.store import RunStore
from tests.image_run_helpers import save_image_run
from tests.pages.helpers import widget

APP = Path(__file__).resolve().parents[2] / "dashboard" / "app.py"
DATASET = "Dataset (its own, or any labelled folder: folder:<path>)"


@pytest.fixture(scope="module")
def image_runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("evaluate-page-runs")
    return root, save_image_run(root, "classification"), save_image_run(root, "reconstruction")


@pytest.fixture
def runs(image_runs, monkeypatch):
    """The runs folder, with no worker or scheduler process started: the test runs the jobs."""
    monkeypatch.setenv("TFLAB_RUNS_DIR", str(image_runs[0]))
    monkeypatch.setattr(launcher, "_spawn", lambda store, job_id, root: None)
    monkeypatch.setattr(scheduler, "ensure_scheduler", lambda root: None)
    return image_runs


def open_evaluate(**query: str) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=120).run()
    for key, value in query.items():
        at.query_params[key] = value
    at.switch_page("../pages/evaluate.py").run()
    assert not at.exception, at.exception
    assert [t.value for t in at.title] == ["Evaluate"]
    return at


def run_queued(root: Path, job_id: str) -> dict:
    store = RunStore(root / "runs.sqlite")
    run_job(store, job_id, root / "jobs" / job_id)
    return store.job_outcome(job_id)


def submitted(at: AppTest, root: Path, key: str, kind: str):
    job_id = at.query_params[key]
    job = RunStore(root / "runs.sqlite").get_job(job_id)
    assert job.kind == kind and job.status == "queued" and job.owner == os_user()
    assert any("Waiting in the queue" in i.value for i in at.info)
    assert any(b.label == "Cancel" for b in at.button)
    assert len(at.metric) == 0  # the page computed nothing itself
    return job


def test_no_runs(runs_root):
    at = open_evaluate()
    assert "No trained image model yet" in at.info[0].value
    assert len(at.button) == 0


def test_classifier_job_then_its_diagnostics_and_a_shared_link(runs):
    root, cls_run, _ = runs
    at = open_evaluate(run=cls_run)
    assert widget(at.selectbox, "Split").value == "test"
    assert len(at.metric) == 0
    widget(at.button, "Evaluate").click().run()
    assert not at.exception, at.exception
    job = submitted(at, root, "job", "evaluate")
    assert job.params == {"run_id": cls_run, "dataset": "digits", "split": "test"}
    assert run_queued(root, job.id)["status"] == "succeeded"
    at.run()
    assert not at.exception, at.exception
    check_diagnostics(at)
    # a refresh or a shared link with only the job id finds the run, its split and its result
    shared = open_evaluate(job=job.id)
    assert widget(shared.selectbox, "Run").value == cls_run
    assert any(job.id in m.value for m in shared.markdown)
    check_diagnostics(shared)


def check_diagnostics(at: AppTest) -> None:
    metrics = {m.label: m.value for m in at.metric}
    assert {"Accuracy", "Macro F1", "ECE", "Images"} <= set(metrics)
    accuracy = float(metrics["Accuracy"].rstrip("%")) / 100
    assert 0.3 < accuracy <= 1.0
    specs = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    heat = next(s for s in specs if s["data"][0]["type"] == "heatmap")
    matrix = heat["data"][0]["z"]
    assert len(matrix) == 10 and sum(map(sum, matrix)) == int(metrics["Images"].replace(",", ""))
    assert any("ECE" in (s["layout"].get("title", {}).get("text") or "") for s in specs)
    # the cell selectbox lists off-diagonal cells, largest first; its images are shown
    cell = widget(at.selectbox, "Show the images of a cell (or click one in the matrix)")
    t, p = cell.value
    assert t != p
    count = matrix[t][p]
    assert any(f": {count} images" in c.value for c in at.caption)
    assert len(at.image) >= min(count, 12)


def test_autoencoder_job_errors(runs):
    root, _, ae_run = runs
    at = open_evaluate(run=ae_run)
    widget(at.button, "Evaluate").click().run()
    job = submitted(at, root, "job", "evaluate")
    assert run_queued(root, job.id)["status"] == "succeeded"
    at.run()
    assert not at.exception, at.exception
    assert "Reconstruction error (MAE)" in [m.label for m in at.metric]
    (chart,) = at.get("plotly_chart")
    assert json.loads(chart.proto.spec)["data"][0]["type"] == "bar"
    assert len(at.image) == 12


def test_bad_dataset_is_refused_before_a_job(runs):
    root, cls_run, _ = runs
    before = len(RunStore(root / "runs.sqlite").active_jobs())
    at = open_evaluate(run=cls_run)
    widget(at.text_input, DATASET).input("no-such-set").run()
    widget(at.button, "Evaluate").click().run()
    assert not at.exception, at.exception
    assert len(at.error) == 1 and "no-such-set" in at.error[0].value
    assert "job" not in at.query_params
    assert len(RunStore(root / "runs.sqlite").active_jobs()) == before


def test_a_failed_job_says_why(runs, tmp_path, monkeypatch):
    root, cls_run, _ = runs
    monkeypatch.setenv("TFLAB_DATA_ROOT", str(tmp_path))
    at = open_evaluate(run=cls_run)
    widget(at.text_input, DATASET).input(f"folder:{tmp_path}/missing").run()
    widget(at.button, "Evaluate").click().run()
    (refused,) = at.error  # a folder that is not there is refused before any job is queued
    assert "not found" in refused.value and str(tmp_path / "missing") in refused.value
    assert not at.query_params.get("job")
    (tmp_path / "empty").mkdir()  # there, but the worker finds no images in it
    widget(at.text_input, DATASET).input(f"folder:{tmp_path}/empty").run()
    widget(at.button, "Evaluate").click().run()
    job = submitted(at, root, "job", "evaluate")
    assert run_queued(root, job.id)["status"] == "failed"
    at.run()
    assert not at.exception, at.exception
    (error,) = at.error
    assert error.value.startswith("The evaluation job failed:"), error.value
    assert str(tmp_path / "empty") in error.value and "Error:" not in error.value


def test_export_job_offers_a_download(runs):
    root, cls_run, _ = runs
    at = open_evaluate(run=cls_run)
    assert widget(at.selectbox, "Format").value == "Keras (.keras)"
    widget(at.button, "Export").click().run()
    assert not at.exception, at.exception
    job = submitted(at, root, "export", "export")
    assert job.params == {"run_id": cls_run, "format": "keras", "quantize": None}
    assert len(at.get("download_button")) == 0
    assert run_queued(root, job.id)["status"] == "succeeded"
    at.run()
    assert not at.exception, at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Largest difference from Keras"] == "0"
    assert metrics["Size"].endswith(("kB", "MiB"))
    (download,) = at.get("download_button")
    assert f"{cls_run}.keras" in download.proto.label
