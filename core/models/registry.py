"""Model registry: each model has a settings dataclass and a builder returning a Keras model.

Image classifiers take (batch, h, w, c) float32 in [0, 1] and return (batch, classes) softmax
from a last Dense layer named `probabilities`. The autoencoder returns an image of the input's
shape; the PhaseNet picker (task "picking") is registered lazily: its module
(core.models.zoo.phasenet) is imported only when it is built. Builders live in core.models.zoo and
import keras only when called, so importing this module stays cheap.
"""

from __future__ import annotations

import dataclasses
import importlib
import importlib.util
import weakref
from collections.abc import Callable
from dataclasses import dataclass

from core.models.zoo.autoencoder import AutoencoderSettings, build_autoencoder
from core.models.zoo.basic import (
    CNNSettings,
    LeNet5Settings,
    MLPSettings,
    build_cnn,
    build_lenet5,
    build_mlp,
)
from core.models.zoo.recurrent import RecurrentSettings, build_gru, build_lstm
from core.models.zoo.resnet import ResNetSmallSettings, build_resnet_small
from core.models.zoo.transfer import TransferSettings, build_transfer

__all__ = [
    "MODELS",
    "AutoencoderSettings",
    "CNNSettings",
    "LeNet5Settings",
    "MLPSettings",
    "ModelError",
    "ModelSpec",
    "RecurrentSettings",
    "ResNetSmallSettings",
    "TransferSettings",
    "build_model",
    "default_settings",
    "list_models",
    "model_notes",
    "model_spec",
]


class ModelError(ValueError):
    """An unknown model or bad model settings; the message is meant for the user."""


@dataclass(frozen=True)
class ModelSpec:
    """One registry entry. A lazy entry names `module` and has settings_cls/build set to None
    until resolved (see `resolve`); `build(input_shape, num_classes, settings)` returns a model,
    or (model, notes) where notes are lines for the run's event log."""

    name: str
    task: str  # "classification" | "reconstruction" | "picking" (see core.tasks.base.TASKS)
    description: str
    settings_cls: type | None
    build: Callable | None
    module: str = ""  # lazy entries: "package.module:SettingsClass:build_function"

    @property
    def available(self) -> bool:
        """False when a lazy entry's module is not importable in this checkout."""
        if not self.module:
            return True
        try:
            return importlib.util.find_spec(self.module.split(":")[0]) is not None
        except ImportError:
            return False

    def resolve(self) -> ModelSpec:
        """This spec with settings_cls and build loaded; ModelError if the module is missing."""
        if not self.module:
            return self
        module_name, settings_name, build_name = self.module.split(":")
        try:
            module = importlib.import_module(module_name)
            settings_cls, build = getattr(module, settings_name), getattr(module, build_name)
        except (ImportError, AttributeError) as err:
            raise ModelError(
                f"model {self.name!r} needs {module_name}.{settings_name} and {build_name}, "
                f"which this installation does not provide ({type(err).__name__}: {err})"
            ) from None
        return dataclasses.replace(self, settings_cls=settings_cls, build=build, module="")

    def to_dict(self) -> dict:
        """Name, task, description, availability and default settings (None if not loaded)."""
        settings = None
        if self.settings_cls is not None:
            settings = _jsonable(dataclasses.asdict(self.settings_cls()))
        return {
            "name": self.name,
            "task": self.task,
            "description": self.description,
            "available": self.available,
            "settings": settings,
        }


MODELS: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in (
        ModelSpec(
            "mlp",
            "classification",
            "Multi-layer perceptron on the flattened image.",
            MLPSettings,
            build_mlp,
        ),
        ModelSpec(
            "lenet5",
            "classification",
            "LeNet-5: conv 6@5x5, pool, conv 16@5x5, pool, dense 120-84 (small inputs padded).",
            LeNet5Settings,
            build_lenet5,
        ),
        ModelSpec(
            "cnn",
            "classification",
            "CNN: conv-batch-norm blocks with max pooling, built-in shift/rotate/zoom "
            "augmentation, pooled head.",
            CNNSettings,
            build_cnn,
        ),
        ModelSpec(
            "resnet_small",
            "classification",
            "Small ResNet: residual blocks with batch norm and skip connections.",
            ResNetSmallSettings,
            build_resnet_small,
        ),
        ModelSpec(
            "transfer",
            "classification",
            "Transfer learning: MobileNetV2 or EfficientNetB0 base (ImageNet weights if cached, "
            "never downloaded) with a new head; base frozen or fine-tuned.",
            TransferSettings,
            build_transfer,
        ),
        ModelSpec(
            "lstm",
            "classification",
            "LSTM reading the image row by row.",
            RecurrentSettings,
            build_lstm,
        ),
        ModelSpec(
            "gru",
            "classification",
            "GRU reading the image row by row.",
            RecurrentSettings,
            build_gru,
        ),
        ModelSpec(
            "autoencoder",
            "reconstruction",
            "Convolutional denoising autoencoder: noisy image in, clean image out.",
            AutoencoderSettings,
            build_autoencoder,
        ),
        ModelSpec(
            "phasenet",
            "picking",
            "PhaseNet-style U-Net picker: P/S/noise probabilities per sample of a 3-component "
            "waveform.",
            None,
            None,
            module="core.models.zoo.phasenet:PhaseNetSettings:build_phasenet",
        ),
    )
}

_NOTES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def list_models() -> list[ModelSpec]:
    return list(MODELS.values())


def model_spec(name: str) -> ModelSpec:
    try:
        return MODELS[name]
    except KeyError:
        raise ModelError(f"unknown model {name!r}; choose one of: {', '.join(MODELS)}") from None


def default_settings(name: str) -> dict:
    """The model's default settings as a JSON-friendly dict (imports a lazy model's module)."""
    return _jsonable(dataclasses.asdict(model_spec(name).resolve().settings_cls()))


def build_model(
    name: str, input_shape: tuple[int, ...], num_classes: int, settings: dict | None = None
):
    """Build an uncompiled Keras model by registry name; settings override the defaults.

    Returns (model, used settings as a dict). Notes about the build (e.g. where a transfer
    base's weights came from) are available afterwards from `model_notes(model)`.
    """
    spec = model_spec(name).resolve()
    try:
        obj = spec.settings_cls(**(settings or {}))
    except TypeError as err:
        raise ModelError(f"bad settings for model {name!r}: {err}") from None
    try:
        built = spec.build(tuple(input_shape), num_classes, obj)
    except ValueError as err:
        raise ModelError(
            f"cannot build model {name!r} for input {tuple(input_shape)}: {err}"
        ) from err
    model, notes = built if isinstance(built, tuple) else (built, [])
    _NOTES[model] = list(notes)
    return model, dataclasses.asdict(obj)


def model_notes(model) -> list[str]:
    """Lines about how `model` was built by build_model (empty for most models)."""
    return list(_NOTES.get(model, []))


def _jsonable(value):
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value
