"""`python -m core` in a subprocess: JSON shapes of every listing, a real run, and user errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from core.cli.main import build_parser, main
from core.paths import REPO_ROOT

SUBCOMMANDS = ["datasets", "models", "train", "runs", "stop", "resume", "predict"]


def cli(*args: str, runs_dir: Path, timeout: float = 180) -> subprocess.CompletedProcess:
    env = dict(os.environ, TFLAB_RUNS_DIR=str(runs_dir), TF_CPP_MIN_LOG_LEVEL="3")
    return subprocess.run(
        [sys.executable, "-m", "core", *args],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def ok_json(proc: subprocess.CompletedProcess):
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def assert_user_error(proc: subprocess.CompletedProcess, fragment: str) -> None:
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    assert "error:" in proc.stderr and fragment in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout


@pytest.fixture(scope="module")
def cli_run(tmp_path_factory):
    """(runs folder, `train --wait --json` output) of one tiny run started through the CLI."""
    root = tmp_path_factory.mktemp("cli-runs")
    proc = cli(
        "train",
        "--epochs",
        "1",
        "--set",
        "max_train_examples=64",
        "--set",
        'model_settings={"filters":[8],"dense_units":16}',
        "--name",
        "from the cli",
        "--wait",
        "--json",
        runs_dir=root,
        timeout=300,
    )
    return root, ok_json(proc)


def test_datasets_json(tmp_path):
    rows = ok_json(cli("datasets", "--json", runs_dir=tmp_path))
    assert isinstance(rows, list) and rows
    assert {"digits", "shapes"} <= {r["name"] for r in rows}
    for row in rows:
        assert row["kind"] in ("image", "waveform")
        assert {"name", "kind", "description", "input_shape", "num_classes"} <= set(row)


def test_models_json(tmp_path):
    rows = ok_json(cli("models", "--json", runs_dir=tmp_path))
    assert {"cnn", "mlp"} <= {r["name"] for r in rows}
    assert all(r["task"] and r["description"] for r in rows)


def test_plain_listings(tmp_path):
    proc = cli("datasets", runs_dir=tmp_path)
    assert proc.returncode == 0 and "digits" in proc.stdout and "shapes" in proc.stdout
    proc = cli("runs", runs_dir=tmp_path)
    assert proc.returncode == 0 and "no runs yet" in proc.stdout


def test_train_wait_json(cli_run):
    root, result = cli_run
    assert result["status"] == "succeeded", result
    assert result["error"] is None
    assert isinstance(result["metrics"]["loss"], float)
    assert {"accuracy", "val_loss", "test_accuracy"} <= set(result["metrics"])
    assert (root / result["id"] / "model.keras").is_file()
    config = json.loads((root / result["id"] / "config.json").read_text())
    assert config["max_train_examples"] == 64 and config["epochs"] == 1
    assert config["model_settings"] == {"filters": [8], "dense_units": 16}


def test_runs_json(cli_run):
    root, result = cli_run
    rows = ok_json(cli("runs", "--json", runs_dir=root))
    assert [r["id"] for r in rows] == [result["id"]]
    row = rows[0]
    assert {"id", "status", "dataset", "model", "created"} <= set(row)
    assert (row["status"], row["dataset"], row["model"]) == ("succeeded", "digits", "cnn")
    assert row["name"] == "from the cli" and isinstance(row["created"], float)
    assert row["metrics"] == result["metrics"]
    assert ok_json(cli("runs", "--json", "--status", "failed", runs_dir=root)) == []
    plain = cli("runs", runs_dir=root)
    assert plain.returncode == 0 and result["id"] in plain.stdout


def test_predict_samples(finished_run):
    root, run_id = finished_run
    rows = ok_json(cli("predict", "--run", run_id, "--sample", "0", "1", "--json", runs_dir=root))
    assert [r["input"] for r in rows] == ["test[0]", "test[1]"]
    for row in rows:
        probs = [c["probability"] for c in row["top_k"]]
        assert len(probs) == 3 and probs == sorted(probs, reverse=True)
        assert sum(probs) <= 1.0 + 1e-5
        assert all(c["class"] in [str(d) for d in range(10)] for c in row["top_k"])


def test_predict_missing_image_file(finished_run, tmp_path):
    root, run_id = finished_run
    missing = tmp_path / "missing.png"
    assert_user_error(
        cli("predict", "--run", run_id, "--image", str(missing), runs_dir=root),
        f"{missing}: no such file",
    )


def test_predict_in_process(finished_run, tmp_path, monkeypatch, capsys):
    """The same command in this process (TensorFlow is already loaded here): images and errors."""
    root, run_id = finished_run
    monkeypatch.setenv("TFLAB_RUNS_DIR", str(root))
    image = tmp_path / "digit.png"
    Image.new("L", (40, 40), 0).save(image)
    assert main(["predict", "--run", run_id, "--image", str(image), "--top-k", "2", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows[0]["input"] == str(image) and len(rows[0]["top_k"]) == 2

    assert main(["predict", "--run", run_id, "--sample", "3"]) == 0
    assert capsys.readouterr().out.startswith("test[3]: ")

    junk = tmp_path / "junk.png"
    junk.write_bytes(b"not an image")
    for args, fragment in [
        (["--image", str(junk)], "junk.png: not a readable image"),
        (["--sample", "99999"], "sample index 99999 is outside the test split (0..898)"),
        (["--sample", "-1"], "sample index -1 is outside the test split"),
    ]:
        assert main(["predict", "--run", run_id, *args]) == 2
        assert fragment in capsys.readouterr().err


def test_predict_unknown_run(tmp_path):
    assert_user_error(
        cli("predict", "--run", "nope", "--sample", "0", runs_dir=tmp_path), "no run 'nope'"
    )


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["train", "--dataset", "nope"], "unknown dataset 'nope'"),
        (["train", "--model", "nope"], "unknown model 'nope'"),
        (["train", "--set", "epochs=x"], "epochs: cannot read 'x' as int"),
        (["train", "--set", "epochs"], "expected key=value"),
        (["train", "--set", "bogus=1"], "unknown config field: bogus"),
        (["train", "--set", 'devices={"bogus": 1}'], "bogus"),
        (["train", "--epochs", "0"], "epochs must be at least 1"),
        (["train", "--epochs", "many"], "invalid int value"),
        (["stop", "nope"], "no run 'nope'"),
        (["resume", "nope"], "no run 'nope'"),
        (["nonsense"], "invalid choice"),
    ],
)
def test_bad_input_exits_2_without_a_traceback(tmp_path, args, fragment):
    assert_user_error(cli(*args, runs_dir=tmp_path), fragment)
    assert not [p for p in tmp_path.iterdir() if p.is_dir()]  # no run was started


def test_resume_a_finished_run_is_refused(finished_run):
    root, run_id = finished_run
    assert_user_error(cli("resume", run_id, runs_dir=root), "only interrupted runs")


def test_help_for_every_subcommand(tmp_path):
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    names = sorted(sub.choices)  # every registered subcommand, including later additions
    assert set(SUBCOMMANDS) <= set(names)
    proc = cli("--help", runs_dir=tmp_path)
    assert proc.returncode == 0 and all(name in proc.stdout for name in SUBCOMMANDS)
    for name in names:
        proc = cli(name, "--help", runs_dir=tmp_path)
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.startswith(f"usage: python -m core {name}")
