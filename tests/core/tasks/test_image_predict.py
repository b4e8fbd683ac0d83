"""core.tasks.image_predict: a finished run's model, top-k predictions and every refusal."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from core.data.registry import load_dataset
from core.tasks.image_predict import LoadedModel, PredictError, load_run_model, predict_top_k, top_k


@pytest.fixture(scope="module")
def loaded(finished_run) -> LoadedModel:
    root, run_id = finished_run
    return load_run_model(root / run_id)


@pytest.fixture
def run_copy(finished_run, tmp_path):
    """A private copy of the finished run's folder that a test may damage."""
    root, run_id = finished_run
    return shutil.copytree(root / run_id, tmp_path / run_id)


def test_load_run_model(loaded):
    assert loaded.input_shape == (16, 16, 1)
    assert loaded.class_names == [str(d) for d in range(10)]
    assert loaded.dataset == "digits"


def test_top_k_on_test_images(loaded):
    x_test = load_dataset("digits").x_test[:6]
    results = predict_top_k(loaded, x_test, k=3)
    assert len(results) == 6
    direct = np.asarray(loaded.model.predict(x_test, verbose=0))
    for row, probs in zip(results, direct, strict=True):
        assert len(row) == 3
        p = [c["probability"] for c in row]
        assert p == sorted(p, reverse=True)
        assert all(0.0 <= v <= 1.0 for v in p)
        assert sum(p) <= 1.0 + 1e-5
        assert len({c["index"] for c in row}) == 3
        assert all(c["class"] == loaded.class_names[c["index"]] for c in row)
        assert row[0]["index"] == int(np.argmax(probs))
        assert row[0]["probability"] == pytest.approx(float(probs.max()), rel=1e-5)


def test_all_classes_sum_to_one_and_k_is_clamped(loaded):
    image = load_dataset("digits").x_test[0]
    everything = predict_top_k(loaded, image, k=99)  # one (h, w, c) image is accepted too
    assert len(everything) == 1 and len(everything[0]) == 10
    assert sum(c["probability"] for c in everything[0]) == pytest.approx(1.0, abs=1e-4)
    assert len(predict_top_k(loaded, image, k=0)[0]) == 1


@pytest.mark.parametrize("shape", [(2, 8, 8, 1), (2, 16, 16, 3), (16, 16), (2, 16, 16)])
def test_wrong_shape_raises(loaded, shape):
    with pytest.raises(PredictError, match="the model expects"):
        predict_top_k(loaded, np.zeros(shape, np.float32))


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_values_raise(loaded, bad):
    images = np.zeros((2, 16, 16, 1), np.float32)
    images[1, 3, 4, 0] = bad
    with pytest.raises(PredictError, match="NaN or infinite"):
        predict_top_k(loaded, images)


def test_top_k_helper():
    probs = np.array([[0.1, 0.6, 0.3], [0.5, 0.2, 0.3]])
    result = top_k(probs, ["a", "b", "c"], 2)
    assert [[c["class"] for c in row] for row in result] == [["b", "c"], ["a", "c"]]
    assert result[0][0] == {"class": "b", "index": 1, "probability": 0.6}


def test_corrupt_model_file_raises(run_copy):
    (run_copy / "model.keras").write_bytes(b"\x00garbage, not a keras zip file\xff" * 100)
    with pytest.raises(PredictError, match=f"cannot load the model of run {run_copy.name}"):
        load_run_model(run_copy)


def test_truncated_model_file_raises(run_copy):
    path = run_copy / "model.keras"
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(PredictError, match="cannot load the model"):
        load_run_model(run_copy)


def test_corrupt_model_json_raises(run_copy):
    (run_copy / "model.json").write_text("{ not json")
    with pytest.raises(PredictError, match="model.json cannot be read"):
        load_run_model(run_copy)


def test_run_without_a_model_raises(run_copy, tmp_path):
    (run_copy / "model.keras").unlink()
    with pytest.raises(PredictError, match="has no saved model"):
        load_run_model(run_copy)
    empty = tmp_path / "empty-run"
    empty.mkdir()
    with pytest.raises(PredictError, match="run empty-run has no saved model"):
        load_run_model(empty)


def test_model_with_code_is_refused(run_copy):
    """Safe mode: a model.keras carrying a Python lambda is not executed."""
    import keras

    inputs = keras.Input(shape=(16, 16, 1))
    x = keras.layers.Lambda(lambda t: t * 2.0)(inputs)
    outputs = keras.layers.Dense(10, activation="softmax")(keras.layers.Flatten()(x))
    keras.Model(inputs, outputs).save(run_copy / "model.keras")
    with pytest.raises(PredictError, match="cannot load the model"):
        load_run_model(run_copy)
