"""dashboard/live_chart.py and the split live panel: a live run's loss is the light canvas chart
(its data checked here; the drawing in tests/browser/test_train_browser.py), the other curves
stay Plotly, and a finished run gets the Plotly loss chart back."""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core.runs.store import RunStore
from dashboard import run_watch
from dashboard.live_chart import series
from tests.conftest import TINY
from tests.pages.helpers import live_worker, widget

APP = Path(__file__).resolve().parents[2] / "dashboard" / "app.py"


def open_train(run_id: str) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=30)
    at.query_params["run"] = run_id
    at.switch_page("../pages/train.py").run()
    assert not at.exception, at.exception
    return at


def live_charts(at) -> list[dict]:
    """The data of every light live chart on the page (AppTest shows custom components as
    unknown `bidi_component` elements; their data is the element's JSON)."""
    return [
        json.loads(e.proto.json)
        for e in at.get("bidi_component")
        if e.proto.component_name.endswith("tflab_live_chart")
    ]


def plotly_titles(at) -> list[str]:
    return [json.loads(c.proto.spec)["layout"]["title"]["text"] for c in at.get("plotly_chart")]


def test_series_puts_batches_in_epochs_and_epoch_points_at_their_end():
    rows = [{"global_step": s, "loss": 1.0 / s} for s in range(1, 6)] + [{"global_step": 6}]
    rows.append({"global_step": 7, "loss": math.nan})
    epochs = [{"epoch": 0, "loss": 0.5, "val_loss": 0.6}, {"epoch": 1, "loss": 0.25}]
    data = series(rows, epochs, "loss", steps_per_epoch=4)
    assert data["last_step"] == 7 and data["title"] == "loss" and data["x_title"] == "epoch"
    batch, train, val = data["traces"]
    assert batch["name"] == "train (batch)" and not batch["markers"]
    assert batch["x"] == [0.25, 0.5, 0.75, 1.0, 1.25, 1.75]  # the row without loss is left out
    assert batch["y"][:5] == [pytest.approx(1.0 / s, rel=1e-5) for s in range(1, 6)]
    assert batch["y"][5] is None  # NaN: a gap in the line, valid JSON
    assert (train["name"], train["x"], train["y"]) == ("train (epoch)", [1.0, 2.0], [0.5, 0.25])
    assert (val["name"], val["x"], val["y"], val["markers"]) == ("validation", [1.0], [0.6], True)
    json.dumps(data, allow_nan=False)  # what the browser gets parses as JSON
    assert series([], [], "loss", None) == {**data, "traces": [], "last_step": None}


def test_live_series_is_shared_and_follows_new_batches(runs_root):
    store = RunStore(runs_root / "runs.sqlite")
    run_id = store.create_run(dict(TINY, epochs=3))
    store.mark_started(run_id, 1)
    run_watch.forget(store, run_id)
    store.add_batch_metrics(run_id, [(s, 0, time.time(), {"loss": 1 / s}) for s in (1, 2, 3)])
    store.set_progress(run_id, 0, 3, 10)
    rows, first = run_watch.live_series(store, store.get_run(run_id), now=50.0)
    _, again = run_watch.live_series(store, store.get_run(run_id), now=60.0)
    assert again is first and first["last_step"] == 3 and len(rows) == 3
    store.add_batch_metrics(run_id, [(4, 0, time.time(), {"loss": 0.2})])
    store.set_progress(run_id, 0, 4, 10)
    _, newer = run_watch.live_series(store, store.get_run(run_id), now=61.0)
    assert newer["last_step"] == 4 and newer["traces"][0]["x"][-1] == pytest.approx(0.4)
    run_watch.forget(store, run_id)


def test_live_run_draws_the_light_loss_chart_then_plotly_once_it_ended(runs_root):
    store = RunStore(runs_root / "runs.sqlite")
    run_id = store.create_run(dict(TINY, epochs=3))
    with live_worker(store, run_id):
        store.set_progress(run_id, 0, 4, 10)
        batches = [(s, 0, time.time(), {"loss": 2.0 / s, "accuracy": s / 20}) for s in (1, 2, 3, 4)]
        store.add_batch_metrics(run_id, batches)
        store.add_epoch_metrics(run_id, 0, {"loss": 0.9, "val_loss": 1.1})
        at = open_train(run_id)
        (chart,) = live_charts(at)
        assert chart["last_step"] == 4 and chart["log_y"] is False
        names = [t["name"] for t in chart["traces"]]
        assert names == ["train (batch)", "train (epoch)", "validation"]
        assert plotly_titles(at) == ["accuracy"]
        assert at.progress[0].proto.text.startswith("epoch 1/3 · step 4/10 · ETA ")

        widget(at.toggle, "Log scale for the loss").set_value(True).run()
        assert not at.exception, at.exception
        assert live_charts(at)[0]["log_y"] is True

        store.add_batch_metrics(run_id, [(5, 0, time.time(), {"loss": 0.3, "accuracy": 0.3})])
        store.set_progress(run_id, 0, 5, 10)
        time.sleep(run_watch.MIN_REBUILD_S)  # a newer version within it waits for the next poll
        at.run()
        assert live_charts(at)[0]["last_step"] == 5

    store.set_status(run_id, "succeeded")
    at.run()
    assert not at.exception, at.exception
    assert live_charts(at) == []
    assert plotly_titles(at) == ["loss", "accuracy"]  # hover and zoom again
    assert json.loads(at.get("plotly_chart")[0].proto.spec)["layout"]["yaxis"]["type"] == "log"
    run_watch.forget(store, run_id)
