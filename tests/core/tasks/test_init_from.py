"""init_from / freeze_encoder: a picker starts from another picker run's weights; mismatches are
refused before a worker starts."""

from __future__ import annotations

import json

import numpy as np
import pytest

from core.config import ConfigError, RunConfig
from core.models.zoo.phasenet import PhaseNetSettings, build_phasenet
from core.runs import launcher
from core.runs.launcher import check_data_settings
from core.seismic import sources
from core.tasks.picking import prepare
from tests.core.seismic.picking_helpers import TINY_SETTINGS, FakeDataset

WINDOW = 400


@pytest.fixture
def fake_sources(monkeypatch):
    data = FakeDataset(WINDOW, seed=4, sizes=(8, 4, 4))
    monkeypatch.setattr(sources, "load_waveform_dataset", lambda name: data)
    return data


def save_source(root, run_id="src", task="picking", settings=None, window=WINDOW):
    """A finished picker run whose every weight is random (so a copy is recognisable)."""
    settings = dict(TINY_SETTINGS if settings is None else settings)
    model = build_phasenet((window, 3), 3, PhaseNetSettings(**settings))
    rng = np.random.default_rng(7)
    for layer in model.layers:
        layer.set_weights([rng.uniform(0.5, 1.5, w.shape).astype("float32") for w in layer.weights])
    folder = root / run_id
    folder.mkdir()
    model.save(folder / "model.keras")
    meta = {"task": task, "model": "phasenet", "settings": settings, "window": window}
    (folder / "model.json").write_text(json.dumps(meta))
    return model


def config(**fields) -> RunConfig:
    values = {"dataset": "fake", "model": "phasenet", "epochs": 1, "batch_size": 4, "seed": 1}
    return RunConfig(**(values | fields))


def test_weights_settings_and_window_come_from_the_source_run(runs_root, fake_sources):
    source = save_source(runs_root, window=WINDOW)
    task = prepare(config(init_from="src", data_settings={"label_width": 5}))
    assert task.meta["window"] == WINDOW  # the source's window, not the default 3001
    assert task.meta["settings"]["filters"] == [4, 6]
    assert task.meta["init_from"]["run"] == "src"
    with_weights = [layer for layer in task.model.layers if layer.weights]
    assert task.meta["init_from"]["layers_copied"] == len(with_weights) > 5
    for layer in with_weights:
        for mine, theirs in zip(
            layer.get_weights(), source.get_layer(layer.name).get_weights(), strict=True
        ):
            np.testing.assert_array_equal(mine, theirs)
    assert all(layer.trainable for layer in with_weights)


def test_a_longer_window_keeps_the_weights(runs_root, fake_sources):
    source = save_source(runs_root, window=300)
    task = prepare(config(init_from="src", data_settings={"window": WINDOW}))
    assert task.model.input_shape == (None, WINDOW, 3)
    np.testing.assert_array_equal(
        task.model.get_layer("up0_merge_conv").get_weights()[0],
        source.get_layer("up0_merge_conv").get_weights()[0],
    )


def test_freeze_encoder_keeps_the_encoder_while_the_decoder_trains(runs_root, fake_sources):
    import keras

    source = save_source(runs_root)
    task = prepare(config(init_from="src", freeze_encoder=True))
    model = task.model
    frozen = {layer.name for layer in model.layers if layer.weights and not layer.trainable}
    assert {"input_conv", "down0_conv", "down0_pool_bn", "down1_bn"} <= frozen
    assert not any(name.startswith(("up", "logits")) for name in frozen)
    model.compile(optimizer=keras.optimizers.Adam(0.05), loss=task.loss)
    model.fit(task.train_ds, epochs=1, verbose=0)
    for name, changed in (("down1_conv", False), ("down0_bn", False), ("up0_merge_conv", True)):
        before = source.get_layer(name).get_weights()[0]
        after = model.get_layer(name).get_weights()[0]
        assert (not np.array_equal(before, after)) == changed, name


def test_a_different_architecture_is_refused_before_a_run_exists(runs_root):
    save_source(runs_root)
    bad = config(init_from="src", model_settings={"filters": [4, 4]})
    with pytest.raises(
        ConfigError, match=r"different architecture .* filters \[4, 4\] \(source: \[4, 6\]\)"
    ):
        check_data_settings(bad)
    with pytest.raises(ConfigError, match="different architecture"):
        launcher.launch(bad, runs_root)
    assert launcher.open_store(runs_root).list_runs() == []
    check_data_settings(config(init_from="src", model_settings={"dropout": 0.2}))  # no weights


def test_other_tasks_unknown_runs_and_a_lone_freeze_are_refused(runs_root):
    save_source(runs_root, "clf", task="classification")
    with pytest.raises(ConfigError, match="clf is a classification run; only a picker"):
        check_data_settings(config(init_from="clf"))
    with pytest.raises(ConfigError, match="no run 'nope'"):
        check_data_settings(config(init_from="nope"))
    with pytest.raises(ConfigError, match="init_from works for picking models; cnn is a classif"):
        check_data_settings(RunConfig(model="cnn", init_from="clf"))
    with pytest.raises(ConfigError, match="freeze_encoder needs init_from"):
        check_data_settings(config(freeze_encoder=True))
    (runs_root / "empty").mkdir()
    with pytest.raises(ConfigError, match="empty has no saved model"):
        check_data_settings(config(init_from="empty"))


def test_set_on_the_command_line_parses():
    parsed = RunConfig().with_overrides(["init_from=20260101-000000-abcdef", "freeze_encoder=true"])
    assert (parsed.init_from, parsed.freeze_encoder) == ("20260101-000000-abcdef", True)
