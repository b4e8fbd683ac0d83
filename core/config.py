"""Run configuration: one dataclass that round-trips to JSON and accepts `key=value` overrides."""

from __future__ import annotations

import dataclasses
import json
import math
import typing
from dataclasses import dataclass, field

MIXED_PRECISION = ("off", "mixed_float16", "mixed_bfloat16")


@dataclass
class DeviceSettings:
    """Device settings a worker applies before building anything (core.devices); MB = 2**20 B.

    visible_gpus: None = any free GPU(s), `gpu_count` of them, as the scheduler assigns (all
    GPUs without one); [] = CPU only; else these GPU indices, numbered as nvidia-smi does.
    """

    visible_gpus: list[int] | None = None
    gpu_count: int = 1  # how many GPUs "any free GPU" asks for; > 1 mirrors the model over them
    memory_growth: bool = True
    memory_limit_mb: int | None = None  # per GPU
    mixed_precision: str = "off"  # off | mixed_float16 | mixed_bfloat16 (older configs: bool)
    jit_compile: bool | None = None  # XLA; None = Keras "auto" (on with a GPU, off on CPU)
    log_device_placement: bool = False  # each op's device into the run's worker.log
    oom_backoff: bool = False  # out of memory: retry with half the batch size ...
    oom_min_batch_size: int = 4  # ... but never below this
    cpu_replicas: int = 1  # testing without GPUs: N logical CPUs, mirrored when N > 1

    def __post_init__(self) -> None:
        self.mixed_precision = _precision_name(self.mixed_precision)

    def validate(self) -> None:
        if self.visible_gpus is not None and (
            not isinstance(self.visible_gpus, list)
            or not all(isinstance(i, int) and i >= 0 for i in self.visible_gpus)
        ):
            raise ConfigError("devices.visible_gpus must be a list of GPU indices (0, 1, ...)")
        if self.gpu_count < 1:
            raise ConfigError("devices.gpu_count must be at least 1")
        if self.memory_limit_mb is not None and self.memory_limit_mb < 64:
            raise ConfigError("devices.memory_limit_mb must be at least 64 (MB) or empty")
        if self.oom_min_batch_size < 1:
            raise ConfigError("devices.oom_min_batch_size must be at least 1")
        if not 1 <= self.cpu_replicas <= 16:
            raise ConfigError("devices.cpu_replicas must be in 1..16")


def _precision_name(value) -> str:
    """Older configs stored mixed precision as a bool (True meant mixed_float16)."""
    text = str(value).strip().lower()
    if value is True or text in ("1", "true", "yes", "on"):
        return "mixed_float16"
    if value is False or value is None or text in ("0", "false", "no", "off", "none", ""):
        return "off"
    if text not in MIXED_PRECISION:
        raise ConfigError(
            f"devices.mixed_precision must be one of: {', '.join(MIXED_PRECISION)} (got {value!r})"
        )
    return text


@dataclass
class RunConfig:
    """Everything needed to repeat a training run."""

    dataset: str = "digits"
    model: str = "cnn"
    model_settings: dict = field(default_factory=dict)  # overrides of the model's settings
    data_settings: dict = field(default_factory=dict)  # task-specific data/label options
    epochs: int = 5
    batch_size: int = 32
    seed: int = 42
    max_train_examples: int | None = None  # subsample the training split (quick experiments)
    shuffle_buffer: int = 10_000
    name: str = ""
    # optimisation
    optimizer: str = "adam"  # see core.runs.optimization.OPTIMIZERS
    learning_rate: float = 1e-3
    momentum: float = 0.9  # sgd_momentum, nesterov, rmsprop
    weight_decay: float = 0.004  # adamw only
    lr_schedule: str = "constant"  # constant | exponential | cosine | plateau
    lr_decay_steps: int = 100  # exponential: steps per decay
    lr_decay_rate: float = 0.9  # exponential: factor per decay_steps
    lr_staircase: bool = False  # exponential: decay in steps instead of smoothly
    lr_min_fraction: float = 0.0  # cosine: final learning rate as a fraction of the first
    plateau_factor: float = 0.5  # plateau: multiply the learning rate by this ...
    plateau_patience: int = 2  # ... after this many epochs without val_loss improvement
    clipnorm: float | None = None  # clip each gradient tensor to this norm
    global_clipnorm: float | None = None  # clip all gradients together to this global norm
    ema_momentum: float | None = None  # exponential moving average of weights, e.g. 0.99
    # regularisation
    l1: float = 0.0
    l2: float = 0.0
    dropout: float | None = None  # overrides the model's dropout rate when set
    label_smoothing: float = 0.0
    class_weight: str = "none"  # none | balanced
    # loss
    loss: str = "sparse"  # sparse (integer labels) | onehot (categorical cross-entropy)
    from_logits: bool = False  # train on logits (the saved model still outputs probabilities)
    # stopping and validation
    early_stopping_patience: int | None = None
    restore_best_weights: bool = True
    validation_split: float | None = None  # carve validation from train instead of the fixed split
    k_folds: int | None = None  # K-fold cross-validation: K runs in one group ...
    fold: int | None = None  # ... this run validates on fold `fold` (0-based)
    augmentation: list = field(default_factory=list)  # core.augment.pipeline pipeline spec
    augment_seed: int | None = None  # seed of the augmentation draws (default: seed)
    init_from: str = ""  # picking: start from this picker run's weights (core.tasks.init_from)
    freeze_encoder: bool = False  # with init_from: keep the encoder's weights fixed
    continue_from: str = ""  # continue this run's checkpoint (core.runs.continue_run)
    devices: DeviceSettings = field(default_factory=DeviceSettings)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def model_overrides(self) -> dict:
        """model_settings, plus the run-wide dropout when it is set."""
        settings = dict(self.model_settings)
        if self.dropout is not None:
            settings["dropout"] = self.dropout
        return settings

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    @classmethod
    def from_dict(cls, data: dict) -> RunConfig:
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"unknown config field(s): {', '.join(unknown)}")
        values = dict(data)
        if isinstance(values.get("devices"), dict):
            allowed = {f.name for f in dataclasses.fields(DeviceSettings)}
            bad = sorted(set(values["devices"]) - allowed)
            if bad:
                raise ConfigError(f"unknown device setting(s): {', '.join(bad)}")
            values["devices"] = DeviceSettings(**values["devices"])
        config = cls(**values)
        config.validate()
        return config

    @classmethod
    def from_json(cls, text: str) -> RunConfig:
        return cls.from_dict(json.loads(text))

    def with_overrides(self, pairs: list[str]) -> RunConfig:
        """A copy with `key=value` strings applied (`devices.memory_growth=false` works too)."""
        data = self.to_dict()
        for pair in pairs:
            if "=" not in pair:
                raise ConfigError(f"expected key=value, got {pair!r}")
            key, raw = pair.split("=", 1)
            key = key.strip()
            if key.startswith("devices."):
                sub = key.split(".", 1)[1]
                data["devices"][sub] = _parse_value(DeviceSettings, sub, raw)
            else:
                data[key] = _parse_value(RunConfig, key, raw)
        return RunConfig.from_dict(data)

    def validate(self) -> None:
        self.devices.validate()
        if self.epochs < 1:
            raise ConfigError("epochs must be at least 1")
        if self.batch_size < 1:
            raise ConfigError("batch_size must be at least 1")
        if not (self.learning_rate > 0 and math.isfinite(self.learning_rate)):
            raise ConfigError("learning_rate must be positive")
        if self.max_train_examples is not None and self.max_train_examples < 1:
            raise ConfigError("max_train_examples must be at least 1 (or empty for all)")
        if self.validation_split is not None and not 0 < self.validation_split < 1:
            raise ConfigError("validation_split must be between 0 and 1")
        if self.k_folds is not None:
            if self.k_folds < 2:
                raise ConfigError("k_folds must be at least 2")
            if self.fold is None or not 0 <= self.fold < self.k_folds:
                raise ConfigError(f"fold must be in 0..{self.k_folds - 1} when k_folds is set")
        if not 0 <= self.label_smoothing < 1:
            raise ConfigError("label_smoothing must be in [0, 1)")
        if self.dropout is not None and not 0 <= self.dropout < 1:
            raise ConfigError("dropout must be in [0, 1)")
        if self.l1 < 0 or self.l2 < 0:
            raise ConfigError("l1 and l2 must not be negative")
        for choice, options in (
            ("lr_schedule", ("constant", "exponential", "cosine", "plateau")),
            ("class_weight", ("none", "balanced")),
            ("loss", ("sparse", "onehot")),
        ):
            if getattr(self, choice) not in options:
                raise ConfigError(f"{choice} must be one of: {', '.join(options)}")


class ConfigError(ValueError):
    """A config value that cannot be used; the message is meant for the user."""


def _parse_value(cls: type, key: str, raw: str):
    hints = typing.get_type_hints(cls)
    if key not in hints:
        raise ConfigError(f"unknown config field: {key}")
    hint = hints[key]
    text = raw.strip()
    options = typing.get_args(hint) if typing.get_origin(hint) in (typing.Union, _UnionType) else ()
    if options and text.lower() in ("none", "null", ""):
        return None
    base = next((o for o in options if o is not type(None)), hint)
    try:
        if base is bool:
            if text.lower() in ("1", "true", "yes", "on"):
                return True
            if text.lower() in ("0", "false", "no", "off"):
                return False
            raise ValueError(text)
        if base in (int, float, str):
            return base(text)
        value = json.loads(text)
    except (ValueError, json.JSONDecodeError) as err:
        raise ConfigError(
            f"{key}: cannot read {raw!r} as {getattr(base, '__name__', base)}"
        ) from err
    expected = dict if dataclasses.is_dataclass(base) else (typing.get_origin(base) or base)
    if isinstance(expected, type) and not isinstance(value, expected):
        raise ConfigError(f"{key}: expected a JSON {expected.__name__}, got {raw!r}")
    return value


_UnionType = type(int | None)
