"""P/S F1 as the headline of picker runs: Train's tiles, Home's and Compare's tables, Compare's
best validation metric; image runs keep accuracy; an imported run without scores says so."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core.config import RunConfig
from core.runs.store import RunStore
from core.tasks.picker_summary import save_evaluation
from tests.conftest import TINY
from tests.core.seismic.picking_helpers import save_tiny_run
from tests.core.tasks.test_picker_summary import IMPORTED, report
from tests.pages.helpers import widget

APP = Path(__file__).resolve().parents[2] / "dashboard" / "app.py"
PICK = {"val_p_f1_0.5s": 0.61, "val_s_f1_0.5s": 0.72, "val_p_f1_0.1s": 0.41}
PICK |= {"val_s_f1_0.1s": 0.52, "val_p_precision_0.5s": 0.5, "val_p_recall_0.5s": 0.8}


@pytest.fixture(autouse=True)
def no_login(tmp_path, monkeypatch):
    path = tmp_path / "secrets.toml"
    path.write_text("")
    monkeypatch.setenv("TFLAB_SECRETS", str(path))


@pytest.fixture
def store(runs_root) -> RunStore:
    return RunStore(runs_root / "runs.sqlite")


def add_run(store, name, final, epochs_rows=(), **config):
    full = RunConfig.from_dict({**TINY, "name": name, **config}).to_dict()
    run_id = store.create_run(full, name)
    (store.path.parent / run_id).mkdir()
    (store.path.parent / run_id / "config.json").write_text(json.dumps(full))
    for epoch, row in enumerate(epochs_rows):
        store.add_epoch_metrics(run_id, epoch, row)
    store.set_final_metrics(run_id, final)
    store.set_status(run_id, "succeeded")
    return run_id


def picker_config():
    return {"model": "phasenet", "dataset": "synthetic", "model_settings": {}}


def open_page(page: str, **params) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=60)
    for k, v in params.items():
        at.query_params[k] = v
    at.switch_page(f"../pages/{page}.py").run()
    assert not at.exception, at.exception
    return at


def metric_labels(at) -> list[str]:
    return [m.label for m in at.metric]


def test_train_page_tiles(store, runs_root):
    final = {"val_accuracy": 0.97, "loss": 0.1, **PICK}
    picker = add_run(store, "picker", final, **picker_config())
    at = open_page("train", run=picker)
    labels = metric_labels(at)
    assert labels[:4] == ["P F1 at 0.5 s", "S F1 at 0.5 s", "P F1 at 0.1 s", "S F1 at 0.1 s"]
    assert "val accuracy" not in labels  # a picker's per-sample accuracy is not shown
    assert at.metric[0].value == "0.610"
    assert "P 0.50 · R 0.80" in at.metric[0].delta
    imported = add_run(store, "imported", {}, **{**picker_config(), "dataset": IMPORTED})
    at = open_page("train", run=imported)
    assert not any(m.label.startswith("P F1") for m in at.metric)
    assert any("No pick scores yet" in i.value for i in at.info)
    save_evaluation(runs_root / imported, report("phasenet:ncedc-sample (all)"), IMPORTED)
    at = open_page("train", run=imported)
    assert at.metric[0].label == "P F1 at 0.5 s" and at.metric[0].value == "0.900"
    assert any("evaluation on phasenet:ncedc-sample (all)" in c.value for c in at.caption)
    image = add_run(store, "image", {"val_accuracy": 0.9, "loss": 0.3})
    at = open_page("train", run=image)
    assert "val accuracy" in metric_labels(at) and "P F1 at 0.5 s" not in metric_labels(at)


def test_home_and_compare_tables_and_best_metric(store):
    rows = [{"loss": 1.0 - e / 10, "val_loss": 1.1, "val_p_f1_0.5s": 0.2 + e / 5} for e in (0, 1)]
    a = add_run(store, "pick-a", {"val_accuracy": 0.97, **PICK}, rows, **picker_config())
    weak = [{**r, "val_p_f1_0.5s": 0.1} for r in rows]
    b = add_run(store, "pick-b", {}, weak, learning_rate=0.01, **picker_config())
    image = add_run(store, "image", {"val_accuracy": 0.9})
    home = open_page("home")
    frame = home.dataframe[0].value.set_index("run")
    assert frame.loc[a, "P F1"] == 0.61 and frame.loc[a, "S F1"] == 0.72
    assert frame.loc[a, "F1 on"] == "validation"
    assert frame.loc[image, "val accuracy"] == 0.9
    assert frame.loc[a, "val accuracy"] != 0.97  # the picker's accuracy cell stays empty
    compare = open_page("compare", runs=f"{a},{b}")
    assert "P F1" in compare.dataframe[0].value.columns
    hyper = widget(compare.tabs, "Hyperparameters")
    choice = widget(hyper.selectbox, "Best validation metric")
    assert choice.options[:4] == ["val_p_f1_0.5s", "val_s_f1_0.5s", "val_p_f1_0.1s"] + [
        "val_s_f1_0.1s"
    ]
    assert choice.value == "val_p_f1_0.5s"
    spec = json.loads(hyper.get("plotly_chart")[0].proto.spec)
    dims = {d["label"]: d["values"] for d in spec["data"][0]["dimensions"]}
    assert dims["val_p_f1_0.5s"] == pytest.approx([0.4, 0.1])  # best = highest F1 per run
    images = open_page("compare", runs=image)
    options = widget(widget(images.tabs, "Hyperparameters").selectbox, "Best validation metric")
    assert options.options[0] == "val_accuracy" and "val_p_f1_0.5s" in options.options


def test_clone_of_an_imported_run_is_a_fine_tune_on_a_local_dataset(store, runs_root):
    imported = add_run(store, "imported", {}, **{**picker_config(), "dataset": IMPORTED})
    save_tiny_run(runs_root, imported, window=400)
    at = open_page("train", clone=imported)
    dataset = widget(at.selectbox, "Dataset").value
    assert dataset != IMPORTED and dataset in ("phasenet:ncedc-sample", "synthetic")
    assert at.selectbox(key="init-from").value == imported
