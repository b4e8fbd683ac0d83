"""Start a picker from another picker run's weights (`init_from=RUN_ID`, `freeze_encoder`).

The source is any finished picking run in the runs folder (core.paths.runs_dir()): trained here
or imported (core.seismic.phasenet_import). Its model.json settings are the base of the new
run's model settings (config.model_settings override them), and its window is the default
window. The architecture must then be the same, except dropout (which has no weights): else a
ConfigError says what differs, raised by check_init_from before any worker starts
(core.runs.launcher.check_data_settings calls it). PhaseNet is fully convolutional, so the
weights also fit another window length. With freeze_encoder the normalisation, input block and
every down-sampling level keep their weights (and their batch norms run in inference mode);
the decoder and the output layer train.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from core import paths
from core.config import ConfigError, RunConfig
from core.models.registry import ModelError, model_spec
from core.models.zoo.phasenet import PhaseNetSettings
from core.runs import artifacts

IGNORED = ("dropout",)  # settings that do not change the weights
ENCODER_PREFIXES = ("normalize", "input", "down")  # phasenet layer names of the encoder


def source_dir(run_id: str) -> Path:
    """The source run's folder; ConfigError if there is no such run with a saved model."""
    folder = paths.run_dir(run_id)
    if not run_id.strip() or "/" in run_id or run_id.startswith(".") or not folder.is_dir():
        raise ConfigError(f"init_from: no run {run_id!r} in {paths.runs_dir()}")
    if not artifacts.has_model(folder):
        raise ConfigError(f"init_from: run {run_id} has no saved model (did it finish?)")
    return folder


def source_meta(run_id: str) -> dict:
    """model.json of the source run, checked to be a picker (ConfigError otherwise)."""
    try:
        meta = artifacts.read_model_meta(source_dir(run_id))
    except artifacts.ArtifactError as err:
        raise ConfigError(f"init_from: {err}") from None
    if meta.get("task") != "picking":
        raise ConfigError(
            f"init_from: run {run_id} is a {meta.get('task')} run; only a picker can start a picker"
        )
    if not meta.get("settings"):  # older model.json: the settings the run was configured with
        try:
            config = artifacts.read_json(source_dir(run_id), artifacts.CONFIG)
        except artifacts.ArtifactError as err:
            raise ConfigError(f"init_from: {err}") from None
        meta["settings"] = dict(config.get("model_settings") or {})
    return meta


def effective_settings(config: RunConfig, meta: dict) -> dict:
    """The source's model settings with config's overrides on top."""
    return {**dict(meta.get("settings") or {}), **config.model_overrides()}


def effective_data_settings(config: RunConfig) -> dict:
    """config.data_settings, with the source run's window when config sets none."""
    if not config.init_from or "window" in config.data_settings:
        return dict(config.data_settings)
    window = source_meta(config.init_from).get("window")
    return {**({"window": int(window)} if window else {}), **config.data_settings}


def check_init_from(config: RunConfig) -> None:
    """ConfigError unless init_from/freeze_encoder can be used with this config (or are unset)."""
    if not config.init_from:
        if config.freeze_encoder:
            raise ConfigError("freeze_encoder needs init_from (the run whose encoder to keep)")
        return
    try:
        task = model_spec(config.model).task
    except ModelError as err:
        raise ConfigError(str(err)) from None
    if task != "picking":
        raise ConfigError(f"init_from works for picking models; {config.model} is a {task} model")
    meta = source_meta(config.init_from)
    if meta.get("model") != config.model:
        raise ConfigError(
            f"init_from: run {config.init_from} is a {meta.get('model')} model, this run a "
            f"{config.model} model; the architecture must be the same"
        )
    _compare_settings(config, meta)


def _compare_settings(config: RunConfig, meta: dict) -> None:
    source = dict(meta.get("settings") or {})
    try:
        wanted = dataclasses.asdict(PhaseNetSettings(**effective_settings(config, meta)))
        had = dataclasses.asdict(PhaseNetSettings(**source))
    except TypeError as err:
        raise ConfigError(f"init_from: bad model settings ({err})") from None
    differ = [k for k in wanted if k not in IGNORED and _norm(wanted[k]) != _norm(had[k])]
    if differ:
        parts = ", ".join(f"{k} {_norm(wanted[k])} (source: {_norm(had[k])})" for k in differ)
        raise ConfigError(
            f"init_from: a different architecture than run {config.init_from}: {parts}; "
            "leave model_settings empty to use the source run's"
        )


def _norm(value):
    return list(value) if isinstance(value, tuple | list) else value


def init_weights(model, config: RunConfig) -> dict:
    """Copy the source run's weights into `model` (same layer names and shapes), freeze the
    encoder if asked; returns what was done, for model.json."""
    folder = source_dir(config.init_from)
    try:
        source = artifacts.load_model(folder, compile=False)
    except artifacts.ArtifactError as err:
        raise ConfigError(f"init_from: {err}") from None
    copied = 0
    for layer in model.layers:
        if not layer.weights:
            continue
        try:
            other = source.get_layer(layer.name)
        except ValueError:
            raise ConfigError(
                f"init_from: run {config.init_from}'s model has no layer {layer.name!r}"
            ) from None
        mine, theirs = layer.get_weights(), other.get_weights()
        if [w.shape for w in mine] != [w.shape for w in theirs]:
            raise ConfigError(
                f"init_from: layer {layer.name!r} has weights {[w.shape for w in mine]}, run "
                f"{config.init_from}'s {[w.shape for w in theirs]}"
            )
        layer.set_weights(theirs)
        copied += 1
    frozen = 0
    if config.freeze_encoder:
        for layer in model.layers:
            if layer.name.startswith(ENCODER_PREFIXES) and layer.weights:
                layer.trainable = False
                frozen += 1
    return {
        "run": config.init_from,
        "layers_copied": copied,
        "freeze_encoder": bool(config.freeze_encoder),
        "layers_frozen": frozen,
    }
