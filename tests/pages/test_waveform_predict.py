"""Predict page with a picking run (dashboard/waveform_predict.py) and its figure builders."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from streamlit.testing.v1 import AppTest

from core.runs.artifacts import run_task
from core.runs.store import RunStore
from core.seismic.picking import Pick
from dashboard.picking_figures import picking_figure, residual_figure
from tests.core.seismic.picking_helpers import save_tiny_run

APP = Path(__file__).resolve().parents[2] / "dashboard" / "app.py"


def test_picking_figure_rows_marks_and_view():
    rate, n = 100.0, 30_000
    data = np.random.default_rng(0).normal(size=(n, 3)).astype(np.float32)
    probs = np.zeros((n, 3), np.float32)
    probs[:, 0] = 1
    picks = [Pick("P", 1000, 10.0, 0.9), Pick("S", 25_000, 250.0, 0.6)]
    fig = picking_figure(data, probs, rate, 1_700_000_000.0, picks, {"P": [1002]}, max_points=500)
    names = [t.name for t in fig.data]
    assert names[3:5] == ["P probability", "S probability"]
    assert {"P pick (1)", "S pick (1)", "P true (1)"} <= set(names)
    assert all(len(t.x) <= 500 for t in fig.data[:5])  # long data are decimated
    assert str(fig.data[0].x[0]).startswith("2023-11-14T22:13:20")  # absolute UTC axis
    zoomed = picking_figure(data, probs, rate, None, picks, view=(0.0, 60.0), max_points=500)
    assert "S pick (1)" not in [t.name for t in zoomed.data]  # S at 250 s is outside the view
    assert max(zoomed.data[0].x) < 60.0


def test_residual_figure_has_one_histogram_per_phase():
    fig = residual_figure({"P": [0.01, -0.02], "S": []}, 0.5)
    assert [t.name for t in fig.data] == ["P (2)", "S (0)"]
    assert fig.data[0].xbins.start == -0.5


def test_run_task_names_the_view(tmp_path):
    assert run_task(save_tiny_run(tmp_path, "a")) == "picking"
    assert run_task(save_tiny_run(tmp_path, "b", task="classification")) == "classification"
    assert run_task(tmp_path / "missing") is None


def test_predict_page_picks_a_synthetic_record(runs_root):
    store = RunStore(runs_root / "runs.sqlite")
    run_id = store.create_run({"dataset": "synthetic", "model": "phasenet", "epochs": 1})
    store.set_status(run_id, "succeeded")
    save_tiny_run(runs_root, run_id, window=400)
    at = AppTest.from_file(str(APP), default_timeout=120).run()
    at.query_params["run"] = run_id
    at.switch_page("../pages/predict.py").run()
    assert not at.exception, at.exception
    assert "Phase picker" in at.caption[0].value
    at.number_input(key="pk-minutes").set_value(2)
    at.slider(key="pk-p").set_value(0.35)
    at.button(key="pk-run").click().run()
    assert not at.exception, at.exception
    assert len(at.get("plotly_chart")) == 1
    assert len(at.get("download_button")) == 2
    assert any("windows in" in m.value for m in at.markdown)
    json.dumps([m.value for m in at.metric])  # the truth summary rendered
