"""`python -m core pick` and `evaluate`: happy paths in process, and bad input -> exit 2."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import obspy
import pytest

from core.cli.main import main
from core.seismic import sources
from tests.core.seismic.picking_helpers import FakeDataset, save_tiny_run

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture
def run_id(runs_root) -> str:
    save_tiny_run(runs_root, "run-pick", window=400)
    return "run-pick"


@pytest.fixture
def mseed(tmp_path) -> Path:
    """Two minutes of three-component noise at 100 Hz with an onset, as MiniSEED."""
    rng = np.random.default_rng(0)
    start = obspy.UTCDateTime("2024-05-01T10:00:00")
    traces = []
    for comp in "ENZ":
        data = rng.normal(size=12_000).astype(np.float32)
        data[5000:] *= 6
        header = {"network": "XX", "station": "TEST", "channel": f"HH{comp}"}
        traces.append(obspy.Trace(data, header | {"sampling_rate": 100.0, "starttime": start}))
    path = tmp_path / "day.mseed"
    obspy.Stream(traces).write(str(path), format="MSEED")
    return path


def test_pick_writes_csv_quakeml_and_json(run_id, mseed, tmp_path, capsys):
    out_csv, out_xml = tmp_path / "picks.csv", tmp_path / "picks.xml"
    argv = ["pick", str(mseed), "--run", run_id, "--p-threshold", "0.34", "--s-threshold", "0.34"]
    argv += ["--overlap", "0.25", "--batch-size", "8", "--min-distance", "1.0"]
    code = main([*argv, "--csv", str(out_csv), "--quakeml", str(out_xml), "--json"])
    assert code == 0
    result = json.loads(capsys.readouterr().out)
    assert result["run"] == run_id and result["options"]["overlap"] == 0.25
    (record,) = result["records"]
    assert record["station"] == "XX.TEST..HH" and record["samples"] == 12_000
    assert record["windows"] == 40  # step 300 over 12,000 samples with 400-sample windows
    assert record["start_time"] == obspy.UTCDateTime("2024-05-01T10:00:00").timestamp
    rows = list(csv.DictReader(out_csv.open()))
    assert len(rows) == len(result["picks"])
    catalog = obspy.read_events(str(out_xml))
    assert len(catalog[0].picks) == len(result["picks"])
    for pick in result["picks"]:
        assert pick["phase"] in ("P", "S") and pick["time_iso"].startswith("2024-05-01T10:")


def test_pick_prints_a_table_without_json(run_id, mseed, capsys):
    assert main(["pick", str(mseed), "--run", run_id, "--p-threshold", "0.34"]) == 0
    captured = capsys.readouterr()
    assert "XX.TEST..HH: 12,000 samples at 100 Hz" in captured.err


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--run", "nope"], "no run 'nope'"),
        (["--run", "run-pick", "--p-threshold", "2"], "p_threshold"),
        (["--run", "run-pick", "--overlap", "1"], "overlap"),
        (["--run", "run-pick", "--csv", "/no/such/folder/x.csv"], "does not exist"),
    ],
)
def test_pick_bad_options_exit_2(run_id, mseed, capsys, extra, message):
    assert main(["pick", str(mseed), *extra]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err and "Traceback" not in err


def test_pick_bad_files_exit_2(run_id, tmp_path, capsys):
    assert main(["pick", str(tmp_path / "missing.mseed"), "--run", run_id]) == 2
    assert "file not found" in capsys.readouterr().err
    junk = tmp_path / "junk.mseed"
    junk.write_bytes(b"this is not seismic data at all" * 10)
    assert main(["pick", str(junk), "--run", run_id]) == 2
    assert "not a seismic format" in capsys.readouterr().err


def test_a_classification_run_is_not_a_picker(runs_root, mseed, capsys):
    save_tiny_run(runs_root, "run-cls", task="classification")
    assert main(["pick", str(mseed), "--run", "run-cls"]) == 2
    assert "not a phase picker" in capsys.readouterr().err


def test_evaluate_json_and_table(run_id, monkeypatch, capsys):
    fake = FakeDataset(1000, seed=3, sizes=(4, 3, 3))
    monkeypatch.setattr(sources, "load_waveform_dataset", lambda name: fake)
    argv = ["evaluate", "--run", run_id, "--dataset", "fake", "--tolerance", "0.1", "0.5"]
    assert main([*argv, "--p-threshold", "0.34", "--s-threshold", "0.34", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["windows"] == 3 and report["dataset"] == "fake (test)"
    keys = {(s["phase"], s["tolerance_s"]) for s in report["scores"]}
    assert keys == {("P", 0.1), ("P", 0.5), ("S", 0.1), ("S", 0.5)}
    assert main([*argv, "--split", "validation"]) == 0
    out = capsys.readouterr().out
    assert "fake (validation): 3 windows" in out and "precision" in out


def test_evaluate_bad_input_exits_2(run_id, capsys):
    assert main(["evaluate", "--run", run_id, "--dataset", "no-such-set"]) == 2
    assert capsys.readouterr().err.startswith("error: ")
    assert main(["evaluate", "--run", run_id, "--tolerance", "0"]) == 2
    assert "tolerances must be positive" in capsys.readouterr().err


def test_cli_subprocess_reports_error_without_traceback(runs_root, tmp_path):
    """The real entry point: exit code 2, one 'error:' line, no traceback."""
    proc = subprocess.run(
        [sys.executable, "-m", "core", "pick", str(tmp_path / "x.mseed"), "--run", "nope"],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
    )
    assert proc.returncode == 2
    assert proc.stderr.startswith("error: no run 'nope'") and "Traceback" not in proc.stderr
