"""Keras callbacks that connect a training run to the run store (metrics stream, stop flag) and
the run's lean resume checkpoint and TensorBoard logs.

Times are seconds (time.time() for stored wall times, time.monotonic() for intervals); metric
values are plain floats (NaN/Inf stored as None).
"""

from __future__ import annotations

import math
import queue
import threading
import time

import keras

from core.runs.optimization import current_learning_rate
from core.runs.store import RunStore

BACKUP_COST_SHARE = 0.01  # resume checkpoints may take at most this share of training time ...
BACKUP_MAX_INTERVAL_S = 60.0  # ... but one is written at least this often (at an epoch end)


class StoreCallback(keras.callbacks.Callback):
    """Streams every batch's metrics and each epoch's to the store and honours its stop flag.

    The training thread only appends a row per batch; a writer thread writes the rows (one
    transaction) every `flush_every_s` seconds and at once after an epoch's last batch, and
    reads the stop flag every `stop_check_every_s`, so neither SQLite nor the disk ever stalls
    a training step. Epoch ends write synchronously: an epoch's batch rows and its epoch row
    are in the store before the next callback (the resume checkpoint) runs. A failed write is
    raised on the training thread at the next batch or epoch end. Call close() after fit (also
    when fit raised): it writes what is left and ends the writer.
    """

    def __init__(
        self,
        store: RunStore,
        run_id: str,
        steps_per_epoch: int,
        flush_every_s: float = 0.2,
        stop_check_every_s: float = 0.5,
        lr_per_step: bool = True,
    ):
        super().__init__()
        self.store = store
        self.run_id = run_id
        self.steps_per_epoch = steps_per_epoch
        self.flush_every_s = flush_every_s
        self.stop_check_every_s = stop_check_every_s
        self.lr_per_step = lr_per_step  # False: the rate changes only between epochs (cached)
        self.stopped_by_user = False
        self._epoch = 0
        self._first_epoch: int | None = None
        self._lr: float | None = None
        self._pending: list[tuple[int, int, float, dict]] = []
        self._progress: tuple[int, int] | None = None  # (epoch, step in epoch) not yet written
        self._lock = threading.Lock()  # guards _pending and _progress
        self._write_lock = threading.Lock()  # one write at a time, in order
        self._wake = threading.Event()
        self._closing = threading.Event()
        self._stop_seen = threading.Event()
        self._error: BaseException | None = None
        self._writer: threading.Thread | None = None

    def on_train_begin(self, logs=None):
        if self._writer is None:
            self._writer = threading.Thread(target=self._write_loop, daemon=True, name="metrics")
            self._writer.start()

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
        self._lr = None if self.lr_per_step else current_learning_rate(self.model.optimizer)
        if epoch == self._first_epoch:  # later epochs: on_epoch_end already wrote (epoch, 0)
            self.store.set_progress(self.run_id, epoch, 0, self.steps_per_epoch)

    def on_train_batch_end(self, batch, logs=None):
        self._raise_writer_error()
        values = _floats(logs)
        values["learning_rate"] = (
            self._lr if self._lr is not None else current_learning_rate(self.model.optimizer)
        )
        row = (self._epoch * self.steps_per_epoch + batch + 1, self._epoch, time.time(), values)
        with self._lock:
            self._pending.append(row)
            self._progress = (self._epoch, batch + 1)
        if batch + 1 == self.steps_per_epoch:
            self._wake.set()  # the epoch's tail is readable during validation, not after it
        if self._stop_seen.is_set() and not self.stopped_by_user:
            self.stopped_by_user = True
            self.model.stop_training = True

    def on_epoch_end(self, epoch, logs=None):
        self._write_pending(progress=False)  # (epoch + 1, 0) below supersedes it
        self._raise_writer_error()
        values = _floats(logs)
        values["learning_rate"] = current_learning_rate(self.model.optimizer)
        self.store.add_epoch_metrics(self.run_id, epoch, values)
        self.store.set_progress(self.run_id, epoch + 1, 0, self.steps_per_epoch)

    def on_train_end(self, logs=None):
        self.close()

    def close(self, raise_errors: bool = True) -> None:
        """End the writer thread and write every row still pending (idempotent); with
        raise_errors=False (fit already failed) a failed write is dropped, not raised."""
        self._closing.set()
        self._wake.set()
        if self._writer is not None:
            self._writer.join(timeout=60)
        try:
            self._write_pending()
            self._raise_writer_error()
        except BaseException:
            if raise_errors:
                raise

    def _write_loop(self) -> None:
        last_stop_check = 0.0
        while not self._closing.is_set():
            self._wake.wait(self.flush_every_s)
            self._wake.clear()
            try:
                self._write_pending()
                now = time.monotonic()
                if now - last_stop_check >= self.stop_check_every_s:
                    last_stop_check = now
                    if self.store.stop_requested(self.run_id):
                        self._stop_seen.set()
            except BaseException as err:  # noqa: BLE001 - raised on the training thread
                self._error = err
                return

    def _write_pending(self, progress: bool = True) -> None:
        with self._write_lock:
            with self._lock:
                rows, self._pending = self._pending, []
                latest, self._progress = self._progress, None
            if rows:
                self.store.add_batch_metrics(self.run_id, rows)
            if progress and latest is not None:
                self.store.set_progress(self.run_id, *latest, self.steps_per_epoch)

    def _raise_writer_error(self) -> None:
        if self._error is not None:
            error, self._error = self._error, None
            raise error


class EpochBackup(keras.callbacks.BackupAndRestore):
    """BackupAndRestore that writes its resume checkpoint after the first epoch, then at an
    epoch end only once `1 / cost_share` times the last write's duration has passed (at most
    `max_interval_s`), so short epochs do not spend a tenth of their time saving. A kill
    resumes from the last checkpoint written: at most max(one epoch, max_interval_s) is redone.
    """

    def __init__(
        self,
        backup_dir: str,
        cost_share: float = BACKUP_COST_SHARE,
        max_interval_s: float = BACKUP_MAX_INTERVAL_S,
        clock=time.monotonic,
        **kwargs,
    ):
        super().__init__(backup_dir, **kwargs)
        self.cost_share = cost_share
        self.max_interval_s = max_interval_s
        self.clock = clock
        self._next_save: float | None = None  # clock time after which the next epoch end saves

    def on_epoch_end(self, epoch, logs=None):
        started = self.clock()
        if self._next_save is not None and started < self._next_save:
            return
        super().on_epoch_end(epoch, logs)  # records epoch + 1 as where a resume starts
        cost = self.clock() - started
        wait = cost / self.cost_share if self.cost_share > 0 else 0.0
        self._next_save = started + cost + min(self.max_interval_s, wait)


class EpochTensorBoard(keras.callbacks.TensorBoard):
    """TensorBoard with update_freq="epoch" (its default) minus Keras' work on the training
    thread: with no batch-level writer, TensorBoard.on_train_batch_end only makes no-op summary
    calls (about 1 ms per batch on a 2-core CPU), so it is skipped; and the epoch and
    validation scalars (~25 ms per epoch of eager summary ops) are written by a thread of
    their own, from values read on the training thread at the epoch's end (the same events as
    the stock callback). on_train_end writes what is left, then closes the files. Batch-level
    logging, histograms, embeddings or profiling keep the stock hooks."""

    def __init__(self, log_dir: str, profile_batch=0, **kwargs):
        super().__init__(log_dir, profile_batch=profile_batch, **kwargs)
        self._batch_hook = bool(profile_batch) or self.write_steps_per_second
        self._batch_hook = self._batch_hook or self.update_freq != "epoch"
        self._background = not (self._batch_hook or self.histogram_freq or self.embeddings_freq)
        self._jobs: queue.SimpleQueue = queue.SimpleQueue()
        self._summary_thread: threading.Thread | None = None
        self._summary_error: BaseException | None = None

    def on_train_begin(self, logs=None):
        super().on_train_begin(logs)
        if self._background and self._summary_thread is None:
            self._summary_thread = threading.Thread(
                target=self._summary_loop, daemon=True, name="tensorboard"
            )
            self._summary_thread.start()

    def on_train_batch_end(self, batch, logs=None):
        if self._batch_hook:
            super().on_train_batch_end(batch, logs)

    def on_epoch_end(self, epoch, logs=None):
        if not self._background:
            return super().on_epoch_end(epoch, logs)
        self._raise_summary_error()
        logs = dict(logs or {})
        train = {k: v for k, v in logs.items() if not k.startswith("val_")}
        train = self._collect_learning_rate(train)  # the rate at this epoch's end
        val = {k[len("val_") :]: v for k, v in logs.items() if k.startswith("val_")}
        self._jobs.put(("train", "epoch_", "", train, epoch))
        self._jobs.put(("val", "epoch_", "", val, epoch))

    def on_test_end(self, logs=None):
        if not self._background:
            return super().on_test_end(logs)
        optimizer = self.model.optimizer
        if optimizer is not None and hasattr(optimizer, "iterations"):
            step = int(keras.ops.convert_to_numpy(optimizer.iterations))
            self._jobs.put(("val", "evaluation_", "_vs_iterations", dict(logs or {}), step))

    def on_train_end(self, logs=None):
        if self._summary_thread is not None:
            self._jobs.put(None)
            self._summary_thread.join(timeout=60)
            self._summary_thread = None
        super().on_train_end(logs)
        self._raise_summary_error()

    def _summary_loop(self) -> None:
        while (job := self._jobs.get()) is not None:
            which, prefix, suffix, values, step = job
            if not values or self._summary_error is not None:
                continue
            try:
                writer = self._train_writer if which == "train" else self._val_writer
                with writer.as_default():
                    for name, value in values.items():
                        self.summary.scalar(f"{prefix}{name}{suffix}", value, step=step)
            except BaseException as err:  # noqa: BLE001 - raised on the training thread
                self._summary_error = err

    def _raise_summary_error(self) -> None:
        if self._summary_error is not None:
            error, self._summary_error = self._summary_error, None
            raise error


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
