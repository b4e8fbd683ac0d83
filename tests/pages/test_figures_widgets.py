"""Figure builders (dashboard.figures) and widget helpers (dashboard.widgets), no Streamlit run."""

from __future__ import annotations

import pytest

from core.runs.store import Run
from dashboard.figures import TRAIN_COLOUR, VAL_COLOUR, metric_curves, top_k_bar
from dashboard.widgets import (
    format_seconds,
    page_path,
    run_progress,
    runs_table_rows,
    status_label,
)


def make_run(**fields) -> Run:
    """A Run with harmless defaults; override any column."""
    values = {
        "id": "20250101-000000-abcdef",
        "name": "",
        "status": "running",
        "dataset": "digits",
        "model": "cnn",
        "config": {"batch_size": 32, "learning_rate": 0.001},
        "created": 1_000.0,
        "started": 1_000.0,
        "finished": None,
        "heartbeat": 1_000.0,
        "pid": None,
        "error": None,
        "stop_requested": False,
        "epoch": 0,
        "epochs": 4,
        "step": 0,
        "steps_per_epoch": 10,
        "final_metrics": None,
    }
    values.update(fields)
    return Run(**values)


# ---- metric_curves ---------------------------------------------------------------------------
def test_metric_curves_has_batch_epoch_and_validation_traces():
    batches = [
        {"global_step": s, "epoch": (s - 1) // 4, "loss": 2.0 - s / 10} for s in (1, 2, 4, 8)
    ]
    epochs = [
        {"epoch": 0, "loss": 1.8, "val_loss": 1.9},
        {"epoch": 1, "loss": 1.2, "val_loss": 1.4},
    ]
    fig = metric_curves(batches, epochs, "loss", steps_per_epoch=4)

    assert [t.name for t in fig.data] == ["train (batch)", "train (epoch)", "validation"]
    batch, train, val = fig.data
    # a batch at global step s sits at s / steps_per_epoch on the epoch axis
    assert list(batch.x) == [0.25, 0.5, 1.0, 2.0]
    assert list(batch.y) == pytest.approx([1.9, 1.8, 1.6, 1.2])
    assert batch.mode == "lines"
    # epoch rows are 0-based; the point of epoch e is drawn at e + 1 (its end)
    assert list(train.x) == [1, 2] and list(train.y) == [1.8, 1.2]
    assert list(val.x) == [1, 2] and list(val.y) == [1.9, 1.4]
    assert train.line.color == TRAIN_COLOUR and val.line.color == VAL_COLOUR
    assert fig.layout.title.text == "loss"
    assert fig.layout.xaxis.title.text == "epoch"


def test_metric_curves_skips_missing_values_and_other_metrics():
    batches = [
        {"global_step": 1, "loss": 1.0},
        {"global_step": 2, "loss": None},  # NaN written as null by the callback
        {"global_step": 3, "accuracy": 0.5},  # another metric only
    ]
    epochs = [{"epoch": 0, "val_accuracy": 0.4}]  # no train accuracy, no loss at all
    fig = metric_curves(batches, epochs, "loss", steps_per_epoch=None)
    assert [t.name for t in fig.data] == ["train (batch)"]
    assert list(fig.data[0].x) == [1.0]  # steps_per_epoch None counts as 1

    acc = metric_curves(batches, epochs, "val_accuracy", steps_per_epoch=3)
    assert [t.name for t in acc.data] == ["train (epoch)"]  # key "val_val_accuracy" absent
    assert acc.layout.title.text == "val accuracy"


def test_metric_curves_empty_input_is_an_empty_figure():
    fig = metric_curves([], [], "accuracy", steps_per_epoch=10)
    assert len(fig.data) == 0
    assert fig.layout.yaxis.title.text == "accuracy"


# ---- top_k_bar -------------------------------------------------------------------------------
def test_top_k_bar_draws_the_best_class_on_top():
    top_k = [
        {"class": "cat", "index": 3, "probability": 0.7},
        {"class": "dog", "index": 5, "probability": 0.2},
        {"class": 7, "index": 7, "probability": 0.1},
    ]
    fig = top_k_bar(top_k)
    (bar,) = fig.data
    assert bar.orientation == "h"
    # horizontal bars are drawn bottom-up: the last category is at the top
    assert list(bar.y) == ["7", "dog", "cat"]
    assert list(bar.x) == sorted(bar.x)
    assert bar.y[-1] == "cat" and bar.x[-1] == pytest.approx(0.7)
    assert list(bar.text) == ["10.0%", "20.0%", "70.0%"]
    assert fig.layout.yaxis.type == "category"  # class "7" must not become a numeric axis
    assert tuple(fig.layout.xaxis.range) == (0, 1)
    assert fig.layout.height == 60 + 40 * 3


def test_top_k_bar_single_class():
    fig = top_k_bar([{"class": "only", "index": 0, "probability": 1.0}])
    assert list(fig.data[0].y) == ["only"]
    assert fig.layout.height == 100


# ---- run_progress ----------------------------------------------------------------------------
def test_run_progress_fraction_and_eta_of_a_running_run():
    run = make_run(epochs=4, steps_per_epoch=10, epoch=1, step=5, started=1_000.0)
    fraction, eta = run_progress(run, now=1_030.0)
    # 15 of 40 steps done in 30 s -> 2 s per step, 25 steps left
    assert fraction == pytest.approx(15 / 40)
    assert eta == pytest.approx(50.0)


def test_run_progress_without_steps_or_start():
    assert run_progress(make_run(steps_per_epoch=None), now=2_000.0) == (0.0, None)
    assert run_progress(make_run(steps_per_epoch=0, status="succeeded"), now=2_000.0) == (1.0, None)
    # nothing done yet: no ETA (no division by zero)
    assert run_progress(make_run(epoch=0, step=0), now=2_000.0) == (0.0, None)
    # a queued run that has not started yet has no ETA either
    fraction, eta = run_progress(make_run(status="queued", started=None, epoch=1), now=2_000.0)
    assert fraction == pytest.approx(0.25) and eta is None


def test_run_progress_finished_runs():
    assert run_progress(make_run(status="succeeded", epoch=4, step=0), now=5_000.0) == (1.0, 0.0)
    # a failed/stopped run keeps its fraction but has no ETA
    fraction, eta = run_progress(make_run(status="failed", epoch=2, step=0), now=5_000.0)
    assert fraction == pytest.approx(0.5) and eta is None
    fraction, eta = run_progress(make_run(status="stopped", epoch=1, step=3), now=5_000.0)
    assert fraction == pytest.approx(13 / 40) and eta is None


def test_run_progress_clamps_to_the_total():
    run = make_run(epochs=2, steps_per_epoch=10, epoch=2, step=10)  # 30 > 20 steps
    fraction, eta = run_progress(run, now=1_010.0)
    assert fraction == 1.0
    assert eta == pytest.approx(0.0)


# ---- format_seconds and small helpers ----------------------------------------------------------
@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (None, "unknown"),
        (0, "0 s"),
        (5.4, "5 s"),
        (59.4, "59 s"),
        (59.6, "1 min 00 s"),
        (125, "2 min 05 s"),
        (3599, "59 min 59 s"),
        (3600, "1 h 00 min"),
        (3725, "1 h 02 min"),
        (90_000, "25 h 00 min"),
    ],
)
def test_format_seconds(seconds, text):
    assert format_seconds(seconds) == text


def test_status_label_and_page_path():
    assert status_label("succeeded") == ":material/check_circle: succeeded"
    assert status_label("weird") == " weird"
    for name in ("home", "train", "predict"):
        assert page_path(name).is_file()


def test_runs_table_rows():
    runs = [
        make_run(
            id="r1",
            name="first",
            status="succeeded",
            epoch=4,
            epochs=4,
            final_metrics={"val_accuracy": 0.9, "test_accuracy": 0.8},
        ),
        make_run(id="r2", status="running", epoch=7, epochs=3),  # epoch counter past the end
    ]
    rows = runs_table_rows(runs)
    assert [r["run"] for r in rows] == ["r1", "r2"]
    assert rows[0]["name"] == "first" and rows[0]["status"] == "succeeded"
    assert rows[0]["val accuracy"] == 0.9 and rows[0]["test accuracy"] == 0.8
    assert rows[0]["epochs"] == "4/4"
    assert rows[1]["epochs"] == "3/3"
    assert rows[1]["val accuracy"] is None
    assert set(rows[0]) == {
        "run",
        "name",
        "status",
        "model",
        "dataset",
        "created",
        "epochs",
        "val accuracy",
        "test accuracy",
    }
