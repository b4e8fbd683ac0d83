"""A crafted ObsPy pickle never runs: core readers, the Data page, the Predict page and the CLI."""

from __future__ import annotations

import pickle
from pathlib import Path

import obspy
import pytest
from streamlit.testing.v1 import AppTest

from core.cli.main import main
from core.runs.store import RunStore
from core.seismic.obspy_source import WaveformError, read_stream_bytes, read_stream_file
from core.seismic.waveform_formats import ALLOWED_FORMATS, allowed_formats, detect_format
from tests.core.seismic.picking_helpers import save_tiny_run
from tests.security.hostile_files import obspy_pickle

APP = Path(__file__).resolve().parents[2] / "dashboard" / "app.py"
REFUSED = "not a seismic format this server reads"


@pytest.fixture
def evil(tmp_path) -> tuple[Path, Path]:
    """(hostile file, marker the payload would create)."""
    marker = tmp_path / "marker-created-by-payload"
    path = tmp_path / "evil.mseed"
    path.write_bytes(obspy_pickle(marker))
    return path, marker


def test_the_payload_is_real(evil):
    """Unpickled directly the file does create the marker, so the tests below mean something."""
    path, marker = evil
    assert b"obspy.core.stream" in path.read_bytes()[:100]
    pickle.loads(path.read_bytes())  # noqa: S301 - proving the payload works, on purpose
    assert marker.exists()


def test_pickle_is_never_a_candidate_format():
    assert "PICKLE" not in ALLOWED_FORMATS and "PICKLE" not in allowed_formats()
    assert {"MSEED", "SAC", "GSE2", "SEGY"} <= set(allowed_formats())


def test_core_readers_refuse_it(evil):
    path, marker = evil
    with pytest.raises(WaveformError, match=REFUSED):
        read_stream_file(path)
    with pytest.raises(WaveformError, match=REFUSED) as err:
        read_stream_bytes(path.read_bytes(), "upload.mseed")
    assert "upload" in str(err.value) and "BytesIO" not in str(err.value)
    assert not marker.exists()


def test_a_real_obspy_pickle_is_refused_too(tmp_path):
    path = tmp_path / "stream.pickle"
    obspy.read().write(str(path), format="PICKLE")
    with pytest.raises(WaveformError, match=REFUSED):
        read_stream_file(path)


def test_allowed_formats_still_read(tmp_path):
    for fmt, name in [("MSEED", "x.mseed"), ("SAC", "x.sac"), ("TSPAIR", "x.txt")]:
        obspy.read().select(component="Z").write(str(tmp_path / name), format=fmt)
        assert detect_format(tmp_path / name) == fmt
        (record,) = read_stream_file(tmp_path / name)
        assert record.present[2] and record.samples == 3000


def test_cli_pick_refuses_it(runs_root, evil, capsys):
    path, marker = evil
    save_tiny_run(runs_root, "run-pick", window=400)
    assert main(["pick", str(path), "--run", "run-pick"]) == 2
    err = capsys.readouterr().err
    assert REFUSED in err and "evil.mseed" in err and "Traceback" not in err
    assert not marker.exists()


def _data_page_upload():
    from dashboard.waveform_views import render_waveform_file

    render_waveform_file()


def test_data_page_upload_refuses_it(evil):
    path, marker = evil
    at = AppTest.from_function(_data_page_upload, default_timeout=60).run()
    at.file_uploader(key="wf-file-upload").set_value(
        ("evil.mseed", path.read_bytes(), "application/octet-stream")
    ).run()
    assert not at.exception
    assert REFUSED in at.error[0].value and "evil.mseed" in at.error[0].value
    assert not marker.exists()


def test_predict_page_upload_refuses_it(runs_root, evil, monkeypatch):
    from dashboard.widgets import get_store

    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "-1")
    get_store.clear()
    path, marker = evil
    store = RunStore(runs_root / "runs.sqlite")
    run_id = store.create_run({"dataset": "synthetic", "model": "phasenet", "epochs": 1})
    store.set_status(run_id, "succeeded")
    save_tiny_run(runs_root, run_id, window=400)
    at = AppTest.from_file(str(APP), default_timeout=120).run()
    at.query_params["run"] = run_id
    at.switch_page("../pages/predict.py").run()
    at.radio(key="pk-source").set_value(at.radio(key="pk-source").options[1]).run()
    at.file_uploader(key="pk-file").set_value(
        ("evil.mseed", path.read_bytes(), "application/octet-stream")
    ).run()
    assert not at.exception
    assert any(REFUSED in e.value and "evil.mseed" in e.value for e in at.error)
    assert not marker.exists()
    get_store.clear()
