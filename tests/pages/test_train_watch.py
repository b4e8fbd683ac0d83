"""dashboard/run_watch.py: the live run panel's curves are the same as metric_curves draws, are
built once per run version for every session, and read only the batch rows added since."""

from __future__ import annotations

import json
import time

import plotly.io
import pytest

from core.runs.store import RunStore
from dashboard import run_watch
from dashboard.figures import metric_curves
from tests.conftest import TINY
from tests.pages.helpers import live_worker


@pytest.fixture
def live(runs_root):
    store = RunStore(runs_root / "runs.sqlite")
    run_id = store.create_run(dict(TINY, epochs=3))
    with live_worker(store, run_id):  # beats like a worker: a slow page run never sees it lost
        run_watch.forget(store, run_id)
        yield store, run_id
        run_watch.forget(store, run_id)


def add_batches(store, run_id, first: int, last: int, steps: int = 10) -> None:
    rows = [
        (s, (s - 1) // steps, time.time(), {"loss": 2.0 / s, "accuracy": s / 40})
        for s in range(first, last + 1)
    ]
    store.add_batch_metrics(run_id, rows)
    store.set_progress(run_id, (last - 1) // steps, (last - 1) % steps + 1, steps)


def spec(fig) -> dict:
    return json.loads(plotly.io.to_json(fig))


def test_figures_match_metric_curves(live):
    store, run_id = live
    add_batches(store, run_id, 1, 15)
    store.add_epoch_metrics(run_id, 0, {"loss": 0.5, "accuracy": 0.6, "val_loss": 0.7})
    run = store.get_run(run_id)
    rows, figures = run_watch.curves(store, run)
    assert list(figures) == ["loss", "accuracy"]
    expected = spec(metric_curves(rows, store.epoch_metrics(run_id), "loss", 10))
    got = spec(figures["loss"])
    assert [t["name"] for t in got["data"]] == ["train (batch)", "train (epoch)", "validation"]
    assert got["layout"]["title"] == expected["layout"]["title"]
    batch = figures["loss"].data[0]  # arrays (sent to the browser as typed arrays)
    assert list(batch.x) == pytest.approx([s / 10 for s in range(1, 16)])
    assert list(batch.y) == pytest.approx([2.0 / s for s in range(1, 16)])
    assert got["data"][2]["y"] == [0.7]


def test_one_build_per_version_and_only_new_rows_are_read(live, monkeypatch):
    store, run_id = live
    add_batches(store, run_id, 1, 5)
    reads = []
    real = store.batch_metrics
    monkeypatch.setattr(
        store,
        "batch_metrics",
        lambda rid, after_step=-1, **kw: reads.append(after_step) or real(rid, after_step, **kw),
    )
    run = store.get_run(run_id)
    _, first = run_watch.curves(store, run, now=100.0)
    _, again = run_watch.curves(store, store.get_run(run_id), now=200.0)  # same version
    assert again is first and reads == [-1]

    add_batches(store, run_id, 6, 12)
    rows, newer = run_watch.curves(store, store.get_run(run_id), now=300.0)
    assert reads == [-1, 5]  # only the rows after step 5
    assert [r["global_step"] for r in rows] == list(range(1, 13))
    assert newer is not first
    assert len(newer["loss"].data[0].x) == 12


def test_long_runs_are_thinned_but_keep_the_newest_point(live):
    store, run_id = live
    add_batches(store, run_id, 1, 2500, steps=1000)
    rows, _ = run_watch.curves(store, store.get_run(run_id))
    assert len(rows) <= run_watch.MAX_POINTS + 1
    assert rows[-1]["global_step"] == 2500 and rows[0]["global_step"] == 1
