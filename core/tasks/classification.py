"""Image classification task: splits (fixed, validation split or K-fold), pipeline, loss.

Inputs (batch, h, w, c) float32 in [0, 1]; targets int64 class ids, or one-hot float32 when
the loss is categorical (one-hot loss or label smoothing).
"""

from __future__ import annotations

import hashlib

import numpy as np

from core.config import RunConfig
from core.data.registry import load_dataset
from core.models.registry import build_model
from core.tasks.base import PreparedTask


def prepare(config: RunConfig) -> PreparedTask:
    import keras

    from core.data.pipeline import make_dataset, subsample

    data = load_dataset(config.dataset)
    info = data.info
    x_train, y_train, x_val, y_val = choose_splits(data, config)
    positions = subsample(np.arange(len(y_train)), y_train, config.max_train_examples, config.seed)[
        0
    ]  # index of each example in the training split
    x_train, y_train = x_train[positions], y_train[positions]
    if len(y_train) == 0:
        raise ValueError(f"dataset {config.dataset!r} has no training examples")
    num_classes = info.num_classes
    one_hot = config.loss == "onehot" or config.label_smoothing > 0

    def targets(y):
        return keras.utils.to_categorical(y, num_classes).astype(np.float32) if one_hot else y

    augment = None
    if config.augmentation:
        from core.augment.pipeline import AugmentPipeline

        augment = AugmentPipeline.from_spec(config.augmentation)
    train_ds, extra_callbacks = make_dataset(
        x_train,
        targets(y_train),
        config.batch_size,
        training=True,
        seed=config.seed,
        shuffle_buffer=config.shuffle_buffer,
        augment=augment,
        with_callbacks=True,
    )
    val_ds = (
        make_dataset(x_val, targets(y_val), config.batch_size, training=False)
        if len(y_val)
        else None
    )
    test_ds = make_dataset(data.x_test, targets(data.y_test), config.batch_size, training=False)

    settings = config.model_overrides()
    model, used_settings = build_model(config.model, info.input_shape, num_classes, settings)
    export = None
    if config.from_logits:
        model, export = _logits_model(model)
    if one_hot:
        loss = keras.losses.CategoricalCrossentropy(
            from_logits=config.from_logits, label_smoothing=config.label_smoothing
        )
    else:
        loss = keras.losses.SparseCategoricalCrossentropy(from_logits=config.from_logits)
    return PreparedTask(
        train_ds=train_ds,
        val_ds=val_ds,
        test_ds=test_ds,
        steps_per_epoch=-(-len(y_train) // config.batch_size),
        model=model,
        loss=loss,
        metrics=["accuracy"],
        meta={
            "task": "classification",
            "model": config.model,
            "settings": used_settings,
            "dataset": config.dataset,
            "input_shape": list(info.input_shape),
            "class_names": list(info.class_names),
        },
        fingerprint=fingerprint(x_train, y_train),
        train_examples=int(len(y_train)),
        class_weight=balanced_class_weight(y_train, num_classes)
        if config.class_weight == "balanced"
        else None,
        callbacks=extra_callbacks,
        export=export,
    )


def choose_splits(data, config: RunConfig):
    """(x_train, y_train, x_val, y_val) for the fixed split, a validation split or fold k of K."""
    if config.k_folds:
        x = np.concatenate([data.x_train, data.x_val])
        y = np.concatenate([data.y_train, data.y_val])
        folds = kfold_indices(len(y), config.k_folds, config.seed)
        val_idx = folds[config.fold]
        train_idx = np.sort(np.concatenate([f for i, f in enumerate(folds) if i != config.fold]))
        return x[train_idx], y[train_idx], x[val_idx], y[val_idx]
    if config.validation_split:
        order = np.random.default_rng(config.seed).permutation(len(data.y_train))
        n_val = max(1, int(round(len(order) * config.validation_split)))
        val_idx, train_idx = np.sort(order[:n_val]), np.sort(order[n_val:])
        return (
            data.x_train[train_idx],
            data.y_train[train_idx],
            data.x_train[val_idx],
            data.y_train[val_idx],
        )
    return data.x_train, data.y_train, data.x_val, data.y_val


def kfold_indices(n: int, k: int, seed: int) -> list[np.ndarray]:
    """K disjoint sorted index arrays covering range(n), from one seeded permutation."""
    if k > n:
        raise ValueError(f"cannot make {k} folds from {n} examples")
    order = np.random.default_rng(seed).permutation(n)
    return [np.sort(part) for part in np.array_split(order, k)]


def balanced_class_weight(y: np.ndarray, num_classes: int) -> dict[int, float]:
    """n / (classes * count) per present class, as scikit-learn's 'balanced'."""
    counts = np.bincount(y, minlength=num_classes)
    present = counts > 0
    return {
        int(c): float(len(y) / (present.sum() * counts[c])) for c in range(num_classes) if counts[c]
    }


def fingerprint(x: np.ndarray, y: np.ndarray) -> str:
    """sha256 of the training arrays, so a run records exactly which data it saw."""
    digest = hashlib.sha256()
    digest.update(np.ascontiguousarray(x).tobytes())
    digest.update(np.ascontiguousarray(y).tobytes())
    return digest.hexdigest()[:16]


def _logits_model(model):
    """Train on logits (final softmax removed); export re-adds softmax for saved predictions."""
    import keras

    last = model.layers[-1]
    if getattr(last, "activation", None) is not keras.activations.softmax:
        raise ValueError(f"model {model.name!r} does not end in a softmax layer")
    last.activation = keras.activations.linear

    def export(trained):
        probabilities = keras.layers.Softmax(name="softmax")(trained.outputs[0])
        return keras.Model(trained.inputs, probabilities, name=trained.name)

    return model, export
