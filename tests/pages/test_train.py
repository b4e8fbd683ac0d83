"""Train page (pages/train.py) through Streamlit's AppTest.

The page reaches st.page_link (the run panel links to "clone this run"), which only works for
pages registered with st.navigation, so it is opened through dashboard/app.py and switch_page.
Workers are not started here (core.runs.launcher._spawn is replaced by a recorder) except through
the session-wide `finished_run` fixture; tests/browser drives a real run end to end.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core.runs import launcher
from core.runs.store import RunStore
from tests.conftest import TINY
from tests.pages import test_train_live_chart
from tests.pages.helpers import live_worker, widget

REPO = Path(__file__).resolve().parents[2]
APP = REPO / "dashboard" / "app.py"


@pytest.fixture
def spawned(monkeypatch) -> list[tuple[str, Path]]:
    """Record (run_id, root) instead of starting a TensorFlow worker process."""
    calls: list[tuple[str, Path]] = []
    monkeypatch.setattr(
        launcher, "_spawn", lambda store, run_id, root: calls.append((run_id, root))
    )
    return calls


def open_train(run_id: str | None = None) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=30)
    if run_id is not None:
        at.query_params["run"] = run_id
    at.switch_page("../pages/train.py").run()
    assert not at.exception, at.exception
    assert [t.value for t in at.title] == ["Train"]
    return at


def test_train_page_without_runs_shows_the_form(runs_root):
    at = open_train()
    assert {"Dataset", "Model", "Optimizer"} <= {s.label for s in at.selectbox}
    assert {"digits", "shapes"} <= set(widget(at.selectbox, "Dataset").options)
    assert widget(at.selectbox, "Dataset").value == "digits"
    assert {"Epochs", "Learning rate", "Training examples (0 = all)", "Seed"} <= {
        n.label for n in at.number_input
    }
    assert widget(at.number_input, "Epochs").value == 5
    assert widget(at.select_slider, "Batch size").value == 32
    assert [b.label for b in at.form_submit_button] == ["Train"]
    assert any("press **Train**" in i.value for i in at.info)
    assert "No runs yet." in [c.value for c in at.caption]
    assert len(at.get("plotly_chart")) == 0
    assert "run" not in at.query_params


def test_submitting_the_form_creates_a_run_and_sets_the_url(runs_root, spawned):
    at = open_train()
    widget(at.selectbox, "Dataset").set_value("shapes")
    widget(at.selectbox, "Optimizer").set_value("sgd")
    widget(at.number_input, "Epochs").set_value(2)
    widget(at.number_input, "Training examples (0 = all)").set_value(300)
    widget(at.select_slider, "Batch size").set_value(16)
    widget(at.text_input, "Run name (optional)").set_value("  my run ")
    at.form_submit_button[0].click()
    at.run()
    assert not at.exception, at.exception

    runs = RunStore(runs_root / "runs.sqlite").list_runs()
    assert len(runs) == 1
    run = runs[0]
    assert at.query_params["run"] == run.id
    assert spawned == [(run.id, runs_root)]
    assert run.status == "queued"
    assert run.name == "my run"
    assert (run.dataset, run.model, run.epochs) == ("shapes", "cnn", 2)
    assert run.config["batch_size"] == 16
    assert run.config["optimizer"] == "sgd"
    assert run.config["max_train_examples"] == 300
    written = json.loads((runs_root / run.id / "config.json").read_text())
    assert written["epochs"] == 2 and written["dataset"] == "shapes"
    # the same script run already shows the new run's panel
    assert any(s.value.startswith("my run") and "queued" in s.value for s in at.subheader)
    assert any(b.label == "Stop" for b in at.button)


def test_zero_training_examples_means_all(runs_root, spawned):
    at = open_train()
    at.form_submit_button[0].click()
    at.run()
    assert not at.exception, at.exception
    (run,) = RunStore(runs_root / "runs.sqlite").list_runs()
    assert run.config["max_train_examples"] is None
    assert run.config["epochs"] == 5 and run.dataset == "digits"


def test_finished_run_shows_status_metrics_and_charts(finished_run, monkeypatch):
    root, run_id = finished_run
    monkeypatch.setenv("TFLAB_RUNS_DIR", str(root))
    at = open_train(run_id)

    assert any(run_id in s.value and "succeeded" in s.value for s in at.subheader)
    (progress,) = at.progress
    assert progress.proto.text == "succeeded · 100%"
    assert progress.value == 100
    labels = {m.label: m.value for m in at.metric}
    for key in ("accuracy", "loss", "val accuracy", "val loss", "test accuracy", "test loss"):
        assert key in labels, labels
    final = RunStore(root / "runs.sqlite").get_run(run_id).final_metrics
    assert labels["test accuracy"] == f"{final['test_accuracy']:.4f}"
    charts = at.get("plotly_chart")
    titles = [json.loads(c.proto.spec)["layout"]["title"]["text"] for c in charts]
    assert len(charts) >= 2
    assert titles[:2] == ["loss", "accuracy"]  # the two main curves come first
    assert len(set(titles)) == len(titles)
    traces = [t["name"] for t in json.loads(charts[0].proto.spec)["data"]]
    assert traces == ["train (batch)", "train (epoch)", "validation"]
    # no live controls for a finished run
    assert not any(b.label in ("Stop", "Resume") for b in at.button)
    assert len(at.error) == 0 and len(at.warning) == 0
    assert at.dataframe[0].value["run"].tolist() == [run_id]


def test_failed_run_shows_its_error(runs_root):
    store = RunStore(runs_root / "runs.sqlite")
    run_id = store.create_run(dict(TINY), "doomed")
    store.set_status(run_id, "failed", error="ResourceExhaustedError: out of memory")

    at = open_train(run_id)
    assert [e.value for e in at.error] == ["The run failed: ResourceExhaustedError: out of memory"]
    assert any("failed" in s.value for s in at.subheader)
    assert len(at.get("plotly_chart")) == 0
    assert not any(b.label in ("Stop", "Resume") for b in at.button)


def test_interrupted_run_can_be_resumed(runs_root, spawned):
    store = RunStore(runs_root / "runs.sqlite")
    run_id = store.create_run(dict(TINY))
    store.set_status(run_id, "interrupted", error="killed")

    at = open_train(run_id)
    assert any("ended without finishing" in w.value for w in at.warning)
    resume = widget(at.button, "Resume")
    resume.click()
    at.run()
    assert not at.exception, at.exception
    assert spawned == [(run_id, runs_root)]
    assert store.get_run(run_id).status == "queued"
    assert not any(b.label == "Resume" for b in at.button)
    assert any("queued" in s.value for s in at.subheader)


def test_running_run_shows_progress_and_can_be_stopped(runs_root):
    store = RunStore(runs_root / "runs.sqlite")
    run_id = store.create_run(dict(TINY, epochs=3))
    with live_worker(store, run_id):  # a live pid whose heartbeat goes on, like a worker's
        store.set_progress(run_id, 1, 5, 10)
        store.add_batch_metrics(
            run_id,
            [(s, s // 10, time.time(), {"loss": 2.0 / s, "accuracy": s / 20}) for s in (1, 15)],
        )

        at = open_train(run_id)
        (progress,) = at.progress
        assert progress.proto.text.startswith("epoch 2/3 · step 5/10 · ETA ")
        assert progress.value == 50  # 15 of 30 steps
        titles = [
            json.loads(c.proto.spec)["layout"]["title"]["text"] for c in at.get("plotly_chart")
        ]
        assert titles == ["accuracy"]  # only these two were logged; the live loss is light
        (chart,) = test_train_live_chart.live_charts(at)
        assert chart["title"] == "loss" and chart["last_step"] == 15
        assert chart["traces"][0]["y"] == pytest.approx([2.0, 2.0 / 15], rel=1e-5)
        assert len(at.metric) == 0
        stop = widget(at.button, "Stop")
        assert not stop.disabled
        stop.click()
        at.run()
        assert not at.exception, at.exception
        assert store.stop_requested(run_id)
        assert [t.value for t in at.toast] == [
            "Stop requested: the run ends after its current batch."
        ]
        at.run()  # the next poll of the run panel
        assert not at.exception, at.exception
        assert widget(at.button, "Stop").disabled
        assert "Stop requested ..." in [c.value for c in at.caption]


def test_unknown_run_id_shows_a_warning(runs_root):
    at = open_train("no-such-run")
    assert len(at.warning) == 1
    assert "There is no run 'no-such-run'" in at.warning[0].value
    assert str(runs_root) in at.warning[0].value
    assert len(at.get("plotly_chart")) == 0
    # the form is still usable
    assert [b.label for b in at.form_submit_button] == ["Train"]
