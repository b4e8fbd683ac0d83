"""core.runs.artifacts: the run folder's one reader and writer; atomic writes keep old files."""

from __future__ import annotations

import json

import pytest

from core.runs import artifacts


def test_meta_task_and_missing_files(tmp_path):
    run = tmp_path / "r1"
    run.mkdir()
    assert artifacts.run_task(run) is None and not artifacts.has_model(run)
    with pytest.raises(artifacts.ArtifactError, match="r1 has no saved model"):
        artifacts.read_model_meta(run)
    (run / "model.keras").write_bytes(b"x")
    (run / "model.json").write_text(json.dumps({"model": "cnn"}))
    assert artifacts.read_model_meta(run)["task"] == "classification"  # older runs: no task
    (run / "model.json").write_text("[1, 2]")
    with pytest.raises(artifacts.ArtifactError, match="not an object"):
        artifacts.read_model_meta(run)
    (run / "model.json").write_text("{broken")
    with pytest.raises(artifacts.ArtifactError, match="model.json cannot be read"):
        artifacts.read_model_meta(run)
    assert artifacts.read_json(run, "environment.json") == {}


def test_write_json_is_atomic_and_leaves_no_temporary_files(tmp_path):
    artifacts.write_json(tmp_path, "config.json", {"a": 1})
    artifacts.write_json(tmp_path, "config.json", {"a": 2})
    assert artifacts.read_json(tmp_path, "config.json") == {"a": 2}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.json"]


class FailingModel:
    """Writes half a file, then fails like a full disk."""

    def save(self, path):
        with open(path, "wb") as handle:
            handle.write(b"half")
        raise OSError(28, "No space left on device")


def test_a_failed_save_keeps_the_previous_model(tmp_path):
    (tmp_path / "model.keras").write_bytes(b"the good model")
    with pytest.raises(OSError, match="No space left"):
        artifacts.save_model(tmp_path, FailingModel())
    assert (tmp_path / "model.keras").read_bytes() == b"the good model"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.keras"]


def test_real_keras_model_round_trip(tmp_path):
    import keras
    import numpy as np

    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
    artifacts.save_model(tmp_path, model)
    loaded = artifacts.load_model(tmp_path)
    x = np.ones((1, 4), np.float32)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    (tmp_path / "model.keras").write_bytes(b"not a zip")
    with pytest.raises(artifacts.ArtifactError, match="cannot load the model"):
        artifacts.load_model(tmp_path)
