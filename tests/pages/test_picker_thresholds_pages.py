"""Predict with a picker: thresholds start at the run's saved best-F1 ones (and say so), the
precision/recall chart, evaluating an imported run on a local dataset; the Data page's seismic
file view (filter, spectrogram, "Pick this file") and first synthetic window; Augment's link."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import obspy
import pytest
from streamlit.testing.v1 import AppTest

from core.runs.store import RunStore
from core.seismic import sources
from core.tasks.picker_summary import EVALUATION_FILE
from tests.core.seismic.picking_helpers import FakeDataset, save_tiny_run
from tests.core.tasks.test_picker_summary import IMPORTED
from tests.pages.helpers import widget

APP = Path(__file__).resolve().parents[2] / "dashboard" / "app.py"
CURVE = [
    {"threshold": t, "p_precision": t, "p_recall": 1 - t, "p_f1": 0.5}
    | {"s_precision": t, "s_recall": 1 - t, "s_f1": 0.4}
    for t in (0.05, 0.35, 0.65)
]
SAVED = {"p_threshold": 0.35, "s_threshold": 0.45, "p_f1": 0.9, "s_f1": 0.8, "windows": 30}


@pytest.fixture(autouse=True)
def no_login(tmp_path, monkeypatch):
    path = tmp_path / "secrets.toml"
    path.write_text("")
    monkeypatch.setenv("TFLAB_SECRETS", str(path))


def picker_run(runs_root, name, **meta_changes) -> str:
    store = RunStore(runs_root / "runs.sqlite")
    dataset = meta_changes.get("dataset", "synthetic")
    run_id = store.create_run({"dataset": dataset, "model": "phasenet", "epochs": 1}, name)
    store.set_status(run_id, "succeeded")
    folder = save_tiny_run(runs_root, run_id, window=400)
    meta = json.loads((folder / "model.json").read_text()) | meta_changes
    (folder / "model.json").write_text(json.dumps(meta))
    return run_id


def open_page(page: str, **params) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=120)
    for k, v in params.items():
        at.query_params[k] = v
    at.switch_page(f"../pages/{page}.py").run()
    assert not at.exception, at.exception
    return at


def test_sliders_start_at_the_saved_thresholds_and_say_where_from(runs_root):
    saved = picker_run(runs_root, "saved", thresholds={**SAVED, "curve": CURVE})
    plain = picker_run(runs_root, "plain")
    at = open_page("predict", run=saved)
    assert at.slider(key="pk-p").value == 0.35 and at.slider(key="pk-s").value == 0.45
    captions = " ".join(c.value for c in at.caption)
    assert "Default P threshold: 0.35, the best validation F1 of this run" in captions
    assert any("On this run's 30 validation windows" in c.value for c in at.caption)
    (chart,) = [c for c in at.get("plotly_chart") if "threshold" in c.proto.spec]
    lines = {t["name"] for t in json.loads(chart.proto.spec)["data"]}
    assert {"P precision", "P recall", "S precision", "S recall"} <= lines
    at.slider(key="pk-p").set_value(0.5).run()
    assert at.slider(key="pk-p").value == 0.5  # the user's choice stays
    widget(at.selectbox, "Run").set_value(plain).run()
    assert not at.exception, at.exception
    assert at.slider(key="pk-p").value == 0.3  # another run: its own default
    assert "0.3, the general default" in " ".join(c.value for c in at.caption)
    assert any("saved no precision/recall curve" in c.value for c in at.caption)


def test_imported_run_is_evaluated_on_a_local_dataset(runs_root, monkeypatch):
    monkeypatch.setattr(
        sources, "load_waveform_dataset", lambda name: FakeDataset(400, seed=3, sizes=(3, 2, 2))
    )
    run_id = picker_run(runs_root, "imported", dataset=IMPORTED, imported={"source": "x"})
    at = open_page("predict", run=run_id)
    assert any(f"imported: {IMPORTED}" in c.value for c in at.caption)
    dataset = at.selectbox(key="ev-dataset")
    assert IMPORTED not in dataset.options and dataset.value == dataset.options[0]
    assert any("not on this server" in c.value for c in at.caption)
    split = [s for s in at.selectbox if s.label == "Split"][0]
    assert split.value == ("all" if ":" in dataset.value else "test")
    at.button(key="ev-run").click().run()
    assert not at.exception, at.exception
    assert [m.label for m in at.metric][:2] == ["P F1 at 0.1 s", "S F1 at 0.1 s"]
    assert any("On the evaluated windows of" in c.value for c in at.caption)
    saved = json.loads((runs_root / run_id / EVALUATION_FILE).read_text())
    assert saved["run_dataset"] == IMPORTED and "p_f1" in saved["f1"]
    before = at.metric[0].value
    at.slider(key="ev-p").set_value(1.0).run()  # re-scored from the stored probabilities
    assert not at.exception and at.metric[0].value in ("0.000", before)


def mseed_bytes() -> bytes:
    rng = np.random.default_rng(0)
    start = obspy.UTCDateTime("2024-05-01T10:00:00")
    traces = [
        obspy.Trace(
            rng.normal(size=6000).astype(np.float32),
            {"network": "XX", "station": "UP", "channel": f"HH{c}", "sampling_rate": 100.0}
            | {"starttime": start},
        )
        for c in "ENZ"
    ]
    buffer = io.BytesIO()
    obspy.Stream(traces).write(buffer, format="MSEED")
    return buffer.getvalue()


def test_seismic_file_view_filters_draws_a_spectrogram_and_hands_the_file_to_predict(runs_root):
    run_id = picker_run(runs_root, "picker")
    at = AppTest.from_file(str(APP), default_timeout=120)
    at.switch_page("../pages/data.py").run()
    widget(at.selectbox, "Dataset").set_value("A seismic file ...").run()
    at.file_uploader(key="wf-file-upload").set_value(
        ("up.mseed", mseed_bytes(), "application/octet-stream")
    ).run()
    assert not at.exception, at.exception
    assert len(at.get("plotly_chart")) == 2  # the record and its spectrogram
    raw = json.loads(at.get("plotly_chart")[0].proto.spec)["data"][0]["y"]
    at.selectbox(key="wf-file-filter").set_value("bandpass").run()
    assert not at.exception and not at.error
    shown = json.loads(at.get("plotly_chart")[0].proto.spec)["data"][0]["y"]
    assert shown != raw  # the record is drawn band-passed
    at.button(key="wf-file-pick").click().run()
    assert not at.exception, at.exception
    assert at.query_params["run"] == run_id
    source = at.radio(key="pk-source")
    assert source.value == "up.mseed (from the Data page)"
    assert any(s.label == "Record" for s in at.selectbox)


def test_first_synthetic_window_has_p_and_s():
    at = open_page("data", dataset="synthetic")
    index = at.number_input(key="wf-data-index").value
    window = sources.load_waveform_dataset("synthetic").train.window(index)
    assert window.itp is not None and window.its is not None


def test_waveform_augment_links_to_train_and_shows_no_internal_names():
    at = open_page("augment")
    widget(at.selectbox, "Dataset").set_value("synthetic").run()
    window = sources.load_waveform_dataset("synthetic").train.window(
        at.number_input(key="wf-aug-index").value
    )
    assert window.its is not None
    at.button(key="wf-aug-use").click().run()
    assert not at.exception, at.exception
    assert [link.label for link in at.get("page_link")][-1:] == ["Go to Train"]
    text = " ".join(c.value for c in at.caption)
    assert "element_rng" not in text and "core." not in text
