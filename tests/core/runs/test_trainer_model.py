"""GradNormTrainer: grad_norm is the real pre-clipping gradient norm, and everything else it
reports (per batch and per epoch) is what plain `model.fit` reports. Also: core/ uses no private
Keras/TensorFlow API."""

from __future__ import annotations

import io
import re
import tokenize
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

from core.runs.optimization import apply_weight_regularization
from core.runs.trainer_model import GradNormTrainer

CORE = Path(__file__).resolve().parents[3] / "core"
BATCH = 8


def data(n: int = 40, seed: int = 0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 6)).astype(np.float32)
    y = rng.integers(0, 3, size=n).astype(np.int32)
    return x, y


def tiny_model(l2: float = 0.0, dropout: bool = True, seed: int = 0) -> keras.Model:
    keras.utils.set_random_seed(seed)  # same weights and same dropout seed for every copy
    inputs = keras.Input((6,))
    x = keras.layers.Dense(8, activation="relu", name="hidden")(inputs)
    if dropout:
        x = keras.layers.Dropout(0.25, name="drop")(x)
    outputs = keras.layers.Dense(3, activation="softmax", name="out")(x)
    model = keras.Model(inputs, outputs, name="tiny")
    if l2:
        assert apply_weight_regularization(model, 0.0, l2) == 2
    return model


class BatchLogs(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.logs: list[dict] = []

    def on_train_batch_end(self, batch, logs=None):
        self.logs.append({k: float(v) for k, v in (logs or {}).items()})


def hand_grad_norm(model: keras.Model, x, y) -> float:
    """Global norm of d(loss + regularisation)/d(weights) for one batch, by GradientTape."""
    with tf.GradientTape() as tape:
        y_pred = model(x, training=True)
        loss = keras.losses.SparseCategoricalCrossentropy()(y, y_pred)
        if model.losses:
            loss = loss + tf.add_n(model.losses)
    grads = tape.gradient(loss, model.trainable_weights)
    return float(np.sqrt(sum(np.sum(np.square(g.numpy())) for g in grads)))


@pytest.mark.parametrize("jit", [False, True], ids=["eager-graph", "jit"])
@pytest.mark.parametrize("clip", ["global_clipnorm", "clipnorm"])
def test_grad_norm_is_the_global_gradient_norm_before_clipping(jit, clip):
    x, y = data(BATCH)
    model = tiny_model(l2=0.01, dropout=False)
    expected = hand_grad_norm(model, x, y)
    before = [w.numpy() for w in model.trainable_weights]
    limit = expected / 10  # clipping must bite, so a post-clipping norm would show
    trainer = GradNormTrainer(model)
    trainer.compile(
        optimizer=keras.optimizers.SGD(1.0, **{clip: limit}),
        loss=keras.losses.SparseCategoricalCrossentropy(),
        metrics=["accuracy"],
        jit_compile=jit,
    )
    logs = trainer.train_on_batch(x, y, return_dict=True)
    assert float(logs["grad_norm"]) == pytest.approx(expected, rel=1e-5)
    steps = [w.numpy() - b for w, b in zip(model.trainable_weights, before, strict=True)]
    if clip == "global_clipnorm":  # SGD(lr=1): the applied update is the clipped gradient
        total = np.sqrt(sum(np.sum(np.square(s)) for s in steps))
        assert total == pytest.approx(limit, rel=1e-4)
    else:
        assert all(np.linalg.norm(s) <= limit * (1 + 1e-4) for s in steps)


@pytest.mark.parametrize(
    "make_optimizer",
    [
        lambda: keras.optimizers.SGD(0.1, loss_scale_factor=64.0),
        lambda: keras.optimizers.LossScaleOptimizer(keras.optimizers.SGD(0.1), initial_scale=1024),
    ],
    ids=["loss_scale_factor", "LossScaleOptimizer"],
)
def test_grad_norm_is_of_the_unscaled_gradients_under_loss_scaling(make_optimizer):
    x, y = data(BATCH)
    model = tiny_model(dropout=False)
    expected = hand_grad_norm(model, x, y)
    trainer = GradNormTrainer(model)
    trainer.compile(optimizer=make_optimizer(), loss=keras.losses.SparseCategoricalCrossentropy())
    logs = trainer.train_on_batch(x, y, return_dict=True)
    assert float(logs["grad_norm"]) == pytest.approx(expected, rel=1e-5)


def fit(
    wrap: bool,
    make_optimizer,
    l2: float = 0.0,
    jit: bool = False,
    epochs: int = 2,
    **fit_kwargs,
):
    """(history, per-batch logs, final weights) of one training, plain or wrapped."""
    x, y = data()
    x_val, y_val = data(16, seed=1)
    model = tiny_model(l2=l2)
    target = GradNormTrainer(model) if wrap else model
    target.compile(
        optimizer=make_optimizer(),
        loss=keras.losses.SparseCategoricalCrossentropy(),
        metrics=["accuracy"],
        jit_compile=jit,
    )
    batches = BatchLogs()
    history = target.fit(
        x,
        y,
        batch_size=BATCH,
        epochs=epochs,
        shuffle=False,
        verbose=0,
        validation_data=(x_val, y_val),
        callbacks=[batches],
        **fit_kwargs,
    )
    evaluated = target.evaluate(x_val, y_val, verbose=0, return_dict=True)
    return history.history, batches.logs, [w.numpy() for w in model.weights], evaluated


CASES = {
    "adam": dict(make_optimizer=lambda: keras.optimizers.Adam(0.01)),
    "adam-jit": dict(make_optimizer=lambda: keras.optimizers.Adam(0.01), jit=True),
    "class_weight": dict(
        make_optimizer=lambda: keras.optimizers.Adam(0.01),
        class_weight={0: 1.0, 1: 3.0, 2: 0.5},
    ),
    "sample_weight": dict(
        make_optimizer=lambda: keras.optimizers.Adam(0.01),
        sample_weight=np.linspace(0.2, 2.0, 40).astype(np.float32),
    ),
    "l2": dict(make_optimizer=lambda: keras.optimizers.Adam(0.01), l2=0.01),
    "l2-class_weight-jit": dict(
        make_optimizer=lambda: keras.optimizers.Adam(0.01),
        l2=0.01,
        class_weight={0: 2.0, 1: 1.0, 2: 0.5},
        jit=True,
    ),
    "sgd-clipnorm": dict(
        make_optimizer=lambda: keras.optimizers.SGD(0.1, momentum=0.9, clipnorm=0.05)
    ),
    "adam-global_clipnorm-ema": dict(
        make_optimizer=lambda: keras.optimizers.Adam(
            0.01, global_clipnorm=0.1, use_ema=True, ema_momentum=0.9
        )
    ),
}


@pytest.mark.parametrize("case", CASES)
def test_reports_and_trains_exactly_like_plain_fit(case):
    plain, plain_batches, plain_weights, plain_eval = fit(False, **CASES[case])
    wrapped, wrapped_batches, wrapped_weights, wrapped_eval = fit(True, **CASES[case])

    assert set(wrapped) == set(plain) | {"grad_norm"}
    for key in plain:  # loss, accuracy, val_loss, val_accuracy per epoch
        np.testing.assert_allclose(wrapped[key], plain[key], rtol=0, atol=1e-5, err_msg=key)
    # per batch, loss is the running mean over the epoch so far, as in plain fit
    assert len(wrapped_batches) == len(plain_batches) == 10
    for mine, theirs in zip(wrapped_batches, plain_batches, strict=True):
        assert set(mine) == set(theirs) | {"grad_norm"}
        for key in theirs:
            assert mine[key] == pytest.approx(theirs[key], abs=1e-5), key
        assert np.isfinite(mine["grad_norm"]) and mine["grad_norm"] > 0
    for mine, theirs in zip(wrapped_weights, plain_weights, strict=True):
        np.testing.assert_allclose(mine, theirs, rtol=0, atol=1e-5)
    assert set(wrapped_eval) == set(plain_eval)
    for key in plain_eval:
        assert wrapped_eval[key] == pytest.approx(plain_eval[key], abs=1e-5), key


def test_the_epoch_loss_is_the_batch_size_weighted_mean_of_the_batch_losses():
    """An uneven last batch: the epoch `loss` weighs each batch by its size, as Keras does."""
    x, y = data(20)  # batches of 8, 8, 4
    model = tiny_model(dropout=False)
    trainer = GradNormTrainer(model)
    trainer.compile(optimizer=keras.optimizers.SGD(0.0), loss="sparse_categorical_crossentropy")
    history = trainer.fit(x, y, batch_size=BATCH, epochs=1, shuffle=False, verbose=0)
    per_example = keras.losses.sparse_categorical_crossentropy(y, model(x)).numpy()  # lr 0
    assert history.history["loss"][0] == pytest.approx(float(per_example.mean()), rel=1e-5)


# -- no private Keras / TensorFlow API in core/ --------------------------------------------------

FORBIDDEN = re.compile(
    r"\bkeras\.src\b|\bfrom\s+keras\s+import\s+src\b|\btensorflow\.python\b|\btf\.python\b"
    r"|\b_flatten_layers\b|\b_compute_loss\b|\b_loss_tracker\b"
    r"|\b_inbound_nodes\b|\b_keras_history\b"
)


def code_without_comments(path: Path) -> str:
    """The file's text with comments blanked (strings stay: getattr(m, "_loss_tracker") counts)."""
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines(keepends=True)
    for token in tokenize.generate_tokens(io.StringIO(text).readline):
        if token.type == tokenize.COMMENT:
            (row, start), (_, end) = token.start, token.end
            line = lines[row - 1]
            lines[row - 1] = line[:start] + " " * (end - start) + line[end:]
    return "".join(lines)


def test_the_private_api_pattern_catches_what_it_should():
    for bad in (
        "from keras.src.trainers.data_adapters import data_adapter_utils",
        "import keras.src.backend",
        "from keras import src",
        "from tensorflow.python.eager import context",
        "tf.python.keras",
        "model._flatten_layers(include_self=False)",
        "self._compute_loss(x=x)",
        'getattr(self, "_loss_tracker")',
    ):
        assert FORBIDDEN.search(bad), bad
    for fine in ("keras.utils.unpack_x_y_sample_weight", "self.compute_loss(x=x)", "keras.source"):
        assert not FORBIDDEN.search(fine), fine


def test_comments_are_ignored_but_code_and_strings_are_not(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text(
        "from keras.src import tree  # keras.src\n"
        "x = 1  # the old code called model._flatten_layers\n"
        "y = getattr(model, '_loss_tracker')\n"
    )
    found = [m.group(0) for m in FORBIDDEN.finditer(code_without_comments(sample))]
    assert found == ["keras.src", "_loss_tracker"]


def test_core_uses_no_keras_src_and_no_private_trainer_internals():
    hits = []
    for path in sorted(CORE.rglob("*.py")):
        for match in FORBIDDEN.finditer(code_without_comments(path)):
            hits.append(f"{path.relative_to(CORE.parent)}: {match.group(0)}")
    assert not hits, "private Keras/TensorFlow API in core/:\n" + "\n".join(hits)
