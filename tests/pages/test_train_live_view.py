"""The Train page's curves: a picker run's first chart is P/S F1 per epoch (0.5 s solid, 0.1 s
dotted, y in [0, 1]) with per-sample accuracy last; while a run is live only the loss chart
follows every batch, the others are re-sent unchanged between SECONDARY_S rebuilds."""

from __future__ import annotations

import json
import os
import time

import pytest

from core.runs.store import RunStore
from dashboard import run_watch
from dashboard.figures import PICK_F1_TITLE, pick_f1_curves
from tests.conftest import TINY
from tests.pages.test_picker_headlines import add_run, no_login, open_page, picker_config

__all__ = ["no_login"]  # the fixture (autouse) applies here too

F1_ROWS = [
    {
        "loss": 1.0 - e / 10,
        "accuracy": 0.9 + e / 100,
        "val_loss": 1.1,
        "val_accuracy": 0.95,
        "val_p_f1_0.5s": 0.2 + e / 5,
        "val_s_f1_0.5s": 0.3 + e / 5,
        "val_p_f1_0.1s": 0.1 + e / 5,
        "val_s_f1_0.1s": 0.15 + e / 5,
    }
    for e in (0, 1, 2)
]


def chart_specs(at) -> list[dict]:
    return [json.loads(c.proto.spec) for c in at.get("plotly_chart")]


def test_picker_run_shows_f1_chart_first_and_accuracy_last(runs_root):
    store = RunStore(runs_root / "runs.sqlite")
    run_id = add_run(store, "picker", {"loss": 0.8, **F1_ROWS[-1]}, F1_ROWS, **picker_config())
    store.add_batch_metrics(run_id, [(s, 0, time.time(), {"loss": 1 / s}) for s in range(1, 9)])
    at = open_page("train", run=run_id)
    specs = chart_specs(at)
    titles = [s["layout"]["title"]["text"] for s in specs]
    assert titles[0] == PICK_F1_TITLE
    assert titles[-1] == "accuracy" and "loss" in titles[1:-1]
    f1 = specs[0]
    assert [t["name"] for t in f1["data"]] == [
        "P F1 at 0.5 s",
        "S F1 at 0.5 s",
        "P F1 at 0.1 s",
        "S F1 at 0.1 s",
    ]
    assert [t["line"]["dash"] for t in f1["data"]] == ["solid", "solid", "dot", "dot"]
    assert f1["layout"]["yaxis"]["range"] == [0, 1]
    assert f1["data"][0]["x"] == [1, 2, 3]
    assert f1["data"][0]["y"] == pytest.approx([0.2, 0.4, 0.6])
    image = add_run(store, "image", {"val_accuracy": 0.9}, F1_ROWS[:1])
    titles = [s["layout"]["title"]["text"] for s in chart_specs(open_page("train", run=image))]
    assert titles == ["loss", "accuracy"]  # non-picker runs: as before, no F1 chart


def test_pick_f1_curves_without_scores_is_none():
    assert pick_f1_curves([{"epoch": 0, "loss": 1.0}]) is None
    fig = pick_f1_curves([{"epoch": 0, "val_s_f1_0.5s": 0.5}])
    assert [t.name for t in fig.data] == ["S F1 at 0.5 s"]


def test_live_run_redraws_only_the_loss_chart_between_secondary_rebuilds(runs_root):
    store = RunStore(runs_root / "runs.sqlite")
    run_id = store.create_run(dict(TINY, epochs=3))
    store.mark_started(run_id, os.getpid())
    run_watch.forget(store, run_id)
    rows = [(s, 0, time.time(), {"loss": 2 / s, "accuracy": s / 100}) for s in range(1, 6)]
    store.add_batch_metrics(run_id, rows)
    store.set_progress(run_id, 0, 5, 10)
    _, first = run_watch.curves(store, store.get_run(run_id), now=1000.0)
    store.add_batch_metrics(run_id, [(6, 0, time.time(), {"loss": 0.3, "accuracy": 0.06})])
    store.set_progress(run_id, 0, 6, 10)
    _, soon = run_watch.curves(store, store.get_run(run_id), now=1001.0)
    assert soon["accuracy"] is first["accuracy"]  # re-sent unchanged: the browser skips it
    assert soon["loss"] is not first["loss"] and len(soon["loss"].data[0].x) == 6
    store.add_batch_metrics(run_id, [(7, 0, time.time(), {"loss": 0.2, "accuracy": 0.07})])
    store.set_progress(run_id, 0, 7, 10)
    later = 1000.0 + run_watch.SECONDARY_S + 0.1
    _, late = run_watch.curves(store, store.get_run(run_id), now=later)
    assert late["accuracy"] is not first["accuracy"]
    assert list(late["accuracy"].data[0].y) == pytest.approx([s / 100 for s in range(1, 8)])
    store.set_status(run_id, "succeeded")  # an ended run: everything drawn in full at once
    _, done = run_watch.curves(store, store.get_run(run_id), now=later + 0.5)
    assert done["accuracy"] is not late["accuracy"]
    run_watch.forget(store, run_id)
