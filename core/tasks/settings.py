"""Data and label options of a task: one dataclass per task that round-trips to JSON.

A run stores them as `config.data_settings` (a JSON object); `TaskSettings.from_dict` fills in
the defaults, refuses unknown keys and values of the wrong type or range with a ValueError
meant for the user, and `to_dict` gives the object back (every field, so a run records what it
used). The Train form, the Augment page's hand-over and the tasks all go through these classes.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass


@dataclass
class TaskSettings:
    """Base: subclasses declare fields with defaults and may override check()."""

    @classmethod
    def from_dict(cls, data: dict | None) -> TaskSettings:
        data = dict(data or {})
        known = {f.name: f for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - set(known))
        if unknown:
            raise ValueError(
                f"unknown data setting(s) {', '.join(unknown)}; known: {', '.join(known) or '-'}"
            )
        hints = typing.get_type_hints(cls)
        values = {name: _coerce(name, hints[name], value) for name, value in data.items()}
        settings = cls(**values)
        settings.check()
        return settings

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def check(self) -> None:
        """Raise ValueError for values out of range (types are checked by from_dict)."""


@dataclass
class ClassificationSettings(TaskSettings):
    """Image classification has no data options of its own (augmentation is in RunConfig)."""


@dataclass
class ReconstructionSettings(TaskSettings):
    """Denoising autoencoder: Gaussian noise added to the inputs, std in pixel units of [0, 1]."""

    noise_std: float = 0.2

    def check(self) -> None:
        if not self.noise_std >= 0:
            raise ValueError(f"noise_std must be >= 0, got {self.noise_std!r}")


LABEL_SHAPES = ("gaussian", "box", "triangle")  # as core.seismic.labels


@dataclass
class PickingSettings(TaskSettings):
    """Phase picking: window length (samples), label curves, crop margin (s), class weights."""

    window: int = 3001
    label_shape: str = "gaussian"
    label_width: float = 10.0  # samples: gaussian std, box/triangle half width
    crop_margin_s: float = 0.5
    class_weights: list[float] | None = None  # [noise, P, S] cross-entropy weights

    def check(self) -> None:
        if self.window < 64:
            raise ValueError(f"window must be at least 64 samples, got {self.window}")
        if self.label_shape not in LABEL_SHAPES:
            raise ValueError(f"label_shape must be one of {LABEL_SHAPES}")
        if not self.label_width > 0:
            raise ValueError("label_width must be positive (samples)")
        if not self.crop_margin_s >= 0:
            raise ValueError("crop_margin_s must be >= 0 (seconds)")
        weights = self.class_weights
        if weights is not None and (len(weights) != 3 or min(weights) <= 0):
            raise ValueError("class_weights must be three positive numbers [noise, P, S]")


TASK_SETTINGS: dict[str, type[TaskSettings]] = {
    "classification": ClassificationSettings,
    "reconstruction": ReconstructionSettings,
    "picking": PickingSettings,
}


def _coerce(name: str, hint, value):
    """value as the field's type: int/float/str, list[float], or None where allowed."""
    optional = isinstance(hint, types.UnionType) and type(None) in hint.__args__
    if value is None:
        if optional:
            return None
        raise ValueError(f"{name} needs a value")
    if optional:
        hint = next(a for a in hint.__args__ if a is not type(None))
    try:
        if typing.get_origin(hint) is list:
            return [float(v) for v in value]
        if hint is int:
            if isinstance(value, float) and not value.is_integer():
                raise ValueError
            return int(value)
        if hint is float:
            return float(value)
        if hint is str:
            if not isinstance(value, str):
                raise ValueError
            return value
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be {_type_name(hint)}, got {value!r}") from None
    return value


def _type_name(hint) -> str:
    if typing.get_origin(hint) is list:
        return "a list of numbers"
    return {int: "a whole number", float: "a number", str: "text"}.get(hint, str(hint))
