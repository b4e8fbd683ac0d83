"""Classification task: splits (fixed, validation split, K-fold), class weights, logits export."""

import keras
import numpy as np
import pytest

from core.config import RunConfig
from core.data.registry import load_dataset
from core.tasks.classification import balanced_class_weight, choose_splits, kfold_indices, prepare


def test_kfold_indices_are_disjoint_and_cover_everything():
    folds = kfold_indices(103, 5, seed=3)
    assert len(folds) == 5
    joined = np.concatenate(folds)
    assert sorted(joined.tolist()) == list(range(103))
    assert all(abs(len(f) - 103 / 5) < 1 for f in folds)
    assert np.array_equal(folds[0], kfold_indices(103, 5, seed=3)[0])
    with pytest.raises(ValueError, match="folds"):
        kfold_indices(3, 5, 0)


def test_kfold_splits_validate_on_disjoint_folds():
    data = load_dataset("digits")
    vals = []
    for fold in range(3):
        x_tr, y_tr, x_val, y_val = choose_splits(data, RunConfig(k_folds=3, fold=fold))
        assert len(y_tr) + len(y_val) == len(data.y_train) + len(data.y_val)
        vals.append({x.tobytes() for x in x_val})
    assert not (vals[0] & vals[1]) and not (vals[1] & vals[2]) and not (vals[0] & vals[2])


def test_validation_split_carves_from_train():
    data = load_dataset("digits")
    x_tr, y_tr, x_val, y_val = choose_splits(data, RunConfig(validation_split=0.25))
    assert len(y_val) == round(len(data.y_train) * 0.25)
    assert len(y_tr) + len(y_val) == len(data.y_train)


def test_balanced_class_weight_matches_sklearn_formula():
    y = np.array([0, 0, 0, 1])
    weights = balanced_class_weight(y, 3)
    assert weights == {0: pytest.approx(4 / 6), 1: pytest.approx(2.0)}


def test_prepare_onehot_label_smoothing_and_logits():
    config = RunConfig(
        max_train_examples=40,
        batch_size=8,
        label_smoothing=0.1,
        from_logits=True,
        class_weight="balanced",
        model_settings={"filters": [4], "dense_units": 8},
    )
    task = prepare(config)
    x, y = next(iter(task.train_ds))
    assert x.shape == (8, 16, 16, 1) and y.shape == (8, 10)  # one-hot targets
    assert isinstance(task.loss, keras.losses.CategoricalCrossentropy)
    assert task.class_weight and set(task.class_weight) <= set(range(10))
    logits = task.model(x[:2], training=False).numpy()
    assert not np.allclose(logits.sum(axis=1), 1.0)  # trained on logits
    saved = task.export(task.model)
    probs = saved(x[:2], training=False).numpy()
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(probs, keras.ops.softmax(logits).numpy(), rtol=1e-5, atol=1e-6)
    assert task.steps_per_epoch == 5 and task.train_examples == 40


def test_prepare_dropout_override_reaches_the_model():
    task = prepare(
        RunConfig(
            max_train_examples=16, dropout=0.4, model_settings={"filters": [4], "dense_units": 8}
        )
    )
    rates = [layer.rate for layer in task.model.layers if isinstance(layer, keras.layers.Dropout)]
    assert rates and all(r == pytest.approx(0.4) for r in rates)
    assert task.meta["settings"]["dropout"] == pytest.approx(0.4)


def test_launch_kfold_makes_k_runs_in_one_group_with_disjoint_folds(tmp_path, monkeypatch):
    from core.runs import launcher

    started = []
    monkeypatch.setattr(launcher, "_spawn", lambda store, run_id, root: started.append(run_id))
    ids = launcher.launch_kfold(RunConfig(name="cv"), 4, tmp_path)
    store = launcher.open_store(tmp_path)
    runs = [store.get_run(i) for i in ids]
    assert started == ids and len({r.group_id for r in runs}) == 1
    assert [r.config["fold"] for r in runs] == [0, 1, 2, 3]
    assert all(r.config["k_folds"] == 4 for r in runs)
    assert [r.name for r in store.group_runs(runs[0].group_id)] == [
        f"cv fold {i}/4" for i in range(1, 5)
    ]
    data = load_dataset("digits")
    folds = [choose_splits(data, RunConfig.from_dict(r.config))[3] for r in runs]
    assert sum(len(f) for f in folds) == len(data.y_train) + len(data.y_val)
    with pytest.raises(ValueError):
        launcher.launch_kfold(RunConfig(), 1, tmp_path)
