"""`python -m core evaluate` (image runs, model files, picking --split all) and `export`."""

from __future__ import annotations

import json

import numpy as np
import pytest

from core.cli.main import main
from core.seismic import sources
from tests.core.seismic.picking_helpers import FakeDataset, save_tiny_run
from tests.image_run_helpers import save_image_run


@pytest.fixture(scope="module")
def cls_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli-results-runs")
    return root, save_image_run(root, "classification")


@pytest.fixture
def root(cls_run, monkeypatch):
    monkeypatch.setenv("TFLAB_RUNS_DIR", str(cls_run[0]))
    return cls_run[0]


def test_evaluate_json_keys(cls_run, root, capsys):
    _, run_id = cls_run
    assert (
        main(["evaluate", "--run", run_id, "--dataset", "digits", "--split", "test", "--json"]) == 0
    )
    report = json.loads(capsys.readouterr().out)
    assert {"accuracy", "per_class", "confusion_matrix", "ece"} <= set(report)
    matrix = np.array(report["confusion_matrix"])
    assert matrix.shape == (10, 10) and matrix.sum() == report["examples"]
    assert report["accuracy"] == pytest.approx(np.trace(matrix) / matrix.sum())
    assert [c["support"] for c in report["per_class"]] == matrix.sum(axis=1).tolist()


def test_evaluate_table_and_split_all(cls_run, root, capsys):
    _, run_id = cls_run
    assert main(["evaluate", "--run", run_id, "--split", "all"]) == 0
    out = capsys.readouterr().out
    assert "on digits (all): 1797 images" in out and "confusion matrix" in out


def test_evaluate_model_file_matches_the_run(cls_run, root, capsys):
    """The run's own model.keras as an untrusted file (subprocess) scores the same."""
    _, run_id = cls_run
    argv = ["evaluate", "--dataset", "digits", "--json"]
    assert main([*argv, "--run", run_id]) == 0
    direct = json.loads(capsys.readouterr().out)
    assert main([*argv, "--model-file", str(root / run_id / "model.keras")]) == 0
    via_file = json.loads(capsys.readouterr().out)
    assert via_file["confusion_matrix"] == direct["confusion_matrix"]
    assert via_file["ece"] == pytest.approx(direct["ece"], abs=1e-6)


def test_evaluate_errors_exit_2(cls_run, root, capsys):
    _, run_id = cls_run
    assert main(["evaluate", "--run", "no-such-run"]) == 2
    assert "no run 'no-such-run'" in capsys.readouterr().err
    assert main(["evaluate", "--run", run_id, "--dataset", "no-such-set"]) == 2
    assert capsys.readouterr().err.startswith("error: ")
    assert main(["evaluate", "--model-file", str(root / run_id / "model.keras")]) == 2
    assert "needs --dataset" in capsys.readouterr().err


def test_picking_evaluate_split_all(runs_root, monkeypatch, capsys):
    save_tiny_run(runs_root, "run-pick", window=400)
    fake = FakeDataset(1000, seed=3, sizes=(4, 3, 3))
    monkeypatch.setattr(sources, "load_waveform_dataset", lambda name: fake)
    argv = ["evaluate", "--run", "run-pick", "--dataset", "fake", "--json"]
    assert main([*argv, "--split", "all"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["windows"] == 10 and report["dataset"] == "fake (all)"
    assert main(argv) == 0  # a built-in name: the test split by default
    assert json.loads(capsys.readouterr().out)["windows"] == 3


def test_export_keras_json(cls_run, root, tmp_path, capsys):
    _, run_id = cls_run
    out = tmp_path / "model.keras"
    assert main(["export", run_id, "--format", "keras", "--out", str(out), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["path"] == str(out) and result["bytes"] == out.stat().st_size > 0
    assert result["max_abs_diff"] == 0.0 and result["accuracy_diff"] == 0.0


def test_export_errors_exit_2(cls_run, root, tmp_path, capsys):
    _, run_id = cls_run
    bad = ["export", run_id, "--format", "keras", "--quantize", "dynamic", "--out"]
    assert main([*bad, str(tmp_path / "m.keras")]) == 2
    assert "only offered for the tflite" in capsys.readouterr().err
    assert main(["export", run_id, "--format", "keras", "--out", "/no/such/dir/m.keras"]) == 2
    assert "does not exist" in capsys.readouterr().err
