"""One real training run in its own process, watched from inside: `python -m
tests.core.runs.device_run_probe CONFIG_JSON OUT_DIR`. Prints one JSON line: the run's metrics,
events, and what TensorFlow was actually given (dtype policies, logical devices, replicas,
jit_compile of the compiled model, the batch size fit() saw).

Device settings are process-wide (TensorFlow fixes them when it first starts), so every
configuration gets a fresh process. Runs core.runs.training.train_run exactly as the worker does;
the only addition is an observer around GradNormTrainer.fit that records, never changes.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from core.config import RunConfig
from core.runs import artifacts
from core.runs.store import RunStore


def main(config_json: str, out_dir: str) -> dict:
    from core.runs import trainer_model, training

    seen: dict = {}
    plain_fit = trainer_model.GradNormTrainer.fit

    def observed_fit(self, dataset, *args, **kwargs):
        import keras
        import tensorflow as tf

        seen["jit_compile"] = self.jit_compile
        seen["replicas"] = tf.distribute.get_strategy().num_replicas_in_sync
        seen["variable_type"] = type(self.inner.trainable_variables[0].value).__name__
        seen["logical_cpus"] = len(tf.config.list_logical_devices("CPU"))
        seen["global_policy"] = keras.mixed_precision.global_policy().name
        seen["policies"] = {layer.name: layer.dtype_policy.name for layer in self.inner.layers}
        seen["output_dtype"] = self.inner.layers[-1].compute_dtype
        seen["batch_spec"] = str(dataset.element_spec[0].shape)  # no peeking: it would reshuffle
        seen["placement_logging"] = tf.debugging.get_log_device_placement()
        return plain_fit(self, dataset, *args, **kwargs)

    trainer_model.GradNormTrainer.fit = observed_fit
    config = RunConfig.from_json(config_json)
    root = Path(out_dir)
    store = RunStore(root / "runs.sqlite")
    run_id = store.create_run(config.to_dict())
    run_dir = root / run_id
    run_dir.mkdir(parents=True)
    artifacts.write_json(run_dir, artifacts.CONFIG, config.to_dict())
    try:
        metrics = training.train_run(config, store, run_id, run_dir)
        error = None
    except Exception as err:  # noqa: BLE001 - reported to the test
        import traceback

        from core.runs.worker import failure_message

        traceback.print_exc()  # to stderr, as the worker's log has it

        metrics, error = {}, failure_message(err, run_dir)
    return {
        "metrics": metrics,
        "error": error,
        "events": [e["message"] for e in store.events(run_id)],
        "epochs": store.epoch_metrics(run_id),
        "seen": seen,
    }


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1], sys.argv[2])))
