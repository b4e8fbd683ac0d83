"""core.runs.callbacks.EpochTensorBoard writes, from its own thread, the events the stock
Keras TensorBoard callback writes with update_freq="epoch" (same tags, steps and values)."""

from __future__ import annotations

import numpy as np


def _fit(callback, epochs: int = 3) -> None:
    import keras

    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 3)).astype("float32")
    y = (x.sum(axis=1) > 0).astype("int64")
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, activation="softmax")])
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(
        x[:48],
        y[:48],
        validation_data=(x[48:], y[48:]),
        batch_size=8,
        epochs=epochs,
        callbacks=[callback],
        verbose=0,
        shuffle=False,
    )


def _events(folder) -> dict[str, list[tuple[str, int, float]]]:
    """(tag, step, value) of every float scalar in the train/ and validation/ event files."""
    import tensorflow as tf

    found = {}
    for part in ("train", "validation"):
        rows = []
        for path in sorted((folder / part).glob("events.out.tfevents.*")):
            for event in tf.compat.v1.train.summary_iterator(str(path)):
                for value in event.summary.value:
                    array = tf.make_ndarray(value.tensor)
                    if array.size == 1 and array.dtype.kind == "f":  # a scalar summary
                        rows.append((value.tag, int(event.step), round(float(array), 5)))
        found[part] = sorted(rows)
    return found


def test_epoch_tensorboard_writes_the_stock_callbacks_scalars_off_the_training_thread(tmp_path):
    import keras

    from core.runs.callbacks import EpochTensorBoard

    ours = EpochTensorBoard(str(tmp_path / "ours"), write_graph=False)
    assert ours._background  # epoch-only logging: the summaries go through its thread
    _fit(ours)
    _fit(keras.callbacks.TensorBoard(str(tmp_path / "stock"), write_graph=False, profile_batch=0))
    mine, stock = _events(tmp_path / "ours"), _events(tmp_path / "stock")
    tags = {tag for tag, _, _ in mine["train"]}
    assert {"epoch_loss", "epoch_accuracy", "epoch_learning_rate"} <= tags
    assert [step for tag, step, _ in mine["train"] if tag == "epoch_loss"] == [0, 1, 2]
    val_tags = {tag for tag, _, _ in mine["validation"]}
    assert {"epoch_loss", "evaluation_loss_vs_iterations"} <= val_tags
    assert mine == stock
    assert ours._summary_thread is None  # ended and joined by on_train_end


def test_epoch_tensorboard_keeps_the_stock_epoch_hook_for_histograms(tmp_path):
    from core.runs.callbacks import EpochTensorBoard

    callback = EpochTensorBoard(str(tmp_path / "hist"), write_graph=False, histogram_freq=1)
    assert not callback._background
    _fit(callback, epochs=1)
    assert "epoch_loss" in {tag for tag, _, _ in _events(tmp_path / "hist")["train"]}
