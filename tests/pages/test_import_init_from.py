"""Train form: "Start from a previous run" (dashboard/init_from_field.py) lists picker runs and
puts init_from / freeze_encoder into the run's config; a mismatch is refused on the page."""

from __future__ import annotations

import json

import pytest
from streamlit.testing.v1 import AppTest

from core.models.zoo.phasenet import PhaseNetSettings, build_phasenet
from core.paths import REPO_ROOT
from core.runs import launcher, scheduler
from core.runs.store import RunStore
from tests.core.seismic.picking_helpers import TINY_SETTINGS
from tests.pages.helpers import widget

APP = REPO_ROOT / "dashboard" / "app.py"


@pytest.fixture
def spawned(monkeypatch) -> list[str]:
    """Record run ids; no worker, and no scheduler from the queue view (ensure_scheduler)."""
    calls: list[str] = []
    monkeypatch.setattr(launcher, "_spawn", lambda store, run_id, root: calls.append(run_id))
    monkeypatch.setattr(scheduler, "ensure_scheduler", lambda root: False)
    return calls


def finished_run(root, model: str, task: str) -> str:
    store = RunStore(root / "runs.sqlite")
    run_id = store.create_run({"dataset": "synthetic", "model": model, "epochs": 1}, "src")
    store.set_status(run_id, "succeeded")
    folder = root / run_id
    folder.mkdir()
    build_phasenet((400, 3), 3, PhaseNetSettings(**TINY_SETTINGS)).save(folder / "model.keras")
    meta = {"task": task, "model": model, "settings": TINY_SETTINGS, "window": 400}
    (folder / "model.json").write_text(json.dumps(meta))
    return run_id


def form_model(at: AppTest):
    """The form's Model selectbox (the page shows a second one in its model summary)."""
    return next(s for s in at.selectbox if s.label == "Model")


def open_train() -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=60).run()
    at.switch_page("../pages/train.py").run()
    assert not at.exception, at.exception
    return at


def test_start_from_a_picker_run_goes_into_the_config(runs_root, spawned):
    picker = finished_run(runs_root, "phasenet", "picking")
    finished_run(runs_root, "cnn", "classification")  # not offered
    at = open_train()
    field = at.selectbox(key="init-from")
    assert field.label == "Start from a previous run"
    assert field.options == [
        "No: start from new weights",
        f"{picker} · phasenet on synthetic · src",
    ]
    widget(at.selectbox, "Dataset").set_value("synthetic")
    form_model(at).set_value("phasenet")
    field.set_value(picker)
    at.checkbox(key="init-from-freeze").check()
    at.form_submit_button[0].click()
    at.run()
    assert not at.exception, at.exception
    assert not at.error, at.error[0].value
    run = next(r for r in RunStore(runs_root / "runs.sqlite").list_runs() if r.id in spawned)
    assert (run.config["init_from"], run.config["freeze_encoder"]) == (picker, True)


def test_a_classifier_cannot_start_from_a_picker(runs_root, spawned):
    picker = finished_run(runs_root, "phasenet", "picking")
    at = open_train()
    form_model(at).set_value("cnn")
    at.selectbox(key="init-from").set_value(picker)
    at.form_submit_button[0].click()
    at.run()
    assert not at.exception, at.exception
    assert "init_from works for picking models; cnn is a classification" in at.error[0].value
    assert spawned == []
