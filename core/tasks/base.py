"""What a training task hands to the generic training loop (core.runs.training).

A task (classification, picking, reconstruction, ...) turns a RunConfig into datasets, an
uncompiled model, its loss and metrics. `TASKS` maps a model's task name to the module whose
`prepare(config)` builds it, imported only when used.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

TASKS = {
    "classification": "core.tasks.classification",
    "picking": "core.tasks.picking",
    "reconstruction": "core.tasks.reconstruction",
}


@dataclass
class PreparedTask:
    """Everything model.fit needs, plus what is written beside the saved model."""

    train_ds: Any  # tf.data.Dataset of (inputs, targets) batches
    val_ds: Any  # tf.data.Dataset or None
    test_ds: Any  # tf.data.Dataset or None (evaluated after training)
    steps_per_epoch: int
    model: Any  # uncompiled keras.Model being trained
    loss: Any
    metrics: list
    meta: dict  # written to model.json: model, settings, dataset, input_shape, task, ...
    fingerprint: str  # sha256 prefix of the training data
    train_examples: int
    class_weight: dict | None = None
    callbacks: list = field(default_factory=list)  # extra task callbacks (e.g. epoch seeds)
    export: Callable | None = None  # trained model -> the keras.Model to save (default: itself)


def prepare_task(task: str, config) -> PreparedTask:
    """Import the task's module and let it prepare the run."""
    if task not in TASKS:
        raise ValueError(f"unknown task {task!r}; known: {', '.join(TASKS)}")
    module = importlib.import_module(TASKS[task])
    return module.prepare(config)
