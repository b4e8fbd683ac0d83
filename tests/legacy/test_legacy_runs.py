"""Runs written before the core restructure still open, compare, predict, pick and resume.

tests/data/legacy_runs/ was written by commit f15930f's code (tests/legacy/make_legacy_runs.py).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from core.data.registry import load_dataset
from core.runs import artifacts, compare, launcher
from core.runs.queries import runs_with_models
from core.seismic.picking import Picker
from core.tasks.image_predict import load_run_model, predict_top_k
from tests.conftest import wait_for_end

LEGACY = Path(__file__).resolve().parents[1] / "data" / "legacy_runs"
APP = Path(__file__).resolve().parents[2] / "dashboard" / "app.py"


@pytest.fixture
def legacy(tmp_path, monkeypatch):
    """(runs folder, {status/model: run id}) of a fresh copy of the legacy runs."""
    root = tmp_path / "runs"
    shutil.copytree(LEGACY, root)
    monkeypatch.setenv("TFLAB_RUNS_DIR", str(root))
    store = launcher.open_store(root)
    ids = {f"{r.status}/{r.model}": r.id for r in store.list_runs()}
    return root, ids


def test_the_store_and_folders_open(legacy):
    root, ids = legacy
    assert set(ids) == {"succeeded/cnn", "succeeded/phasenet", "interrupted/cnn"}
    store = launcher.open_store(root)
    for run_id in ids.values():
        assert store.epoch_metrics(run_id), run_id
    assert {r.id for r in runs_with_models(store, root)} == {
        ids["succeeded/cnn"],
        ids["succeeded/phasenet"],
    }
    assert artifacts.run_task(root / ids["succeeded/cnn"]) == "classification"
    assert artifacts.run_task(root / ids["succeeded/phasenet"]) == "picking"
    assert artifacts.run_task(root / ids["interrupted/cnn"]) is None


def test_compare_the_legacy_runs(legacy):
    root, ids = legacy
    store = launcher.open_store(root)
    configs = [store.get_run(i).config for i in ids.values()]
    assert {"dataset", "epochs", "model"} <= set(compare.differing_keys(configs))
    rows = store.epoch_metrics(ids["succeeded/cnn"])
    assert compare.best_metric(rows, "val_accuracy") is not None


def test_predict_and_pick_with_the_legacy_models(legacy):
    root, ids = legacy
    loaded = load_run_model(root / ids["succeeded/cnn"])
    data = load_dataset("digits")
    top = predict_top_k(loaded, data.x_test[:4], k=3)
    assert len(top) == 4 and all(len(t) == 3 for t in top)
    assert all(abs(sum(c["probability"] for c in t) - 1) < 1.0 for t in top)
    picker = Picker.from_run(root / ids["succeeded/phasenet"])
    probs = picker.predict(np.zeros((2, picker.window, 3), np.float32))
    assert probs.shape == (2, picker.window, 3)
    np.testing.assert_allclose(probs.sum(axis=-1), 1.0, atol=1e-4)


def test_resume_the_interrupted_legacy_run(legacy):
    root, ids = legacy
    run_id = ids["interrupted/cnn"]
    store = launcher.open_store(root)
    done_before = [e["epoch"] for e in store.epoch_metrics(run_id)]
    assert done_before and max(done_before) < 2
    launcher.resume(run_id, root)
    run = wait_for_end(store, run_id, timeout=300)
    assert run.status == "succeeded", run.error
    assert [e["epoch"] for e in store.epoch_metrics(run_id)] == [0, 1, 2]
    assert artifacts.has_model(root / run_id)


def test_predict_page_opens_a_legacy_picker(legacy, monkeypatch):
    from dashboard.widgets import get_store

    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "-1")
    get_store.clear()
    _, ids = legacy
    at = AppTest.from_file(str(APP), default_timeout=120).run()
    at.query_params["run"] = ids["succeeded/phasenet"]
    at.switch_page("../pages/predict.py").run()
    assert not at.exception, at.exception
    assert "Phase picker" in at.caption[0].value
    get_store.clear()
