"""Run choices name an imported run for what it is ("PhaseNet 2019 (published, imported)");
trained runs keep "ID · model on dataset · name"."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core.config import RunConfig
from core.runs.store import RunStore
from core.seismic.phasenet_import import DATASET
from tests.core.seismic.picking_helpers import save_tiny_run

APP = Path(__file__).resolve().parents[2] / "dashboard" / "app.py"


@pytest.fixture(autouse=True)
def no_login(tmp_path, monkeypatch):
    path = tmp_path / "secrets.toml"
    path.write_text("")
    monkeypatch.setenv("TFLAB_SECRETS", str(path))


def add_picker(runs_root: Path, name: str, dataset: str) -> str:
    store = RunStore(runs_root / "runs.sqlite")
    config = RunConfig.from_dict({"model": "phasenet", "dataset": dataset, "name": name})
    run_id = store.create_run(config.to_dict(), name)
    folder = save_tiny_run(runs_root, run_id)
    (folder / "config.json").write_text(json.dumps(config.to_dict()))
    store.set_final_metrics(run_id, {})
    store.set_status(run_id, "succeeded")
    return run_id


def open_page(page: str, **params) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=90)
    for k, v in params.items():
        at.query_params[k] = v
    at.switch_page(f"../pages/{page}.py").run()
    assert not at.exception, at.exception
    return at


def test_predict_and_train_label_an_imported_run(runs_root):
    imported = add_picker(runs_root, "PhaseNet 2019 (imported model_95.ckpt)", DATASET)
    trained = add_picker(runs_root, "my picker", "synthetic")
    at = open_page("predict", run=trained)
    choice = next(s for s in at.selectbox if s.label == "Run")
    assert choice.options == [
        f"{trained} · phasenet on synthetic · my picker",
        f"{imported} · PhaseNet 2019 (published, imported) · "
        "PhaseNet 2019 (imported model_95.ckpt)",
    ]
    assert not any("on published" in o for o in choice.options)
    at = open_page("train")
    start = next(s for s in at.selectbox if s.label == "Start from a previous run")
    assert f"{imported} · PhaseNet 2019 (published, imported) · " in " ".join(start.options)
    assert f"{trained} · phasenet on synthetic · my picker" in start.options


def test_the_run_panel_caption_says_what_an_imported_run_is(runs_root):
    imported = add_picker(runs_root, "PhaseNet 2019 (imported model_95.ckpt)", DATASET)
    trained = add_picker(runs_root, "my picker", "synthetic")
    captions = {}
    for run_id in (imported, trained):
        at = open_page("train", run=run_id)
        captions[run_id] = next(c.value for c in at.caption if c.value.startswith(f"run {run_id}"))
    assert captions[imported].endswith("· PhaseNet 2019 (published, imported)")
    assert "on published" not in captions[imported] and "batch size" not in captions[imported]
    assert "phasenet on synthetic · batch size" in captions[trained]
