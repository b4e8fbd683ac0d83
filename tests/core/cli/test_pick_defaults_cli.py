"""Saved best-F1 thresholds are the defaults of `pick` and `evaluate`; imported runs evaluate on
a local dataset; `runs --json` carries p_f1 / s_f1 for pickers (every other key kept)."""

from __future__ import annotations

import json

import numpy as np
import obspy
import pytest

from core.cli.main import main
from core.runs.store import RunStore
from core.seismic import sources
from core.tasks.picker_summary import EVALUATION_FILE
from tests.core.seismic.picking_helpers import FakeDataset, save_tiny_run

SAVED = {"p_threshold": 0.55, "s_threshold": 0.4, "p_f1": 0.8, "s_f1": 0.7, "windows": 4}


def tiny_run(root, run_id, **meta_changes):
    folder = save_tiny_run(root, run_id, window=400)
    meta = json.loads((folder / "model.json").read_text()) | meta_changes
    (folder / "model.json").write_text(json.dumps(meta))
    return folder


@pytest.fixture
def mseed(tmp_path):
    rng = np.random.default_rng(1)
    start = obspy.UTCDateTime("2024-05-01T10:00:00")
    traces = [
        obspy.Trace(
            rng.normal(size=3000).astype(np.float32),
            {"network": "XX", "station": "T", "channel": f"HH{c}", "sampling_rate": 100.0}
            | {"starttime": start},
        )
        for c in "ENZ"
    ]
    path = tmp_path / "short.mseed"
    obspy.Stream(traces).write(str(path), format="MSEED")
    return path


def test_pick_defaults_to_the_saved_thresholds(runs_root, mseed, capsys):
    tiny_run(runs_root, "saved", thresholds=SAVED)
    assert main(["pick", str(mseed), "--run", "saved", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["options"]["p_threshold"] == 0.55 and out["options"]["s_threshold"] == 0.4
    assert "best validation F1" in out["thresholds_from"]["p"]
    # a threshold given on the command line wins, the other still comes from the run
    assert main(["pick", str(mseed), "--run", "saved", "--p-threshold", "0.2", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["options"]["p_threshold"] == 0.2 and out["options"]["s_threshold"] == 0.4
    assert out["thresholds_from"]["p"] == "given on the command line"


def test_pick_without_saved_thresholds_uses_the_general_default(runs_root, mseed, capsys):
    tiny_run(runs_root, "plain")
    assert main(["pick", str(mseed), "--run", "plain"]) == 0
    err = capsys.readouterr().err
    assert "P threshold 0.3 (0.3, the general default" in err


@pytest.fixture
def fake_sources(monkeypatch):
    data = FakeDataset(400, seed=5, sizes=(4, 3, 3))
    monkeypatch.setattr(sources, "load_waveform_dataset", lambda name: data)
    return data


def test_evaluate_picker_uses_saved_thresholds_and_saves_the_result(
    runs_root, fake_sources, capsys
):
    folder = tiny_run(runs_root, "ev", thresholds=SAVED)
    assert main(["evaluate", "--run", "ev", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["options"]["p_threshold"] == 0.55 and out["options"]["s_threshold"] == 0.4
    assert out["dataset"] == "synthetic (test)" and out["windows"] == 3
    saved = json.loads((folder / EVALUATION_FILE).read_text())
    assert saved["dataset"] == "synthetic (test)" and set(saved["f1"]) >= {"p_f1", "s_f1"}


def test_imported_run_evaluates_on_a_local_dataset_and_says_so(runs_root, fake_sources, capsys):
    tiny_run(runs_root, "imp", dataset="published (PhaseNet 2019, NCEDC)", imported={"x": 1})
    assert main(["evaluate", "--run", "imp", "--json"]) == 0
    captured = capsys.readouterr()
    out = json.loads(captured.out)
    assert "not on this server" in captured.err and "not on this server" in out["note"]
    name = out["dataset"].split(" (")[0]
    assert name in ("phasenet:ncedc-sample", "synthetic")
    # another folder than its own: all of it (3 + 3 + 4 windows); the built-in: its test split
    assert out["windows"] == (10 if ":" in name else 3)


def test_runs_json_has_f1_for_pickers_and_keeps_every_key(runs_root, capsys):
    store = RunStore(runs_root / "runs.sqlite")
    image = store.create_run({"dataset": "digits", "model": "mlp", "epochs": 1})
    store.set_final_metrics(image, {"val_accuracy": 0.9})
    picker = store.create_run({"dataset": "synthetic", "model": "phasenet", "epochs": 1})
    store.set_final_metrics(
        picker,
        {"val_accuracy": 0.97, "val_p_f1_0.5s": 0.61, "val_s_f1_0.5s": 0.72, "val_p_f1_0.1s": 0.4},
    )
    imported = store.create_run({"dataset": "published (x)", "model": "phasenet", "epochs": 1})
    store.set_final_metrics(imported, {})
    assert main(["runs", "--json"]) == 0
    rows = {r["id"]: r for r in json.loads(capsys.readouterr().out)}
    old_keys = {"id", "name", "status", "dataset", "model", "metrics", "warnings", "owner"}
    assert all(old_keys <= set(r) for r in rows.values())
    assert "p_f1" not in rows[image] and rows[image]["metrics"]["val_accuracy"] == 0.9
    assert rows[picker]["p_f1"] == 0.61 and rows[picker]["s_f1"] == 0.72
    assert rows[picker]["p_f1_0.1s"] == 0.4 and rows[picker]["f1_source"] == "validation"
    assert rows[imported]["p_f1"] is None and rows[imported]["f1_source"] is None
    assert main(["runs"]) == 0
    text = capsys.readouterr().out
    assert "p_f1=0.610 s_f1=0.720" in text and "val_acc=0.970" not in text
