"""core.runs.callbacks: metric values reach the store as plain JSON-safe floats."""

from __future__ import annotations

import numpy as np

from core.runs.callbacks import _floats


def test_floats_converts_drops_and_nulls():
    logs = {
        "loss": np.float32(0.5),
        "acc": 1,
        "bad": float("nan"),
        "inf": float("inf"),
        "name": "text",
        "none": None,
    }
    assert _floats(logs) == {"loss": 0.5, "acc": 1.0, "bad": None, "inf": None}
    assert _floats(None) == {}


def _tiny_fit(callbacks, epochs: int, steps: int = 8):
    """A 2-weight model fitted on `steps` batches of 8 random examples per epoch."""
    import keras

    keras.utils.set_random_seed(0)
    x = np.random.default_rng(0).normal(size=(8 * steps, 3)).astype("float32")
    y = x.sum(axis=1, keepdims=True)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    model.fit(x, y, batch_size=8, epochs=epochs, callbacks=callbacks, verbose=0, shuffle=False)
    return model


def _store(tmp_path):
    from core.config import RunConfig
    from core.runs.store import RunStore

    store = RunStore(tmp_path / "runs.sqlite")
    return store, store.create_run(RunConfig(epochs=3).to_dict())


def test_store_callback_writes_every_batch_once_in_order_from_its_writer_thread(tmp_path):
    from core.runs.callbacks import StoreCallback

    store, run_id = _store(tmp_path)
    streamer = StoreCallback(store, run_id, steps_per_epoch=8, flush_every_s=0.01)
    _tiny_fit([streamer], epochs=3)
    rows = store.batch_metrics(run_id, max_points=10_000)
    assert [r["global_step"] for r in rows] == list(range(1, 25))
    assert [r["epoch"] for r in rows] == [0] * 8 + [1] * 8 + [2] * 8
    assert all(
        abs(r["learning_rate"] - 0.01) < 1e-6 and r["loss"] > 0 for r in rows
    )  # sgd's default rate
    assert [e["epoch"] for e in store.epoch_metrics(run_id)] == [0, 1, 2]
    run = store.get_run(run_id)
    assert (run.epoch, run.step) == (3, 0)
    assert not streamer._writer.is_alive()  # ended by on_train_end


def test_store_callback_honours_the_stop_flag(tmp_path):
    from core.runs.callbacks import StoreCallback

    store, run_id = _store(tmp_path)
    store.request_stop(run_id)
    streamer = StoreCallback(store, run_id, steps_per_epoch=8, stop_check_every_s=0.0)
    _tiny_fit([streamer], epochs=500)  # about a minute if it ignored the flag
    assert streamer.stopped_by_user
    steps = [r["global_step"] for r in store.batch_metrics(run_id, max_points=10_000)]
    assert steps == list(range(1, len(steps) + 1)) and len(steps) < 500 * 8


def test_a_failed_metrics_write_fails_fit_on_the_training_thread(tmp_path):
    import sqlite3

    import pytest

    from core.runs.callbacks import StoreCallback

    store, run_id = _store(tmp_path)

    def full(*_args):
        raise sqlite3.OperationalError("database or disk is full")

    store.add_batch_metrics = full
    streamer = StoreCallback(store, run_id, steps_per_epoch=8, flush_every_s=0.0)
    with pytest.raises(sqlite3.OperationalError, match="disk is full"):
        _tiny_fit([streamer], epochs=50)
    streamer.close(raise_errors=False)  # what train_run does after fit raised: no second error
    assert not streamer._writer.is_alive()


def test_epoch_backup_writes_after_the_first_epoch_then_within_its_time_budget(tmp_path):
    import json

    import keras

    from core.runs.callbacks import EpochBackup

    ticks = iter(range(1000))  # a clock that advances 1 s per reading
    backup = EpochBackup(
        str(tmp_path / "backup"),
        max_interval_s=3.0,
        clock=lambda: next(ticks),
        delete_checkpoint=False,
    )  # each save "takes" 1 s, so the budget alone would wait 50 s: the 3 s cap decides
    saved = []

    class Recorder(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            meta = tmp_path / "backup" / "training_metadata.json"
            saved.append(json.loads(meta.read_text())["epoch"] if meta.exists() else None)

    _tiny_fit([backup, Recorder()], epochs=7, steps=1)
    # clock: epoch 0 saves at 0-1 (next at 4); epochs 1, 2 read 2, 3: skipped; epoch 3 saves at
    # 4-5 (next at 8); epochs 4, 5 skipped; epoch 6 reads 8 and saves
    assert saved == [1, 1, 1, 4, 4, 4, 7]


def test_epoch_tensorboard_skips_keras_per_batch_hook_only_when_nothing_is_logged_per_batch(
    tmp_path, monkeypatch
):
    import keras

    from core.runs.callbacks import EpochTensorBoard

    calls = []
    stock = keras.callbacks.TensorBoard.on_train_batch_end
    monkeypatch.setattr(
        keras.callbacks.TensorBoard,
        "on_train_batch_end",
        lambda self, batch, logs=None: calls.append(batch) or stock(self, batch, logs),
    )
    _tiny_fit([EpochTensorBoard(str(tmp_path / "epoch"), write_graph=False)], epochs=2)
    assert calls == []
    assert list((tmp_path / "epoch" / "train").glob("events.out.tfevents.*"))  # epoch summaries
    _tiny_fit([EpochTensorBoard(str(tmp_path / "batch"), update_freq="batch")], epochs=1)
    assert calls == list(range(8))  # batch-level logging keeps Keras' own hook
