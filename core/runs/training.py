"""One training run, start to finish, inside a worker process (see core.runs.worker).

Order matters: GPU settings first, then seeds, data and model (from the model's task), fit,
evaluate, save. Every outcome ends in the store as succeeded, stopped or failed.
"""

from __future__ import annotations

import platform
from pathlib import Path

import numpy as np

from core.config import RunConfig
from core.devices import (
    apply_device_settings,
    compile_options,
    keep_outputs_float32,
    xla_notes,
)
from core.models.registry import model_notes, model_spec
from core.runs import artifacts
from core.runs.continue_run import restore_checkpoint, save_checkpoint
from core.runs.distribute import install_strategy
from core.runs.oom import retry_logger, with_oom_backoff
from core.runs.optimization import (
    OPTIMIZERS,  # noqa: F401 - re-exported for pages and the CLI
    apply_weight_regularization,
    make_optimizer,
    training_callbacks,
)
from core.runs.run_health import RunHealth
from core.runs.store import RunStore
from core.tasks.base import prepare_task


def train_run(config: RunConfig, store: RunStore, run_id: str, run_dir: Path) -> dict:
    """Train `config` as run `run_id`, writing artifacts to run_dir; returns the final metrics."""

    for note in apply_device_settings(config.devices):  # before anything else touches TF
        store.add_event(run_id, note)
    for note in install_strategy(config.devices, config.batch_size):  # 2+ GPUs: mirrored
        store.add_event(run_id, note)
    fit = lambda c: _fit_run(c, store, run_id, run_dir)  # noqa: E731
    return with_oom_backoff(fit, config, retry_logger(store, run_id))


def _fit_run(config: RunConfig, store: RunStore, run_id: str, run_dir: Path) -> dict:
    """Everything after the device setup (repeated with a smaller batch on out of memory)."""
    import keras
    import tensorflow as tf

    from core.runs import callbacks as run_callbacks
    from core.runs.trainer_model import GradNormTrainer

    keras.utils.set_random_seed(config.seed)
    task = prepare_task(model_spec(config.model).task, config)

    for note in model_notes(task.model):  # e.g. which transfer-learning weights were used
        store.add_event(run_id, note)
    for note in keep_outputs_float32(task.model):  # mixed precision: float32 softmax/loss
        store.add_event(run_id, note)
    regularized = apply_weight_regularization(task.model, config.l1, config.l2)
    if regularized:
        store.add_event(run_id, f"L1={config.l1} L2={config.l2} on {regularized} kernels")
    trainer = GradNormTrainer(task.model)
    total_steps = task.steps_per_epoch * config.epochs
    trainer.compile(
        optimizer=make_optimizer(config, total_steps),
        loss=task.loss,
        metrics=task.metrics,
        **compile_options(config.devices),  # jit_compile (XLA)
    )
    for note in xla_notes(trainer, config.devices):
        store.add_event(run_id, note)
    artifacts.write_json(run_dir, artifacts.MODEL_META, task.meta)
    artifacts.write_json(
        run_dir,
        artifacts.ENVIRONMENT,
        {
            "python": platform.python_version(),
            "tensorflow": tf.__version__,
            "keras": keras.__version__,
            "numpy": np.__version__,
            "data_fingerprint": task.fingerprint,
            "train_examples": task.train_examples,
        },
    )

    continued = restore_checkpoint(run_dir, trainer, config.continue_from)  # continues a run
    if continued:
        store.add_event(
            run_id,
            f"starting from run {continued[0]}'s checkpoint at optimizer step {continued[1]}",
        )
    # a rate that changes only between epochs (constant, plateau) is read once per epoch
    lr_per_step = config.lr_schedule in ("exponential", "cosine")
    streamer = run_callbacks.StoreCallback(
        store, run_id, task.steps_per_epoch, lr_per_step=lr_per_step
    )
    classes = task.meta.get("class_names") if task.meta.get("task") == "classification" else None
    health = RunHealth(store, run_id, task.steps_per_epoch, len(classes) if classes else None)
    callbacks = [
        *task.callbacks,
        *training_callbacks(config),
        streamer,
        health,  # after the streamer: a NaN batch is in the store before the run stops
        run_callbacks.EpochTensorBoard(str(run_dir / "logs"), write_graph=False),
        # last: an epoch is in the store before its resume checkpoint exists, so a kill in
        # between repeats the epoch instead of losing its metrics. Written after the first
        # epoch, then at most ~1 % of the training time (see EpochBackup)
        run_callbacks.EpochBackup(str(run_dir / "backup"), double_checkpoint=True),
    ]
    store.add_event(
        run_id,
        f"training {config.model} on {config.dataset}: "
        f"{task.train_examples} examples, {task.steps_per_epoch} steps per epoch, "
        f"optimizer {config.optimizer}, schedule {config.lr_schedule}",
    )
    try:
        trainer.fit(
            task.train_ds,
            validation_data=task.val_ds,
            epochs=config.epochs,
            callbacks=callbacks,
            class_weight=task.class_weight,
            verbose=0,
            shuffle=False,
        )
    except BaseException:  # the rows of the batches that ran are kept; fit's error wins
        streamer.close(raise_errors=False)
        raise
    health.raise_if_fatal()  # NaN/Inf loss: the run fails with health.fatal as its message
    if config.ema_momentum:
        trainer.optimizer.finalize_variable_values(trainer.trainable_variables)  # use EMA weights
    save_checkpoint(run_dir, trainer)  # weights + optimizer state, to continue the run later

    epochs = store.epoch_metrics(run_id)
    metrics = {
        k: v for k, v in (epochs[-1] if epochs else {}).items() if k not in ("epoch", "wall_time")
    }
    if task.test_ds is not None:  # stopped runs are scored on the test split too
        test = trainer.evaluate(task.test_ds, verbose=0, return_dict=True)
        metrics.update({f"test_{k}": float(v) for k, v in test.items() if k != "grad_norm"})
    saved = task.export(task.model) if task.export else task.model
    artifacts.save_model(run_dir, saved)
    artifacts.write_json(run_dir, artifacts.MODEL_META, task.meta)  # export may add to it
    store.set_final_metrics(run_id, metrics)
    return metrics
