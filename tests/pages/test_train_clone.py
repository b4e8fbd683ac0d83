"""Train page: the run panel's "Clone & tweak this run" is a button (st.switch_page, like
Compare's) that fills the form from the run and keeps showing the run."""

from __future__ import annotations

import pytest

from core.runs.store import RunStore
from tests.pages.helpers import widget
from tests.pages.test_compare import make_run, rerun
from tests.pages.test_train import open_train


@pytest.fixture(autouse=True)
def no_login(tmp_path, monkeypatch):
    """Login off, from an empty secrets file (never the real one)."""
    path = tmp_path / "secrets.toml"
    path.write_text("")
    monkeypatch.setenv("TFLAB_SECRETS", str(path))


def test_clone_and_tweak_fills_the_form_from_the_run(runs_root):
    store = RunStore(runs_root / "runs.sqlite")
    run_id = make_run(store, "source", epochs=7, learning_rate=0.0123)
    at = open_train(run_id)
    assert widget(at.number_input, "Epochs").value == 5  # the form's defaults, no clone yet
    assert not at.page_link  # the old link is gone: one button, one click
    at.button(key=f"clone-panel-{run_id}").click()
    rerun(at)
    assert at.query_params["clone"] == run_id and at.query_params["run"] == run_id
    assert f"Settings cloned from run {run_id}: change what you like, press Train." in [
        i.value for i in at.info
    ]
    assert widget(at.number_input, "Epochs").value == 7
    assert widget(at.number_input, "Learning rate").value == pytest.approx(0.0123)
    assert widget(at.text_input, "Run name (optional)").value == "source (tweak)"
    assert at.button(key=f"clone-panel-{run_id}")  # the panel still shows the source run


def test_a_cloned_form_has_fresh_fields(runs_root):
    """Fields typed into (not submitted) stay in the browser while their widget id is the same;
    the cloned form gets its own id, so every field starts from the cloned run, also where the
    cloned run has the default value."""
    store = RunStore(runs_root / "runs.sqlite")
    run_id = make_run(store, "source", epochs=7)
    at = open_train(run_id)
    assert widget(at.number_input, "Seed").form_id == "new_run"
    at.button(key=f"clone-panel-{run_id}").click()
    rerun(at)
    seed = widget(at.number_input, "Seed")
    assert seed.form_id == f"new_run-clone-{run_id}" and seed.value == 42
    assert widget(at.number_input, "Epochs").value == 7
