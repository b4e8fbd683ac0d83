"""Every training option reaches Keras: optimizer classes, schedules, clipping, EMA, penalties."""

import keras
import numpy as np
import pytest

from core.config import RunConfig
from core.models.zoo.transfer import TransferSettings, build_transfer, transfer_base
from core.runs.optimization import (
    OPTIMIZERS,
    apply_weight_regularization,
    make_optimizer,
    make_schedule,
    training_callbacks,
)
from core.runs.trainer_model import GradNormTrainer

EXPECTED = {
    "adam": keras.optimizers.Adam,
    "adamw": keras.optimizers.AdamW,
    "sgd": keras.optimizers.SGD,
    "sgd_momentum": keras.optimizers.SGD,
    "nesterov": keras.optimizers.SGD,
    "rmsprop": keras.optimizers.RMSprop,
    "adagrad": keras.optimizers.Adagrad,
    "adadelta": keras.optimizers.Adadelta,
}


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_every_optimizer_is_the_keras_class(name):
    opt = make_optimizer(RunConfig(optimizer=name, learning_rate=0.01, momentum=0.8), 100)
    assert type(opt) is EXPECTED[name]
    assert float(opt.learning_rate) == pytest.approx(0.01)


def test_momentum_nesterov_and_weight_decay_are_passed():
    assert make_optimizer(RunConfig(optimizer="sgd"), 10).momentum == 0.0
    momentum = make_optimizer(RunConfig(optimizer="sgd_momentum", momentum=0.8), 10)
    assert momentum.momentum == pytest.approx(0.8) and not momentum.nesterov
    nesterov = make_optimizer(RunConfig(optimizer="nesterov", momentum=0.7), 10)
    assert nesterov.nesterov and nesterov.momentum == pytest.approx(0.7)
    adamw = make_optimizer(RunConfig(optimizer="adamw", weight_decay=0.01), 10)
    assert adamw.weight_decay == pytest.approx(0.01)


def test_exponential_schedule_value_at_a_step_smooth_and_staircase():
    smooth = make_schedule(
        RunConfig(
            learning_rate=0.1, lr_schedule="exponential", lr_decay_steps=10, lr_decay_rate=0.5
        ),
        100,
    )
    assert float(smooth(15)) == pytest.approx(0.1 * 0.5**1.5, rel=1e-5)
    stairs = make_schedule(
        RunConfig(
            learning_rate=0.1,
            lr_schedule="exponential",
            lr_decay_steps=10,
            lr_decay_rate=0.5,
            lr_staircase=True,
        ),
        100,
    )
    assert float(stairs(15)) == pytest.approx(0.05, rel=1e-5)


def test_cosine_schedule_decays_over_all_steps_to_the_floor():
    sched = make_schedule(
        RunConfig(learning_rate=0.1, lr_schedule="cosine", lr_min_fraction=0.1), total_steps=200
    )
    assert float(sched(0)) == pytest.approx(0.1)
    assert float(sched(100)) == pytest.approx(0.1 * (0.1 + 0.9 * 0.5), rel=1e-4)
    assert float(sched(200)) == pytest.approx(0.01, rel=1e-4)


def test_constant_and_plateau_keep_a_float_rate_and_plateau_adds_a_callback():
    assert make_schedule(RunConfig(learning_rate=0.02), 10) == 0.02
    callbacks = training_callbacks(
        RunConfig(lr_schedule="plateau", plateau_factor=0.3, plateau_patience=4)
    )
    plateau = [c for c in callbacks if isinstance(c, keras.callbacks.ReduceLROnPlateau)]
    assert plateau and plateau[0].factor == pytest.approx(0.3) and plateau[0].patience == 4


def test_early_stopping_callback():
    assert training_callbacks(RunConfig()) == []
    (stop,) = training_callbacks(RunConfig(early_stopping_patience=2, restore_best_weights=False))
    assert isinstance(stop, keras.callbacks.EarlyStopping)
    assert stop.patience == 2 and stop.restore_best_weights is False


def test_clipping_and_ema_reach_the_optimizer():
    opt = make_optimizer(RunConfig(clipnorm=0.5, ema_momentum=0.95), 10)
    assert opt.clipnorm == pytest.approx(0.5) and opt.use_ema and opt.ema_momentum == 0.95
    opt = make_optimizer(RunConfig(global_clipnorm=2.0), 10)
    assert opt.global_clipnorm == pytest.approx(2.0)


def test_global_clipnorm_limits_the_update():
    var = keras.Variable(np.zeros(4, np.float32))
    opt = make_optimizer(RunConfig(optimizer="sgd", learning_rate=1.0, global_clipnorm=1.0), 10)
    opt.apply_gradients([(np.full(4, 10.0, np.float32), var)])
    assert np.linalg.norm(var.numpy()) == pytest.approx(1.0, rel=1e-5)


def test_l1_l2_penalty_is_in_the_model_losses():
    inputs = keras.Input((3,))
    layer = keras.layers.Dense(2, kernel_initializer="ones", name="d")
    model = keras.Model(inputs, layer(inputs))
    assert apply_weight_regularization(model, 0.0, 0.0) == 0
    assert apply_weight_regularization(model, l1=0.1, l2=0.01) == 1
    (penalty,) = model.losses
    expected = 0.1 * 6 + 0.01 * 6  # six weights equal to one
    assert float(penalty) == pytest.approx(expected, rel=1e-5)


def test_penalty_reaches_kernels_in_nested_models_wrappers_and_cells_once_each():
    base_in = keras.Input((4,))
    base = keras.Model(base_in, keras.layers.Dense(5, name="base_dense")(base_in), name="base")
    frozen_in = keras.Input((4,))
    frozen = keras.Model(frozen_in, keras.layers.Dense(5, name="frozen_dense")(frozen_in))
    frozen.trainable = False
    inputs = keras.Input((4,))
    x = keras.layers.Add()([base(inputs), base(inputs), frozen(inputs)])  # base used twice
    x = keras.layers.Reshape((5, 1))(x)
    x = keras.layers.Bidirectional(keras.layers.LSTM(2, name="lstm"), name="bi")(x)
    model = keras.Model(inputs, keras.layers.Dense(3, name="head")(x))

    # base kernel, forward and backward LSTM cell kernel + recurrent kernel, head; not frozen
    assert apply_weight_regularization(model, l1=0.0, l2=0.01) == 6
    penalised = sorted(v.path for v in model.weights if v.regularizer is not None)
    assert penalised == [
        "base_dense/kernel",
        "bi/backward_lstm/lstm_cell/kernel",
        "bi/backward_lstm/lstm_cell/recurrent_kernel",
        "bi/forward_lstm/lstm_cell/kernel",
        "bi/forward_lstm/lstm_cell/recurrent_kernel",
        "head/kernel",
    ]
    expected = sum(
        0.01 * float(np.sum(np.square(v.numpy())))
        for v in model.weights
        if v.regularizer is not None
    )
    assert float(sum(model.losses)) == pytest.approx(expected, rel=1e-5)


def test_penalty_reaches_the_base_of_a_transfer_model_and_the_trainer_loss():
    model, _ = build_transfer(
        (32, 32, 3), 4, TransferSettings(weights="none", trainable_base=True, dropout=0.0)
    )
    base = transfer_base(model)

    def kernels_by_layer_walk(m):  # independent count: every layer of every nested model
        for layer in m.layers:
            if isinstance(layer, keras.Model):
                yield from kernels_by_layer_walk(layer)
            for attr in ("kernel", "depthwise_kernel"):
                if getattr(layer, attr, None) is not None:
                    yield getattr(layer, attr)

    in_base = len(list(kernels_by_layer_walk(base)))
    assert in_base > 40  # MobileNetV2's convolutions
    assert apply_weight_regularization(model, l1=0.0, l2=1e-4) == in_base + 1  # + the head
    assert all(v.regularizer is not None for v in base.weights if v.name.endswith("kernel"))
    assert len(GradNormTrainer(model).losses) == in_base + 1  # reaches the wrapper's loss
