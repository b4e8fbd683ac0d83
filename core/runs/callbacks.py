"""Keras callbacks that connect a training run to the run store: metrics stream and stop flag."""

from __future__ import annotations

import math
import time

import keras

from core.runs.optimization import current_learning_rate
from core.runs.store import RunStore


class StoreCallback(keras.callbacks.Callback):
    """Writes per-batch and per-epoch metrics to the store and honours its stop flag.

    Batch rows are buffered and written at most every `flush_every_s` seconds (one transaction),
    so a metric is readable well under a second after its batch ends without slowing training.
    """

    def __init__(
        self,
        store: RunStore,
        run_id: str,
        steps_per_epoch: int,
        flush_every_s: float = 0.2,
        stop_check_every_s: float = 0.5,
    ):
        super().__init__()
        self.store = store
        self.run_id = run_id
        self.steps_per_epoch = steps_per_epoch
        self.flush_every_s = flush_every_s
        self.stop_check_every_s = stop_check_every_s
        self._buffer: list[tuple[int, int, float, dict]] = []
        self._epoch = 0
        self._first_epoch: int | None = None
        self._last_flush = 0.0
        self._last_stop_check = 0.0
        self.stopped_by_user = False

    def on_epoch_begin(self, epoch, logs=None):
        if self._first_epoch is None:
            self._first_epoch = epoch
            if epoch > 0:
                self.store.drop_metrics_from_epoch(self.run_id, epoch)
                self.store.add_event(self.run_id, f"resumed from the end of epoch {epoch}")
                # restored by BackupAndRestore (a MirroredVariable under tf.distribute: no int())
                steps = int(keras.ops.convert_to_numpy(self.model.optimizer.iterations))
                self.store.add_event(self.run_id, f"optimizer state restored at step {steps}")
        self._epoch = epoch
        self.store.set_progress(self.run_id, epoch, 0, self.steps_per_epoch)

    def on_train_batch_end(self, batch, logs=None):
        now = time.time()
        step = self._epoch * self.steps_per_epoch + batch + 1
        values = _floats(logs)
        values["learning_rate"] = current_learning_rate(self.model.optimizer)
        self._buffer.append((step, self._epoch, now, values))
        if now - self._last_flush >= self.flush_every_s or batch + 1 == self.steps_per_epoch:
            self._flush(batch + 1)
        if now - self._last_stop_check >= self.stop_check_every_s:
            self._last_stop_check = now
            if self.store.stop_requested(self.run_id):
                self.stopped_by_user = True
                self.model.stop_training = True

    def on_epoch_end(self, epoch, logs=None):
        self._flush(self.steps_per_epoch)
        values = _floats(logs)
        values["learning_rate"] = current_learning_rate(self.model.optimizer)
        self.store.add_epoch_metrics(self.run_id, epoch, values)
        self.store.set_progress(self.run_id, epoch + 1, 0, self.steps_per_epoch)

    def on_train_end(self, logs=None):
        self._flush(None)

    def _flush(self, step_in_epoch: int | None) -> None:
        if self._buffer:
            self.store.add_batch_metrics(self.run_id, self._buffer)
            self._buffer = []
        if step_in_epoch is not None:
            self.store.set_progress(self.run_id, self._epoch, step_in_epoch, self.steps_per_epoch)
        self._last_flush = time.time()


def _floats(logs: dict | None) -> dict[str, float]:
    """Logs as plain floats; NaN/Inf become None so they stay valid JSON."""
    out = {}
    for key, value in (logs or {}).items():
        try:
            number = float(value)
        except (TypeError, ValueError):
            continue
        out[key] = number if math.isfinite(number) else None
    return out
