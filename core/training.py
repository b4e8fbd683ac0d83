"""One training run, start to finish, inside a worker process (see core.worker).

Order matters: GPU settings first, then seeds, data, model, fit, save. Every outcome ends in
the store as succeeded, stopped or failed.
"""

from __future__ import annotations

import hashlib
import json
import platform
from pathlib import Path

from core.config import RunConfig
from core.store import RunStore

OPTIMIZERS = ("adam", "sgd", "rmsprop", "adamw")


def train_run(config: RunConfig, store: RunStore, run_id: str, run_dir: Path) -> dict:
    """Train `config` as run `run_id`, writing artifacts to run_dir; returns the final metrics."""
    from core.devices import apply_device_settings

    for note in apply_device_settings(config.devices):  # before anything else touches TF
        store.add_event(run_id, note)

    import keras
    import tensorflow as tf

    from core.callbacks import StoreCallback
    from core.datasets import load_dataset
    from core.models import build_model
    from core.pipeline import make_dataset, subsample

    keras.utils.set_random_seed(config.seed)
    data = load_dataset(config.dataset)
    x_train, y_train = subsample(data.x_train, data.y_train, config.max_train_examples, config.seed)
    train_ds = make_dataset(
        x_train,
        y_train,
        config.batch_size,
        training=True,
        seed=config.seed,
        shuffle_buffer=config.shuffle_buffer,
    )
    val_ds = make_dataset(data.x_val, data.y_val, config.batch_size, training=False)
    steps_per_epoch = -(-len(y_train) // config.batch_size)

    model, settings = build_model(
        config.model, data.info.input_shape, data.info.num_classes, config.model_settings
    )
    model.compile(
        optimizer=make_optimizer(config.optimizer, config.learning_rate),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    _write_json(
        run_dir / "model.json",
        {
            "model": config.model,
            "settings": settings,
            "dataset": config.dataset,
            "input_shape": list(data.info.input_shape),
            "class_names": list(data.info.class_names),
        },
    )
    _write_json(
        run_dir / "environment.json",
        {
            "python": platform.python_version(),
            "tensorflow": tf.__version__,
            "keras": keras.__version__,
            "numpy": __import__("numpy").__version__,
            "data_fingerprint": fingerprint(x_train, y_train),
            "train_examples": int(len(y_train)),
        },
    )

    streamer = StoreCallback(store, run_id, steps_per_epoch)
    callbacks = [
        keras.callbacks.BackupAndRestore(str(run_dir / "backup")),
        streamer,
        keras.callbacks.TensorBoard(str(run_dir / "logs"), write_graph=False),
    ]
    store.add_event(
        run_id,
        f"training {config.model} on {config.dataset}: "
        f"{len(y_train)} examples, {steps_per_epoch} steps per epoch",
    )
    history = model.fit(
        train_ds,
        validation_data=val_ds,
        epochs=config.epochs,
        callbacks=callbacks,
        verbose=0,
        shuffle=False,
    )

    epochs = store.epoch_metrics(run_id)
    metrics = {
        k: v for k, v in (epochs[-1] if epochs else {}).items() if k not in ("epoch", "wall_time")
    }
    if not streamer.stopped_by_user:
        test = model.evaluate(
            make_dataset(data.x_test, data.y_test, config.batch_size, training=False),
            verbose=0,
            return_dict=True,
        )
        metrics.update({f"test_{k}": float(v) for k, v in test.items()})
    model.save(run_dir / "model.keras")
    store.set_final_metrics(run_id, metrics)
    del history
    return metrics


def make_optimizer(name: str, learning_rate: float):
    """A Keras optimizer by name."""
    import keras

    classes = {
        "adam": keras.optimizers.Adam,
        "sgd": keras.optimizers.SGD,
        "rmsprop": keras.optimizers.RMSprop,
        "adamw": keras.optimizers.AdamW,
    }
    if name not in classes:
        raise ValueError(f"unknown optimizer {name!r}; choose one of: {', '.join(classes)}")
    return classes[name](learning_rate=learning_rate)


def fingerprint(x, y) -> str:
    """sha256 of the training arrays, so a run records exactly which data it saw."""
    digest = hashlib.sha256()
    digest.update(x.tobytes())
    digest.update(y.tobytes())
    return digest.hexdigest()[:16]


def _write_json(path: Path, data: dict) -> None:
    path.write_text(json.dumps(data, indent=2))
