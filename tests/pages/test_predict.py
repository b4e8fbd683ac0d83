"""Predict page (pages/predict.py) through Streamlit's AppTest.

Without a trained model the page calls st.page_link, which only works for pages registered with
st.navigation, so the page is reached through dashboard/app.py and AppTest.switch_page.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from core.runs.store import RunStore
from dashboard.classification_view import IMAGE_LABEL
from tests.conftest import TINY
from tests.pages.helpers import widget

REPO = Path(__file__).resolve().parents[2]
APP = REPO / "dashboard" / "app.py"
SAMPLE = "Sample from the test split"


@pytest.fixture
def finished_root(finished_run, monkeypatch) -> tuple[Path, str]:
    root, run_id = finished_run
    monkeypatch.setenv("TFLAB_RUNS_DIR", str(root))
    return root, run_id


def open_predict(run_id: str | None = None) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=60).run()
    if run_id is not None:
        at.query_params["run"] = run_id
    at.switch_page("../pages/predict.py").run()
    assert not at.exception, at.exception
    assert [t.value for t in at.title] == ["Predict"]
    return at


def bar_spec(at: AppTest) -> dict:
    (chart,) = at.get("plotly_chart")
    (bar,) = json.loads(chart.proto.spec)["data"]
    return bar


def test_no_finished_runs_shows_info(runs_root):
    at = open_predict()
    assert [i.value for i in at.info] == [
        "No trained model yet. Train one on the **Train** page first."
    ]
    assert len(at.page_link) == 1
    assert len(at.selectbox) == 0 and len(at.get("plotly_chart")) == 0


def test_succeeded_run_without_model_file_is_not_offered(runs_root):
    store = RunStore(runs_root / "runs.sqlite")
    run_id = store.create_run(dict(TINY))
    store.set_status(run_id, "succeeded")  # but no model.keras in its folder
    at = open_predict()
    assert len(at.info) == 1 and "No trained model yet" in at.info[0].value
    assert len(at.selectbox) == 0


def test_unreadable_model_shows_an_error(runs_root):
    store = RunStore(runs_root / "runs.sqlite")
    run_id = store.create_run(dict(TINY))
    store.set_status(run_id, "succeeded")
    folder = runs_root / run_id
    folder.mkdir()
    (folder / "model.keras").write_bytes(b"not a keras zip")
    (folder / "model.json").write_text(
        json.dumps(
            {"input_shape": [16, 16, 1], "class_names": list("0123456789"), "dataset": "digits"}
        )
    )
    at = open_predict()
    assert at.selectbox[0].value == run_id
    assert len(at.error) == 1
    assert f"cannot load the model of run {run_id}" in at.error[0].value
    assert len(at.get("plotly_chart")) == 0 and len(at.metric) == 0


def test_test_sample_prediction(finished_root):
    root, run_id = finished_root
    at = open_predict()
    (select,) = at.selectbox
    assert select.label == "Run"
    assert select.value == run_id
    assert select.options == [f"{run_id} · cnn on digits"]
    assert at.query_params["run"] == run_id
    assert widget(at.radio, "Model").value == "A finished run"
    assert widget(at.radio, "Image").value == SAMPLE
    assert at.slider[0].value == 3 and at.slider[0].max == 10

    (metric,) = at.metric
    assert metric.label == "Prediction"
    predicted, probability = metric.value.split(" (")
    assert predicted in [str(d) for d in range(10)]
    assert len(at.image) == 1
    bar = bar_spec(at)
    assert len(bar["y"]) == 3
    assert bar["x"] == sorted(bar["x"])  # best class drawn last, i.e. on top
    assert bar["y"][-1] == predicted
    assert probability == f"{bar['x'][-1]:.1%})"


def test_top_k_and_index_change_the_prediction_view(finished_root):
    root, run_id = finished_root
    at = open_predict(run_id)
    assert at.selectbox[0].value == run_id
    at.slider[0].set_value(5)
    at.number_input[0].set_value(7)
    at.run()
    assert not at.exception, at.exception
    bar = bar_spec(at)
    assert len(bar["y"]) == 5
    assert sum(bar["x"]) <= 1.0 + 1e-6
    assert at.number_input[0].value == 7


def test_unknown_run_in_url_falls_back_to_the_first(finished_root):
    root, run_id = finished_root
    at = open_predict("no-such-run")
    assert at.selectbox[0].value == run_id
    assert at.query_params["run"] == run_id
    assert len(at.metric) == 1


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("empty.png", b"", "empty.png: the file is empty"),
        ("junk.png", b"this is not an image", "junk.png: not a readable image"),
    ],
)
def test_bad_upload_shows_an_error(finished_root, name, content, message):
    at = open_predict()
    widget(at.radio, "Image").set_value("Upload").run()
    assert not at.exception, at.exception
    assert len(at.metric) == 0  # nothing predicted before a file arrives
    widget(at.file_uploader, IMAGE_LABEL).set_value([(name, content, "image/png")]).run()
    assert not at.exception, at.exception
    assert len(at.error) == 1
    assert at.error[0].value.startswith(message)
    assert len(at.metric) == 0 and len(at.get("plotly_chart")) == 0


def test_good_upload_is_predicted(finished_root):
    buffer = io.BytesIO()
    Image.fromarray(np.full((40, 30, 3), 200, np.uint8)).save(buffer, format="PNG")
    at = open_predict()
    widget(at.radio, "Image").set_value("Upload").run()
    widget(at.file_uploader, IMAGE_LABEL).set_value([("grey.png", buffer.getvalue(), "image/png")])
    at.run()
    assert not at.exception, at.exception
    assert len(at.error) == 0
    assert [m.label for m in at.metric] == ["Prediction"]
    assert len(bar_spec(at)["y"]) == 3
