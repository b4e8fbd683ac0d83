"""Optimizers, learning-rate schedules, weight regularisation and training callbacks from a config.

Every option of RunConfig that changes how weights are updated ends up here as a Keras object.
"""

from __future__ import annotations

from core.config import RunConfig

OPTIMIZERS = ("adam", "adamw", "sgd", "sgd_momentum", "nesterov", "rmsprop", "adagrad", "adadelta")
SCHEDULES = ("constant", "exponential", "cosine", "plateau")


def make_schedule(config: RunConfig, total_steps: int):
    """The learning rate as a float or a keras LearningRateSchedule (steps = optimizer updates)."""
    import keras

    lr = config.learning_rate
    if config.lr_schedule == "exponential":
        return keras.optimizers.schedules.ExponentialDecay(
            lr,
            decay_steps=max(1, config.lr_decay_steps),
            decay_rate=config.lr_decay_rate,
            staircase=config.lr_staircase,
        )
    if config.lr_schedule == "cosine":
        return keras.optimizers.schedules.CosineDecay(
            lr, decay_steps=max(1, total_steps), alpha=config.lr_min_fraction
        )
    return lr  # constant, and plateau (changed by a callback at epoch ends)


def make_optimizer(config: RunConfig, total_steps: int):
    """A Keras optimizer with the config's schedule, clipping and weight averaging."""
    import keras

    common = {"learning_rate": make_schedule(config, total_steps)}
    if config.clipnorm:
        common["clipnorm"] = config.clipnorm
    if config.global_clipnorm:
        common["global_clipnorm"] = config.global_clipnorm
    if config.ema_momentum:
        common.update(use_ema=True, ema_momentum=config.ema_momentum)
    name = config.optimizer
    if name == "adam":
        return keras.optimizers.Adam(**common)
    if name == "adamw":
        return keras.optimizers.AdamW(weight_decay=config.weight_decay, **common)
    if name == "sgd":
        return keras.optimizers.SGD(**common)
    if name == "sgd_momentum":
        return keras.optimizers.SGD(momentum=config.momentum, **common)
    if name == "nesterov":
        return keras.optimizers.SGD(momentum=config.momentum, nesterov=True, **common)
    if name == "rmsprop":
        return keras.optimizers.RMSprop(momentum=0.0, **common)
    if name == "adagrad":
        return keras.optimizers.Adagrad(**common)
    if name == "adadelta":
        return keras.optimizers.Adadelta(**common)
    raise ValueError(f"unknown optimizer {name!r}; choose one of: {', '.join(OPTIMIZERS)}")


KERNEL_NAMES = ("kernel", "recurrent_kernel", "depthwise_kernel", "pointwise_kernel")


def apply_weight_regularization(model, l1: float, l2: float) -> int:
    """Attach an L1/L2 penalty to every trainable kernel (dense, conv, recurrent); returns how many.

    Kernels are found among `model.weights`, which already covers every tracked sublayer:
    nested models (a transfer-learning base), wrappers (Bidirectional, TimeDistributed) and RNN
    cells. Walking `Model.layers` instead would miss the last two, since only models have
    `layers`. A kernel is a variable whose (last path component) name is in KERNEL_NAMES, the
    names Keras's own layers give them. Frozen (non-trainable) kernels get no penalty.
    """
    import keras

    if not (l1 or l2):
        return 0
    penalty = keras.regularizers.L1L2(l1=l1, l2=l2)
    kernels = {id(v): v for v in model.weights if v.name in KERNEL_NAMES and v.trainable}
    for variable in kernels.values():
        variable.regularizer = penalty
    return len(kernels)


def training_callbacks(config: RunConfig) -> list:
    """Early stopping and reduce-on-plateau callbacks the config asks for."""
    import keras

    callbacks = []
    if config.lr_schedule == "plateau":
        callbacks.append(
            keras.callbacks.ReduceLROnPlateau(
                monitor="val_loss",
                factor=config.plateau_factor,
                patience=config.plateau_patience,
                verbose=0,
            )
        )
    if config.early_stopping_patience is not None:
        callbacks.append(
            keras.callbacks.EarlyStopping(
                monitor="val_loss",
                patience=config.early_stopping_patience,
                restore_best_weights=config.restore_best_weights,
                verbose=0,
            )
        )
    return callbacks


def current_learning_rate(optimizer) -> float:
    """The learning rate the optimizer applies at its current step."""
    import keras

    # convert_to_numpy: under tf.distribute the rate is a MirroredVariable, which float() refuses
    return float(keras.ops.convert_to_numpy(optimizer.learning_rate))
