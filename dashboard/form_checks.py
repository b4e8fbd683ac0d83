"""Checks of the new-run form that speak to the user before anything starts: numbers out of
their range (a message beside the field and on Train, with the real limits) and combinations
that cannot work (a model for another kind of data, a Keras dataset that needs a download on an
offline machine, settings core refuses). Nothing is launched and no run is recorded on refusal.
"""

from __future__ import annotations

import os

import streamlit as st

from core.config import ConfigError, RunConfig
from core.data import keras_cache
from core.data.registry import data_kind
from core.data.types import DatasetError
from core.models.registry import ModelError, model_spec
from core.runs import launcher

TASK_DATA = {"picking": "waveform", "classification": "image", "reconstruction": "image"}


def limit_text(low: float, high: float) -> str:
    return f"between {low:g} and {high:g}"


class FieldChecks:
    """Number fields with their real limits; errors collects one line per bad field."""

    def __init__(self) -> None:
        self.errors: list[str] = []

    def number(self, label: str, low, high, value, container=None, **kwargs):
        """st.number_input without Streamlit's own bounds (which turn the field red and drop
        the value silently); a value outside [low, high] gets a message under the field."""
        box = container or st
        integer = isinstance(low, int) and isinstance(high, int)
        value = int(value) if integer else float(value)
        help_text = kwargs.pop("help", None)
        limits = f"Allowed: {limit_text(low, high)}."
        number = box.number_input(
            label, value=value, help=f"{help_text} {limits}" if help_text else limits, **kwargs
        )
        if number is None or not low <= number <= high:
            message = f"{label} must be {limit_text(low, high)}; {number:g} is not."
            box.error(message, icon=":material/error:")
            self.errors.append(message)
        return number

    def raise_if_any(self) -> None:
        if self.errors:
            raise ConfigError("fix the field(s) marked in red first: " + " ".join(self.errors))


def check_combination(config: RunConfig) -> None:
    """ConfigError with a plain message when this run cannot work; nothing is started."""
    config.validate()
    try:
        spec = model_spec(config.model)
    except ModelError as err:
        raise ConfigError(str(err)) from None
    try:
        kind = data_kind(config.dataset)
    except DatasetError as err:
        raise ConfigError(str(err)) from None
    needed = TASK_DATA.get(spec.task)
    if needed and kind != needed:
        raise ConfigError(
            f"{config.model} is a {spec.task} model for {needed} data, but {config.dataset} is "
            f"{kind} data: choose a {needed} dataset or a model for {kind} data"
        )
    if config.dataset.startswith("keras:"):
        key = config.dataset.split(":", 1)[1]
        if key in keras_cache.KERAS_DATASETS and keras_cache.cached_files(key) is None:
            offline = os.environ.get("TFLAB_OFFLINE", "").lower() in ("1", "true", "yes")
            if offline or not keras_cache.is_online():
                raise ConfigError(
                    f"{config.dataset} is not downloaded and this machine is offline: use the "
                    f"built-in digits or shapes, or copy its files into "
                    f"{keras_cache.keras_cache_dir()}"
                )
    launcher.check_data_settings(config)
