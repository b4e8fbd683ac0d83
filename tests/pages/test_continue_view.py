"""The Train page's run panel: health warnings instead of a check, "Continue for N more epochs"
(owner or admin only), the log-scale switch of the loss chart; Compare's log-scale switch."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core.access import os_user as current_user_outside_streamlit
from core.runs.continue_run import CHECKPOINT
from core.runs.queries import WARNING_PREFIX
from core.runs.store import RunStore
from dashboard.compare_figures import overlay_figure
from dashboard.figures import log_scaled, metric_curves
from tests.conftest import TINY
from tests.pages.helpers import widget

APP = Path(__file__).resolve().parents[2] / "dashboard" / "app.py"


@pytest.fixture(autouse=True)
def no_login(tmp_path, monkeypatch):
    path = tmp_path / "secrets.toml"
    path.write_text("")
    monkeypatch.setenv("TFLAB_SECRETS", str(path))


def finished_run(root: Path, warning: str | None = None) -> str:
    store = RunStore(root / "runs.sqlite")
    run_id = store.create_run(dict(TINY), "lr ten")
    store.set_progress(run_id, 1, 0, 2)
    store.add_batch_metrics(run_id, [(1, 0, 1.0, {"loss": 2.3}), (2, 0, 2.0, {"loss": 160.0})])
    store.add_epoch_metrics(run_id, 0, {"loss": 80.0, "val_loss": 90.0})
    store.set_final_metrics(run_id, {"loss": 80.0})
    if warning:
        store.add_event(run_id, WARNING_PREFIX + warning, level="warning")
    store.set_status(run_id, "succeeded")
    (root / run_id).mkdir()
    (root / run_id / CHECKPOINT).write_bytes(b"weights")
    return run_id


def open_train(run_id: str) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=30)
    at.query_params["run"] = run_id
    at.switch_page("../pages/train.py").run()
    assert not at.exception, at.exception
    return at


def test_a_warned_run_shows_a_badge_and_the_warning(runs_root):
    run_id = finished_run(runs_root, "the loss grew from 2.3 at the start to 160 (70x)")
    at = open_train(run_id)
    assert any(":material/warning: succeeded with warnings" in s.value for s in at.subheader)
    assert not any("check_circle" in s.value for s in at.subheader)
    assert [w.value for w in at.warning] == ["the loss grew from 2.3 at the start to 160 (70x)"]
    table = at.dataframe[0].value
    assert table.loc[table["run"] == run_id, "check"].tolist() == ["⚠️ warning"]


def test_a_healthy_run_keeps_its_check(runs_root):
    run_id = finished_run(runs_root)
    at = open_train(run_id)
    assert any(":material/check_circle: succeeded" in s.value for s in at.subheader)
    assert at.dataframe[0].value["check"].tolist() == ["✅"]


def test_continue_button_starts_a_continuation_and_opens_it(runs_root, monkeypatch):
    run_id = finished_run(runs_root)
    calls = []

    def fake_continue(old, epochs, user=None):
        calls.append((old, epochs, user))
        return "20990101-000000-abcdef"

    monkeypatch.setattr("dashboard.continue_view.continue_run", fake_continue)
    at = open_train(run_id)
    widget(at.number_input, "More epochs").set_value(3).run()
    button = widget(at.button, "Continue for 3 more epochs")
    assert not button.disabled
    button.click().run()
    assert calls == [(run_id, 3, current_user_outside_streamlit())]  # login off: the OS user
    assert at.query_params["run"] in ("20990101-000000-abcdef", ["20990101-000000-abcdef"])


def test_no_continue_without_a_checkpoint(runs_root):
    run_id = finished_run(runs_root)
    (runs_root / run_id / CHECKPOINT).unlink()
    at = open_train(run_id)
    assert not any(b.label.startswith("Continue for") for b in at.button)
    assert any("kept no checkpoint" in c.value for c in at.caption)


def loss_axis_type(at) -> str | None:
    for chart in at.get("plotly_chart"):
        spec = json.loads(chart.proto.spec)
        if spec["layout"].get("title", {}).get("text") == "loss":
            return spec["layout"].get("yaxis", {}).get("type")
    raise AssertionError("no loss chart")


def test_the_loss_chart_switches_to_a_log_axis(runs_root):
    run_id = finished_run(runs_root)
    at = open_train(run_id)
    assert loss_axis_type(at) in (None, "linear")
    widget(at.toggle, "Log scale for the loss").set_value(True).run()
    assert not at.exception, at.exception
    assert loss_axis_type(at) == "log"


def test_figures_take_a_log_y_argument():
    series = [{"label": "a · train", "x": [1, 2], "y": [2.3, 900.0], "colour": 0, "validation": 0}]
    assert overlay_figure(series, "loss", "epoch").layout.yaxis.type is None
    assert overlay_figure(series, "loss", "epoch", log_y=True).layout.yaxis.type == "log"
    rows = [{"global_step": 1, "loss": 2.3}, {"global_step": 2, "loss": 900.0}]
    linear = metric_curves(rows, [], "loss", 2)
    assert metric_curves(rows, [], "loss", 2, log_y=True).layout.yaxis.type == "log"
    assert log_scaled(linear).layout.yaxis.type == "log"
    assert linear.layout.yaxis.type is None  # the shared original is left as it was
