"""core.runs.export_model round trips: each format written, loaded back and compared."""

from __future__ import annotations

import zipfile

import numpy as np
import pytest

from core.data.registry import load_dataset
from core.models import untrusted
from core.runs import artifacts
from core.runs.export_model import ExportError, _run_tflite, export_run
from tests.image_run_helpers import save_image_run


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("export-runs")
    return root / save_image_run(root, "classification")


def test_savedmodel_zip_round_trip(run_dir, tmp_path):
    out = tmp_path / "served.zip"
    result = export_run(run_dir, "savedmodel", out)
    assert result.bytes == out.stat().st_size and result.max_abs_diff < 1e-4
    assert result.accuracy_diff == 0.0 and result.examples > 0
    assert "saved_model.pb" in zipfile.ZipFile(out).namelist()
    # the zip is also a valid upload: served through TFSMLayer in the untrusted subprocess
    x = load_dataset("digits").x_test[:8]
    keras_probs = artifacts.load_model(run_dir).predict(x, verbose=0)
    info, probs = untrusted.predict(out, x)
    assert info.kind == "savedmodel" and info.input_shape == (16, 16, 1)
    assert np.max(np.abs(probs - keras_probs)) < 1e-4


@pytest.mark.parametrize("quantize", [None, "dynamic"])
def test_tflite_round_trip(run_dir, tmp_path, quantize):
    out = tmp_path / f"model-{quantize}.tflite"
    result = export_run(run_dir, "tflite", out, quantize)
    assert result.quantize == quantize and result.bytes == out.stat().st_size
    x = load_dataset("digits").x_test[:16]
    probs = _run_tflite(out.read_bytes(), x)
    keras_probs = artifacts.load_model(run_dir).predict(x, verbose=0)
    assert probs.shape == keras_probs.shape
    assert np.allclose(probs.sum(axis=1), 1.0, atol=1e-3)
    limit = 1e-4 if quantize is None else 0.1
    assert result.max_abs_diff < limit and np.max(np.abs(probs - keras_probs)) < limit
    assert abs(result.accuracy_diff) <= 0.05


def test_quantised_is_smaller(run_dir, tmp_path):
    full = export_run(run_dir, "tflite", tmp_path / "f.tflite")
    small = export_run(run_dir, "tflite", tmp_path / "q.tflite", "dynamic")
    assert small.bytes < full.bytes / 2


def test_refusals(run_dir, tmp_path):
    with pytest.raises(ExportError, match="unknown format"):
        export_run(run_dir, "onnx", tmp_path / "m.onnx")
    with pytest.raises(ExportError, match="no saved model"):
        (tmp_path / "empty").mkdir()
        export_run(tmp_path / "empty", "keras", tmp_path / "m.keras")


def test_weights_h5_for_a_registry_architecture(run_dir, tmp_path):
    """`.weights.h5` of a registry model loads (in the subprocess) and predicts as the run's."""
    model = artifacts.load_model(run_dir)
    weights = tmp_path / "mine.weights.h5"
    model.save_weights(weights)
    x = load_dataset("digits").x_test[:4]
    arch = untrusted.Architecture(
        "mlp", (16, 16, 1), 10, artifacts.read_model_meta(run_dir)["settings"]
    )
    info, probs = untrusted.predict(weights, x, architecture=arch)
    assert info.kind == "weights" and info.output_shape == (10,)
    assert np.max(np.abs(probs - model.predict(x, verbose=0))) < 1e-5
    wrong = untrusted.Architecture("mlp", (16, 16, 1), 3, {})
    with pytest.raises(untrusted.UntrustedModelError, match="do not fit model 'mlp'"):
        untrusted.predict(weights, x, architecture=wrong)
