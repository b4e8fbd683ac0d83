"""Run configuration: one dataclass that round-trips to JSON and accepts `key=value` overrides."""

from __future__ import annotations

import dataclasses
import json
import typing
from dataclasses import dataclass, field


@dataclass
class DeviceSettings:
    """GPU settings a worker applies before building anything (ignored on a CPU-only machine)."""

    visible_gpus: list[int] | None = None  # None = all GPUs, [] = CPU only
    memory_growth: bool = True
    memory_limit_mb: int | None = None  # per visible GPU
    mixed_precision: bool = False


@dataclass
class RunConfig:
    """Everything needed to repeat a training run."""

    dataset: str = "digits"
    model: str = "cnn"
    model_settings: dict = field(default_factory=dict)  # overrides of the model's settings
    epochs: int = 5
    batch_size: int = 32
    learning_rate: float = 1e-3
    optimizer: str = "adam"
    seed: int = 42
    max_train_examples: int | None = None  # subsample the training split (quick experiments)
    shuffle_buffer: int = 10_000
    name: str = ""
    devices: DeviceSettings = field(default_factory=DeviceSettings)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

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
        if self.epochs < 1:
            raise ConfigError("epochs must be at least 1")
        if self.batch_size < 1:
            raise ConfigError("batch_size must be at least 1")
        if not self.learning_rate > 0:
            raise ConfigError("learning_rate must be positive")
        if self.max_train_examples is not None and self.max_train_examples < 1:
            raise ConfigError("max_train_examples must be at least 1 (or empty for all)")


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
        return json.loads(text)
    except (ValueError, json.JSONDecodeError) as err:
        raise ConfigError(
            f"{key}: cannot read {raw!r} as {getattr(base, '__name__', base)}"
        ) from err


_UnionType = type(int | None)
