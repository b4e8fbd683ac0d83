"""Is a run going wrong? A Keras callback that stops a run whose loss is NaN/Inf and warns about
one whose loss grew far above its start or whose accuracy stayed at chance level.

Losses are the per-batch / per-epoch `loss` logs (the task's loss, unitless); accuracy is a
fraction in [0, 1]. Warnings become store events of level "warning" whose message starts with
WARNING_PREFIX (core.runs.queries.run_warnings reads them back); a NaN/Inf loss stops training
after its batch and train_run raises TrainingDiverged, so the run ends failed with that message.
"""

from __future__ import annotations

import math

import keras

from core.runs.queries import WARNING_PREFIX
from core.runs.store import RunStore

GROWTH_FACTOR = 5.0  # a (running-mean) loss above this many times the first batch's: diverged
CHANCE_MARGIN = 0.05  # accuracy at most 1/num_classes + this at the end: chance level ...
CHANCE_MIN_EPOCHS = 2  # ... after at least this many epochs (one short epoch proves nothing)


class TrainingDiverged(RuntimeError):
    """The loss became NaN or Inf; the message says where and what to try."""


def nan_message(value: float, epoch: int, step: int) -> str:
    """The failure message of a run whose loss became NaN/Inf (epoch, step 1-based)."""
    what = "NaN" if math.isnan(value) else "Inf"
    return (
        f"loss became {what} at epoch {epoch} step {step}: lower the learning rate (try 10x "
        "lower), add gradient clipping (clipnorm) or check the data for NaN/Inf values"
    )


def growth_warning(start: float, peak: float, end: float) -> str:
    return (
        f"{WARNING_PREFIX}the loss grew from {start:.4g} at the start to {peak:.4g} "
        f"({peak / start:.0f}x) and ended at {end:.4g}: training diverged. Try a learning rate "
        "10x lower, gradient clipping (clipnorm) or the adam optimizer."
    )


def chance_warning(name: str, accuracy: float, num_classes: int) -> str:
    return (
        f"{WARNING_PREFIX}{name} {accuracy:.3f} at the end is chance level for {num_classes} "
        f"classes ({1 / num_classes:.3f}): the model learned nothing. Try a lower learning "
        "rate, more epochs, or check that the labels match the images."
    )


def diagnose(
    start_loss: float | None,
    peak_loss: float | None,
    end_loss: float | None,
    accuracy: tuple[str, float] | None,
    num_classes: int | None,
) -> list[str]:
    """Warnings for a run that ended (pure function): its loss rose far above its first batch's
    (peak = the largest logged loss, end = the last epoch's) or its accuracy is chance level."""
    warnings = []
    if start_loss and start_loss > 0 and peak_loss is not None and end_loss is not None:
        if max(peak_loss, end_loss) > GROWTH_FACTOR * start_loss:
            warnings.append(growth_warning(start_loss, max(peak_loss, end_loss), end_loss))
    if accuracy and num_classes and num_classes >= 2:
        name, value = accuracy
        if value <= 1 / num_classes + CHANCE_MARGIN:
            warnings.append(chance_warning(name, value, num_classes))
    return warnings


class RunHealth(keras.callbacks.Callback):
    """Stops training at the first non-finite batch loss; at the end writes warning events.

    num_classes: the classifier's classes (None for tasks without accuracy: no chance check).
    `fatal` holds the NaN/Inf message once training was stopped for it.
    """

    def __init__(self, store: RunStore, run_id: str, steps_per_epoch: int, num_classes: int | None):
        super().__init__()
        self.store = store
        self.run_id = run_id
        self.steps_per_epoch = steps_per_epoch
        self.num_classes = num_classes
        self.start_loss: float | None = None
        self.peak_loss: float | None = None
        self.last_epoch_logs: dict = {}
        self.fatal: str | None = None
        self.warnings: list[str] = []
        self._epoch = 0
        self._epochs_done = 0

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        loss = _number((logs or {}).get("loss"))
        if loss is None or self.fatal:
            return
        if not math.isfinite(loss):
            self.fatal = nan_message(loss, self._epoch + 1, batch + 1)
            self.model.stop_training = True
        else:
            self.start_loss = loss if self.start_loss is None else self.start_loss
            self.peak_loss = loss if self.peak_loss is None else max(self.peak_loss, loss)

    def on_epoch_end(self, epoch, logs=None):
        if not self.fatal:
            self.last_epoch_logs = dict(logs or {})
            self._epochs_done += 1

    def on_train_end(self, logs=None):
        if self.fatal or not self.last_epoch_logs:
            return  # a stop before the first epoch ended says nothing about the run
        logs = self.last_epoch_logs
        accuracy = next(
            (
                (k, v)
                for k in ("val_accuracy", "accuracy")
                if (v := _number(logs.get(k))) is not None
            ),
            None,
        )
        if self._epochs_done < CHANCE_MIN_EPOCHS:
            accuracy = None
        end = _number(logs.get("loss"))
        self.warnings = diagnose(self.start_loss, self.peak_loss, end, accuracy, self.num_classes)
        for message in self.warnings:
            self.store.add_event(self.run_id, message, level="warning")

    def raise_if_fatal(self) -> None:
        """TrainingDiverged if the loss became NaN/Inf (call after fit)."""
        if self.fatal:
            raise TrainingDiverged(self.fatal)


def _number(value) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None
