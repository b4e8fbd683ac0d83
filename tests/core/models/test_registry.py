"""core.models.registry: the registry, every builder (build, one training step, .keras round trip),
settings round trips, the lazily registered PhaseNet and the transfer model's weights."""

from __future__ import annotations

import dataclasses
import importlib.util
import json

import keras
import numpy as np
import pytest

from core.models.registry import (
    MODELS,
    ModelError,
    ModelSpec,
    build_model,
    default_settings,
    list_models,
    model_notes,
    model_spec,
)
from core.models.zoo.transfer import transfer_base

# Tiny settings so that every model builds and trains a step in about a second.
TINY = {
    "mlp": {"hidden_units": [8]},
    "lenet5": {},
    "cnn": {"filters": [4, 8], "convs_per_block": 1},
    "resnet_small": {"filters": [4, 8], "blocks_per_stage": 1},
    "transfer": {"alpha": 0.35, "weights": "none"},
    "lstm": {"units": [8]},
    "gru": {"units": [8], "bidirectional": True},
    "autoencoder": {"filters": [4], "bottleneck": 4},
}
SHAPES = [(16, 16, 1), (32, 32, 3)]
HAS_PHASENET = importlib.util.find_spec("core.models.zoo.phasenet") is not None
to_numpy = keras.ops.convert_to_numpy


def tiny_batch(name: str, shape, classes: int = 3, n: int = 4):
    rng = np.random.default_rng(0)
    x = rng.random((n, *shape), dtype=np.float32)
    if model_spec(name).task == "reconstruction":
        return x, x
    return x, rng.integers(0, classes, n)


def test_registry_lists_every_model_with_its_task():
    assert [s.name for s in list_models()] == list(MODELS)
    assert set(TINY) | {"phasenet"} == set(MODELS)
    tasks = {s.name: s.task for s in list_models()}
    assert tasks["autoencoder"] == "reconstruction"
    assert tasks["phasenet"] == "picking"
    assert {tasks[n] for n in TINY if n != "autoencoder"} == {"classification"}
    with pytest.raises(ModelError, match="unknown model 'nope'; choose one of: .*cnn"):
        model_spec("nope")
    rows = [s.to_dict() for s in list_models()]
    json.dumps(rows)  # the CLI prints these
    assert rows[0]["settings"] == {"hidden_units": [128, 64], "dropout": 0.2}


def test_every_classifier_settings_class_has_dropout():
    for name, spec in MODELS.items():
        if spec.task == "classification":
            assert "dropout" in {f.name for f in dataclasses.fields(spec.settings_cls)}, name


@pytest.mark.parametrize("shape", SHAPES, ids=["16x16x1", "32x32x3"])
@pytest.mark.parametrize("name", list(TINY))
def test_build_train_save_load(name, shape, tmp_path):
    model, used = build_model(name, shape, 3, TINY[name])
    x, y = tiny_batch(name, shape)
    if model_spec(name).task == "classification":
        assert model.output_shape == (None, 3)
        last = model.layers[-1]
        assert isinstance(last, keras.layers.Dense) and last.name == "probabilities"
        assert last.activation is keras.activations.softmax
        loss = "sparse_categorical_crossentropy"
    else:
        assert model.output_shape == (None, *shape)
        loss = "mse"
    model.compile(optimizer="adam", loss=loss, run_eagerly=True)
    before = [to_numpy(w) for w in model.trainable_weights]
    logs = model.train_on_batch(x, y, return_dict=True)
    assert np.isfinite(logs["loss"])
    after = [to_numpy(w) for w in model.trainable_weights]
    assert any(not np.allclose(a, b) for a, b in zip(before, after, strict=True))
    expected = np.asarray(model(x, training=False))
    if model_spec(name).task == "classification":
        np.testing.assert_allclose(expected.sum(axis=1), 1.0, rtol=1e-5)
    path = tmp_path / f"{name}.keras"
    model.save(path)
    loaded = keras.models.load_model(path, safe_mode=True)
    np.testing.assert_allclose(
        np.asarray(loaded(x, training=False)), expected, rtol=1e-5, atol=1e-6
    )


@pytest.mark.parametrize("name", list(TINY))
def test_settings_round_trip_through_json(name):
    model, used = build_model(name, (16, 16, 1), 3, TINY[name])
    for key, value in TINY[name].items():
        assert json.loads(json.dumps(used[key])) == value
    again, used_again = build_model(name, (16, 16, 1), 3, json.loads(json.dumps(used)))
    assert json.dumps(used_again, sort_keys=True) == json.dumps(used, sort_keys=True)
    assert again.count_params() == model.count_params()


def test_default_settings_are_reported():
    _, used = build_model("mlp", (8, 8, 3), 4)
    assert used == {"hidden_units": (128, 64), "dropout": 0.2}
    assert default_settings("cnn")["filters"] == [64, 128, 256]


def test_bad_settings_raise_model_error():
    with pytest.raises(ModelError, match="bad settings for model 'cnn'.*nonsense"):
        build_model("cnn", (16, 16, 1), 10, {"nonsense": 1})
    with pytest.raises(ModelError, match="pooling must be one of"):
        build_model("lenet5", (16, 16, 1), 10, {"pooling": "median"})


def test_lenet5_pads_small_inputs_to_32():
    model, _ = build_model("lenet5", (16, 16, 1), 10)
    assert model.get_layer("pad").output.shape[1:3] == (32, 32)
    assert model.get_layer("c1").output.shape[1:] == (28, 28, 6)
    assert model.get_layer("f5").units == 120 and model.get_layer("f6").units == 84


def test_recurrent_models_read_rows():
    model, _ = build_model("lstm", (32, 32, 3), 10, {"units": [8]})
    assert model.get_layer("rows").output.shape[1:] == (32, 96)


def test_autoencoder_handles_sizes_not_divisible_by_its_stride():
    model, _ = build_model("autoencoder", (15, 13, 1), 10, {"filters": [4, 4], "bottleneck": 4})
    assert model.output_shape == (None, 15, 13, 1)


# --- PhaseNet: registered lazily, its module may or may not exist in this checkout ---


def test_phasenet_is_listed_even_without_its_module():
    spec = model_spec("phasenet")
    assert spec.task == "picking" and spec.module.startswith("core.models.zoo.phasenet:")
    assert spec.available == HAS_PHASENET


def test_missing_lazy_module_gives_model_error(monkeypatch):
    missing = ModelSpec("ghost", "picking", "not installed", None, None, module="core.nope:S:b")
    monkeypatch.setitem(MODELS, "ghost", missing)
    assert not missing.available
    assert missing.to_dict()["settings"] is None
    with pytest.raises(ModelError, match="model 'ghost' needs core.nope"):
        build_model("ghost", (64, 3), 3)


def test_phasenet_builds_trains_saves_and_loads(tmp_path):
    settings = {"filters": [4, 6], "kernel_size": 3}
    model, used = build_model("phasenet", (64, 3), 3, settings)
    assert model.output_shape == (None, 64, 3)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 64, 3)).astype(np.float32)
    y = keras.utils.to_categorical(rng.integers(0, 3, (2, 64)), 3)
    model.compile(optimizer="adam", loss="categorical_crossentropy", run_eagerly=True)
    assert np.isfinite(model.train_on_batch(x, y))
    expected = np.asarray(model(x, training=False))
    model.save(tmp_path / "phasenet.keras")
    loaded = keras.models.load_model(tmp_path / "phasenet.keras", safe_mode=True)
    np.testing.assert_allclose(
        np.asarray(loaded(x, training=False)), expected, rtol=1e-5, atol=1e-6
    )
    assert json.loads(json.dumps(used))["filters"] == [4, 6]


# --- transfer learning: never downloads; cached or given weights; frozen or fine-tuned base ---


@pytest.fixture
def empty_keras_cache(tmp_path, monkeypatch):
    """KERAS_HOME and HOME point at empty folders; /tmp/.keras is ignored."""
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras_home"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    from core.models.zoo import transfer

    real = transfer.cache_dirs
    monkeypatch.setattr(
        transfer, "cache_dirs", lambda: [d for d in real() if not str(d).startswith("/tmp/.keras")]
    )
    return tmp_path / "keras_home" / "models"


def test_transfer_offline_without_weights_is_random_with_a_note(empty_keras_cache):
    model, used = build_model("transfer", (16, 16, 1), 5, {"alpha": 0.35})
    notes = " ".join(model_notes(model))
    assert "no ImageNet weights found" in notes and "random initialisation" in notes
    assert "resized from 16x16 to 32x32" in notes and "repeated to three" in notes
    assert used["weights"] == "imagenet" and used["weights_path"] == ""


def test_transfer_loads_a_given_weights_file(tmp_path):
    model, _ = build_model("transfer", (16, 16, 1), 5, {"alpha": 0.35, "weights": "none"})
    path = tmp_path / "base.weights.h5"
    transfer_base(model).save_weights(path)
    saved = [to_numpy(w) for w in transfer_base(model).weights]
    other, _ = build_model("transfer", (16, 16, 1), 5, {"alpha": 0.35, "weights_path": str(path)})
    loaded = [to_numpy(w) for w in transfer_base(other).weights]
    np.testing.assert_array_equal(loaded[0], saved[0])
    np.testing.assert_array_equal(loaded[-1], saved[-1])
    assert any("weights loaded from weights_path" in n for n in model_notes(other))


def test_transfer_uses_weights_in_the_keras_cache(empty_keras_cache):
    import h5py  # a Keras dependency

    # writes the legacy .h5 layout of the published weights (a private Keras module)
    from keras.src.legacy.saving import legacy_h5_format

    from core.models.zoo.transfer import TransferSettings, make_base, weight_file_names

    settings = TransferSettings(alpha=0.35)
    base = make_base(settings, 96)  # the weights Keras would download for alpha 0.35, 96 rows
    empty_keras_cache.mkdir(parents=True)
    path = empty_keras_cache / weight_file_names(settings, 96)[0]
    with h5py.File(path, "w") as f:
        legacy_h5_format.save_weights_to_hdf5_group(f, base)
    model, _ = build_model("transfer", (16, 16, 1), 5, {"alpha": 0.35})
    assert any("Keras cache" in n and str(path) in n for n in model_notes(model))
    np.testing.assert_array_equal(
        to_numpy(transfer_base(model).weights[0]), to_numpy(base.weights[0])
    )


def test_transfer_missing_weights_path_is_a_model_error():
    with pytest.raises(ModelError, match="weights_path .* does not exist"):
        build_model("transfer", (16, 16, 1), 5, {"alpha": 0.35, "weights_path": "/no/such.h5"})


def test_transfer_freeze_and_unfreeze_change_trainable_parameters():
    frozen, _ = build_model("transfer", (16, 16, 1), 5, {"alpha": 0.35, "weights": "none"})
    tuned, _ = build_model(
        "transfer", (16, 16, 1), 5, {"alpha": 0.35, "weights": "none", "trainable_base": True}
    )

    def count(weights):
        return sum(int(np.prod(w.shape)) for w in weights)

    assert count(frozen.trainable_weights) == 1280 * 5 + 5  # only the head
    assert count(tuned.trainable_weights) > 50 * count(frozen.trainable_weights)
    assert frozen.count_params() == tuned.count_params()
    assert "base frozen" in model_notes(frozen)


def test_transfer_efficientnet_builds_for_small_gray_images():
    model, _ = build_model(
        "transfer", (16, 16, 1), 4, {"base": "efficientnet_b0", "weights": "none"}
    )
    assert model.output_shape == (None, 4)
    assert transfer_base(model).input_shape[1:] == (32, 32, 3)
    probs = np.asarray(model(np.zeros((1, 16, 16, 1), np.float32)))
    np.testing.assert_allclose(probs.sum(), 1.0, rtol=1e-5)
