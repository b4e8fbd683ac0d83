"""Importing PhaseNet's published checkpoint: the published output on the 103 NCEDC windows,
a run that loads like a trained one, the CLI, and clear messages for bad folders."""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil

import numpy as np
import pytest

from core.access import os_user
from core.cli.main import main
from core.paths import REPO_ROOT
from core.runs import artifacts
from core.runs.launcher import open_store
from core.seismic.phasenet_import import (
    LICENCE,
    PhaseNetImportError,
    build_model,
    import_checkpoint,
    read_checkpoint,
)
from core.seismic.picking import Picker

CHECKPOINT = REPO_ROOT.parent / "shared" / "models" / "phasenet-2019"
REFERENCE = CHECKPOINT / "reference_probabilities.npz"


@pytest.fixture(scope="module")
def checkpoint():
    assert CHECKPOINT.is_dir(), f"the shared PhaseNet checkpoint is missing: {CHECKPOINT}"
    return read_checkpoint(CHECKPOINT)


@pytest.fixture(scope="module")
def imported(tmp_path_factory):
    """(runs folder, run id, --json output) of one CLI import of the shared checkpoint."""
    root = tmp_path_factory.mktemp("runs")
    before = os.environ.get("TFLAB_RUNS_DIR")
    os.environ["TFLAB_RUNS_DIR"] = str(root)
    out = io.StringIO()
    try:
        with contextlib.redirect_stdout(out):
            code = main(["import-phasenet", str(CHECKPOINT), "--name", "published", "--json"])
    finally:
        if before is None:
            os.environ.pop("TFLAB_RUNS_DIR")
        else:
            os.environ["TFLAB_RUNS_DIR"] = before
    assert code == 0
    printed = json.loads(out.getvalue())
    return root, printed["id"], printed


def reference_inputs(ncedc_folder):
    """(103, 3000, 3) float32 raw counts as the README says, and the published output."""
    reference = np.load(REFERENCE)
    names = sorted(reference.files)
    raw = np.stack([np.load(ncedc_folder / n)["data"][1500:4500] for n in names])
    return raw.astype(np.float32), np.stack([reference[n] for n in names])


def test_the_checkpoint_is_the_published_network(checkpoint):
    assert checkpoint.filters == (8, 16, 32, 64, 128)
    assert (checkpoint.kernel_size, checkpoint.stride, checkpoint.window) == (7, 4, 3000)


def test_saved_run_reproduces_the_published_output_on_all_103_windows(imported, ncedc_folder):
    root, run_id, _ = imported
    x, expected = reference_inputs(ncedc_folder)
    assert x.shape == (103, 3000, 3) and expected.shape == (103, 3000, 3)
    picker = Picker.from_run(root / run_id)  # model.keras in safe mode, as Predict loads it
    assert picker.window == 3000 and picker.sampling_rate == 100.0
    probs = np.concatenate([picker.predict(x[i : i + 32]) for i in range(0, len(x), 32)])
    worst = float(np.abs(probs - expected).max())
    assert worst < 1e-4, f"max abs difference {worst:.2e}"


def test_without_the_input_normalisation_the_output_is_wrong(checkpoint, ncedc_folder):
    """The model normalises raw counts itself: feeding counts past that layer does not work."""
    model = build_model(checkpoint)
    x, expected = reference_inputs(ncedc_folder)
    x = x[:4]
    inner = model.get_layer("input_conv").input  # after `normalize`
    import keras

    tail = keras.Model(inner, model.output)
    assert np.abs(tail.predict(x, verbose=0) - expected[:4]).max() > 0.1


def test_the_run_is_a_finished_picking_run_with_source_and_licence(imported):
    root, run_id, _ = imported
    run = open_store(root).get_run(run_id)
    assert (run.status, run.model, run.name) == ("succeeded", "phasenet", "published")
    assert run.owner == os_user()
    folder = root / run_id
    assert artifacts.has_model(folder)
    meta = artifacts.read_model_meta(folder)
    assert meta["task"] == "picking" and meta["window"] == 3000
    assert meta["settings"]["filters"] == [8, 16, 32, 64, 128]
    assert meta["settings"]["crop"] == "center"
    env = artifacts.read_json(folder, artifacts.ENVIRONMENT)
    assert "PhaseNet" in env["source"] and "Zhu" in env["source"]
    assert env["licence"].startswith("MIT License") and "Weiqiang Zhu" in env["licence"]
    assert meta["imported"]["licence"] == LICENCE
    config = artifacts.read_json(folder, artifacts.CONFIG)
    assert config["model"] == "phasenet" and config["data_settings"] == {"window": 3000}


def test_cli_prints_the_new_run_as_json(imported):
    root, run_id, printed = imported
    assert printed["task"] == "picking" and printed["window"] == 3000
    assert printed["filters"] == [8, 16, 32, 64, 128]
    assert open_store(root).get_run(run_id).status == "succeeded"


def test_a_given_owner_owns_the_run(tmp_path, checkpoint, monkeypatch):
    """import_checkpoint with owner= (the dashboard's user); the checkpoint is read once."""
    import core.seismic.phasenet_import as importer

    monkeypatch.setattr(importer, "read_checkpoint", lambda folder: checkpoint)
    run_id = import_checkpoint(CHECKPOINT, owner="alice", root=tmp_path)
    assert open_store(tmp_path).get_run(run_id).owner == "alice"


def test_a_failed_save_leaves_no_run_and_no_files(tmp_path, checkpoint, monkeypatch):
    import errno

    import core.seismic.phasenet_import as importer

    def full_disk(folder, model):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(importer, "read_checkpoint", lambda folder: checkpoint)
    monkeypatch.setattr(importer.artifacts, "save_model", full_disk)
    with pytest.raises(OSError, match="No space left"):
        import_checkpoint(CHECKPOINT, root=tmp_path)
    assert open_store(tmp_path).list_runs() == []
    assert [p.name for p in tmp_path.iterdir() if p.is_dir()] == []


def _copy(tmp_path, *names):
    folder = tmp_path / "ckpt"
    folder.mkdir()
    for name in names:
        shutil.copy(CHECKPOINT / name, folder / name)
    return folder


INDEX, DATA = "model_95.ckpt.index", "model_95.ckpt.data-00000-of-00001"


def _write_checkpoint(folder, variables: dict):
    """A TF checkpoint with exactly these variable names (as TF1's Saver writes them)."""
    import tensorflow as tf

    folder.mkdir(exist_ok=True)
    names = sorted(variables)
    tf.raw_ops.SaveV2(
        prefix=str(folder / "model_1.ckpt"),
        tensor_names=names,
        shape_and_slices=[""] * len(names),
        tensors=[tf.constant(variables[n]) for n in names],
    )
    return folder


def _error_of(folder, runs_root, capsys) -> str:
    """The CLI's message for `folder`; it must exit 2 and create no run."""
    assert main(["import-phasenet", str(folder), "--json"]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and "Traceback" not in captured.err
    assert open_store(runs_root).list_runs() == []
    return captured.err


def test_missing_and_not_a_folder(tmp_path, runs_root, capsys):
    err = _error_of(tmp_path / "nowhere", runs_root, capsys)
    assert "nowhere: no such folder" in err
    (tmp_path / "file.txt").write_text("x")
    assert "not a folder" in _error_of(tmp_path / "file.txt", runs_root, capsys)


def test_empty_and_incomplete_folders(tmp_path, runs_root, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    assert "no TensorFlow checkpoint here" in _error_of(empty, runs_root, capsys)
    only_index = _copy(tmp_path, INDEX, "checkpoint")
    err = _error_of(only_index, runs_root, capsys)
    assert "incomplete" in err and "model_95.ckpt.data-00000-of-00001" in err


def test_corrupt_checkpoint(tmp_path, runs_root, capsys):
    folder = _copy(tmp_path, INDEX)
    (folder / DATA).write_bytes(b"\0" * 100)
    (folder / INDEX).write_bytes(b"not an index")
    err = _error_of(folder, runs_root, capsys)
    assert "model_95.ckpt.index: not a readable TensorFlow checkpoint" in err


def test_other_networks_are_refused_by_name(tmp_path, runs_root, capsys, checkpoint):
    other = _write_checkpoint(tmp_path / "other", {"dense/kernel": np.ones((4, 2), np.float32)})
    assert "not a PhaseNet checkpoint" in _error_of(other, runs_root, capsys)

    broken = dict(checkpoint.variables)
    broken["UpConv_2/up_conv1_3/kernel"] = np.zeros((7, 1, 64, 30), np.float32)
    folder = _write_checkpoint(tmp_path / "shape", broken)
    err = _error_of(folder, runs_root, capsys)
    assert "UpConv_2/up_conv1_3/kernel has shape [7, 1, 64, 30], expected [7, 1, 64, 32]" in err

    lacking = {k: v for k, v in checkpoint.variables.items() if "UpConv_0/up_bn1_1" not in k}
    folder = _write_checkpoint(tmp_path / "lacking", lacking)
    assert "missing UpConv_0/up_bn1_1/beta" in _error_of(folder, runs_root, capsys)


def test_several_checkpoints_without_a_state_file(tmp_path, checkpoint):
    folder = _write_checkpoint(tmp_path / "two", dict(checkpoint.variables))
    for name in (INDEX, DATA):
        shutil.copy(CHECKPOINT / name, folder / name)
    with pytest.raises(PhaseNetImportError, match="several checkpoints"):
        read_checkpoint(folder)
    (folder / "checkpoint").write_text('model_checkpoint_path: "model_1.ckpt"\n')
    assert read_checkpoint(folder).prefix.name == "model_1.ckpt"
