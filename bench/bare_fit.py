"""Baseline for bench_throughput: a bare `model.fit` of one RunConfig, outside the launcher.

    python bench/bare_fit.py --config '{"dataset": "shapes", "epochs": 6}' [--plain]

--plain is the script a user would write with Keras defaults: the same model, optimizer, data
and batch size, but the NumPy arrays go straight into `model.fit(x, y, batch_size=...,
validation_data=(x_val, y_val))` (Keras shuffles them; no tf.data pipeline of ours).

Builds what core.runs.training.train_run trains for a default classification config (same
seed, data, subsample, core.data.pipeline.make_dataset pipelines,
core.models.registry.build_model model, optimizer, loss, metrics, validation data) and calls
plain `model.fit` with only a tiny callback that stamps
`time.time()` at the end of every epoch. Prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--config", required=True, help="RunConfig as JSON")
    parser.add_argument("--plain", action="store_true", help="NumPy arrays, Keras defaults")
    args = parser.parse_args(argv)

    started = time.time()
    import keras

    from core.config import RunConfig
    from core.data.pipeline import make_dataset, subsample
    from core.data.registry import load_dataset
    from core.models.registry import build_model

    config = RunConfig.from_dict(json.loads(args.config))
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
    model, _ = build_model(
        config.model, data.info.input_shape, data.info.num_classes, config.model_settings
    )
    model.compile(
        optimizer=_optimizer(config, steps_per_epoch * config.epochs),
        loss=keras.losses.SparseCategoricalCrossentropy(),
        metrics=["accuracy"],
    )

    class EpochClock(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.train_begin = 0.0
            self.epoch_ends: list[float] = []

        def on_train_begin(self, logs=None):
            self.train_begin = time.time()

        def on_epoch_end(self, epoch, logs=None):
            self.epoch_ends.append(time.time())

    clock = EpochClock()
    if args.plain:
        model.fit(
            x_train,
            y_train,
            batch_size=config.batch_size,
            validation_data=(data.x_val, data.y_val),
            epochs=config.epochs,
            callbacks=[clock],
            verbose=0,
        )
    else:
        model.fit(
            train_ds,
            validation_data=val_ds,
            epochs=config.epochs,
            callbacks=[clock],
            verbose=0,
            shuffle=False,
        )
    print(
        json.dumps(
            {
                "process_started": started,
                "train_begin": clock.train_begin,
                "epoch_ends": clock.epoch_ends,
                "train_examples": int(len(y_train)),
                "steps_per_epoch": steps_per_epoch,
            }
        )
    )
    return 0


def _optimizer(config, total_steps: int):
    """The optimizer core.runs.training would make for this config (its module moved over time)."""
    try:
        from core.runs.optimization import make_optimizer
    except ImportError:  # older core: core.runs.training.make_optimizer(name, learning_rate)
        from core.runs.training import make_optimizer

        return make_optimizer(config.optimizer, config.learning_rate)
    return make_optimizer(config, total_steps)


if __name__ == "__main__":
    raise SystemExit(main())
