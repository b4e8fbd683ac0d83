"""The new-run form refuses what cannot work, before anything starts (dashboard/form_checks.py).

Through AppTest on the Train page: an out-of-range number gets a message beside the field and
under Train with the real limits; a model for another kind of data and a Keras dataset that
needs a download on an offline machine are refused; no run is recorded and no worker starts
(core.runs.launcher._spawn is replaced by a recorder).
"""

from __future__ import annotations

import pytest

from core.runs import launcher
from core.runs.store import RunStore
from tests.pages.helpers import widget
from tests.pages.test_train import open_train


@pytest.fixture
def spawned(monkeypatch) -> list[str]:
    calls: list[str] = []
    monkeypatch.setattr(launcher, "_spawn", lambda store, run_id, root: calls.append(run_id))
    return calls


def press_train(at):
    at.form_submit_button[0].click()
    at.run()
    assert not at.exception, at.exception
    return at


def form_model(at):
    """The form's Model box (the Model overview below the form has one too)."""
    return [s for s in at.selectbox if s.label == "Model"][0]


def no_runs(runs_root) -> bool:
    db = runs_root / "runs.sqlite"
    return not db.exists() or RunStore(db).list_runs() == []


def test_learning_rate_zero_is_explained_beside_the_field_and_on_train(runs_root, spawned):
    at = open_train()
    rate = widget(at.number_input, "Learning rate")
    assert "Allowed: between 1e-06 and 10." in rate.help  # the real limit, not 0.00000
    rate.set_value(0.0)
    press_train(at)
    beside = "Learning rate must be between 1e-06 and 10; 0 is not."
    assert beside in [e.value for e in at.error]
    assert f"Could not start the run: fix the field(s) marked in red first: {beside}" in [
        e.value for e in at.error
    ]
    assert spawned == [] and no_runs(runs_root)

    widget(at.number_input, "Learning rate").set_value(0.01)  # fixed: it starts
    widget(at.number_input, "Epochs").set_value(1)
    press_train(at)
    assert [e.value for e in at.error] == []
    assert len(spawned) == 1
    assert RunStore(runs_root / "runs.sqlite").get_run(spawned[0]).config["learning_rate"] == 0.01


def test_two_bad_fields_are_both_named(runs_root, spawned):
    at = open_train()
    widget(at.number_input, "Epochs").set_value(0)
    widget(at.number_input, "Seed").set_value(-1)
    press_train(at)
    errors = [e.value for e in at.error]
    assert "Epochs must be between 1 and 1000; 0 is not." in errors
    assert "Seed must be between 0 and 2.14748e+09; -1 is not." in errors
    assert spawned == [] and no_runs(runs_root)


def test_a_picking_model_on_image_data_is_refused(runs_root, spawned):
    at = open_train()
    widget(at.selectbox, "Dataset").set_value("digits")
    form_model(at).set_value("phasenet")
    press_train(at)
    assert [e.value for e in at.error] == [
        "Could not start the run: phasenet is a picking model for waveform data, but digits "
        "is image data: choose a waveform dataset or a model for image data"
    ]
    assert spawned == [] and no_runs(runs_root)


def test_an_image_model_on_waveforms_is_refused(runs_root, spawned):
    at = open_train()
    widget(at.selectbox, "Dataset").set_value("synthetic")
    form_model(at).set_value("cnn")
    press_train(at)
    (error,) = [e.value for e in at.error]
    assert "cnn is a classification model for image data, but synthetic is waveform" in error
    assert spawned == [] and no_runs(runs_root)


def test_a_keras_download_on_an_offline_machine_is_refused(
    runs_root, spawned, tmp_path, monkeypatch
):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "empty-keras"))
    monkeypatch.setenv("TFLAB_OFFLINE", "1")
    at = open_train()
    widget(at.selectbox, "Dataset").set_value("keras:mnist")
    press_train(at)
    (error,) = [e.value for e in at.error]
    assert error.startswith(
        "Could not start the run: keras:mnist is not downloaded and this machine is offline"
    )
    assert str(tmp_path / "empty-keras" / "datasets") in error
    assert spawned == [] and no_runs(runs_root)
