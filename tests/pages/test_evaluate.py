"""Evaluate page (pages/evaluate.py) through AppTest: a classifier's diagnostics, a confusion
cell's images, an autoencoder's errors, and an export with its download button."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.image_run_helpers import save_image_run
from tests.pages.helpers import widget

APP = Path(__file__).resolve().parents[2] / "dashboard" / "app.py"


@pytest.fixture(scope="module")
def image_runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("evaluate-page-runs")
    return root, save_image_run(root, "classification"), save_image_run(root, "reconstruction")


@pytest.fixture
def runs(image_runs, monkeypatch):
    monkeypatch.setenv("TFLAB_RUNS_DIR", str(image_runs[0]))
    return image_runs


def open_evaluate(run_id: str | None = None) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=120).run()
    if run_id:
        at.query_params["run"] = run_id
    at.switch_page("../pages/evaluate.py").run()
    assert not at.exception, at.exception
    assert [t.value for t in at.title] == ["Evaluate"]
    return at


def test_no_runs(runs_root):
    at = open_evaluate()
    assert "No trained image model yet" in at.info[0].value
    assert len(at.button) == 0


def test_classifier_diagnostics(runs):
    root, cls_run, _ = runs
    at = open_evaluate(cls_run)
    assert widget(at.selectbox, "Split").value == "test"
    assert len(at.metric) == 0  # nothing computed before the button
    widget(at.button, "Evaluate").click().run()
    assert not at.exception, at.exception
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


def test_autoencoder_errors(runs):
    root, _, ae_run = runs
    at = open_evaluate(ae_run)
    widget(at.button, "Evaluate").click().run()
    assert not at.exception, at.exception
    assert "Reconstruction error (MAE)" in [m.label for m in at.metric]
    (chart,) = at.get("plotly_chart")
    assert json.loads(chart.proto.spec)["data"][0]["type"] == "bar"
    assert len(at.image) == 12


def test_bad_dataset_shows_an_error(runs):
    root, cls_run, _ = runs
    at = open_evaluate(cls_run)
    widget(at.text_input, "Dataset (its own, or any labelled folder: folder:<path>)").input(
        "no-such-set"
    ).run()
    widget(at.button, "Evaluate").click().run()
    assert not at.exception, at.exception
    assert len(at.error) == 1 and "no-such-set" in at.error[0].value


def test_export_keras_offers_a_download(runs):
    root, cls_run, _ = runs
    at = open_evaluate(cls_run)
    assert widget(at.selectbox, "Format").value == "Keras (.keras)"
    widget(at.button, "Export").click().run()
    assert not at.exception, at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Largest difference from Keras"] == "0"
    assert len(at.get("download_button")) == 1
