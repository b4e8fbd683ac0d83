"""Import PhaseNet's published TensorFlow 1 checkpoint as a finished picking run.

    checkpoint folder (model_95.ckpt.index, .data-*, optional `checkpoint`, `config.log`)
      -> variables (numpy, TF1 names such as DownConv_1/down_conv1_2/kernel (7, 1, 8, 16))
      -> our `phasenet` Keras model (core.models.zoo.phasenet, crop="center", window 3000)
      -> runs/<id>/ with model.keras, model.json, config.json, environment.json (source, licence)

The model takes (batch, 3000, 3) raw E, N, Z counts and returns (batch, 3000, 3) [noise, P, S]
probabilities at 100 Hz; it normalises each window itself, as PhaseNet's data reader does.
The TF1 graph uses (time, 1, channel) 2-D convolutions with 7x1 kernels: dropping the unit axis
gives the Keras 1-D kernels. The input convolution's bias sits before a batch norm, so it is
folded into that norm's moving mean (exact at inference; a batch norm in training ignores it).
Nothing is downloaded: the user points at the checkpoint from PhaseNet's repository.
"""

from __future__ import annotations

import hashlib
import os
import platform
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core import paths
from core.access import os_user
from core.config import RunConfig
from core.models.zoo.phasenet import (
    PUBLISHED_SETTINGS,
    PUBLISHED_WINDOW,
    PhaseNetSettings,
    build_phasenet,
)
from core.runs import artifacts
from core.runs.launcher import open_store
from core.seismic.labels import CLASS_NAMES

SOURCE = (
    "PhaseNet (Zhu & Beroza 2019, 'PhaseNet: a deep-neural-network-based seismic arrival-time "
    "picking method'), published TensorFlow 1 checkpoint of github.com/AI4EPS/PhaseNet "
    "(model/190703-214543), trained on ~700k NCEDC windows"
)
LICENCE = "MIT License, Copyright (c) 2021 Weiqiang Zhu (AI4EPS/PhaseNet)"
DATASET = "published (PhaseNet 2019, NCEDC)"  # what the run was trained on; not a local dataset
SAMPLING_RATE = 100.0
DATA_SHARD = re.compile(r"\.data-(\d+)-of-(\d+)$")


class PhaseNetImportError(ValueError):
    """A folder that is not a usable PhaseNet checkpoint; the message is meant for the user."""


@dataclass
class Checkpoint:
    """The variables of one checkpoint and what they say about the network."""

    folder: Path
    prefix: Path  # e.g. folder/model_95.ckpt
    variables: dict  # TF1 name -> float32 ndarray (model variables only)
    filters: tuple[int, ...]
    kernel_size: int
    stride: int
    window: int


def find_checkpoint(folder: str | os.PathLike) -> Path:
    """The checkpoint prefix in `folder` (from its `checkpoint` file, else the one *.index)."""
    folder = Path(folder)
    if not folder.exists():
        raise PhaseNetImportError(f"{folder}: no such folder")
    if not folder.is_dir():
        raise PhaseNetImportError(
            f"{folder}: not a folder (give the folder holding the checkpoint)"
        )
    prefix = None
    state = folder / "checkpoint"
    if state.is_file():
        found = re.search(r'^model_checkpoint_path:\s*"([^"]+)"', _read_text(state), re.M)
        if found:
            prefix = folder / Path(found.group(1)).name  # never outside the folder
    if prefix is None or not prefix.with_name(prefix.name + ".index").is_file():
        indexes = sorted(folder.glob("*.index"))
        if not indexes:
            raise PhaseNetImportError(
                f"{folder}: no TensorFlow checkpoint here (expected a file like "
                "model_95.ckpt.index next to model_95.ckpt.data-00000-of-00001)"
            )
        if len(indexes) > 1:
            names = ", ".join(p.name for p in indexes)
            raise PhaseNetImportError(
                f"{folder}: several checkpoints ({names}) and no `checkpoint` file naming one; "
                "keep only the one to import"
            )
        prefix = indexes[0].with_suffix("")
    shards = [p for p in folder.glob(prefix.name + ".data-*") if DATA_SHARD.search(p.name)]
    if not shards:
        raise PhaseNetImportError(
            f"{folder}: the checkpoint is incomplete: {prefix.name}.index is there but "
            f"{prefix.name}.data-00000-of-00001 (the variables) is missing"
        )
    total = int(DATA_SHARD.search(shards[0].name).group(2))
    have = {int(DATA_SHARD.search(p.name).group(1)) for p in shards}
    missing = sorted(set(range(total)) - have)
    if missing:
        raise PhaseNetImportError(
            f"{folder}: the checkpoint is incomplete: data shard(s) {missing} of {total} missing"
        )
    return prefix


def read_checkpoint(folder: str | os.PathLike) -> Checkpoint:
    """Read and check the variables of a PhaseNet checkpoint folder (PhaseNetImportError)."""
    prefix = find_checkpoint(folder)
    folder = prefix.parent
    import tensorflow as tf

    try:
        reader = tf.train.load_checkpoint(str(prefix))
        shapes = reader.get_variable_to_shape_map()
        names = [n for n in shapes if "Adam" not in n and n not in _NOT_MODEL]
        variables = {n: np.asarray(reader.get_tensor(n), np.float32) for n in names}
    except Exception as err:  # noqa: BLE001 - DataLossError, NotFoundError, ...: one clear message
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise PhaseNetImportError(
            f"{prefix}.index: not a readable TensorFlow checkpoint ({first})"
        ) from None
    config = _read_config_log(folder / "config.log")
    filters, kernel = _architecture(variables, prefix)
    stride = int(config.get("pool_size", [4])[0])
    window = int(config.get("X_shape", [PUBLISHED_WINDOW])[0])
    if config.get("n_channel", 3) != 3 or config.get("n_class", 3) != 3:
        raise PhaseNetImportError(f"{folder / 'config.log'}: expected 3 channels and 3 classes")
    checkpoint = Checkpoint(folder, prefix, variables, filters, kernel, stride, window)
    _check_shapes(checkpoint)
    return checkpoint


_NOT_MODEL = {"global_step", "beta1_power", "beta2_power"}


def _architecture(variables: dict, prefix: Path) -> tuple[tuple[int, ...], int]:
    """(filters per level, kernel size) from the DownConv_<i>/down_conv1_<i+1> kernels."""
    filters, kernel = [], None
    while f"DownConv_{len(filters)}/down_conv1_{len(filters) + 1}/kernel" in variables:
        shape = variables[f"DownConv_{len(filters)}/down_conv1_{len(filters) + 1}/kernel"].shape
        if len(shape) != 4 or shape[1] != 1:
            raise PhaseNetImportError(
                f"{prefix}: DownConv kernels have shape {shape}, not PhaseNet's (k, 1, in, out)"
            )
        kernel = int(shape[0])
        filters.append(int(shape[3]))
    if len(filters) < 2 or "Input/input_conv/kernel" not in variables:
        some = ", ".join(sorted(variables)[:3]) or "none"
        raise PhaseNetImportError(
            f"{prefix}: not a PhaseNet checkpoint (no Input/input_conv and DownConv_<i> "
            f"variables; found {len(variables)} variables such as {some})"
        )
    return tuple(filters), kernel


def _bn(scope: str) -> list[str]:
    return [f"{scope}/{w}" for w in ("gamma", "beta", "moving_mean", "moving_variance")]


def layer_map(filters: tuple[int, ...]) -> dict[str, list[str]]:
    """Keras layer name -> TF1 variable names, in the order of layer.get_weights()."""
    out = {"input_conv": [], "input_bn": _bn("Input/input_bn")}  # input bias: folded into bn
    for i in range(len(filters)):
        scope = f"DownConv_{i}"
        out[f"down{i}_conv"] = [f"{scope}/down_conv1_{i + 1}/kernel"]
        out[f"down{i}_bn"] = _bn(f"{scope}/down_bn1_{i + 1}")
        if i < len(filters) - 1:
            out[f"down{i}_pool_conv"] = [f"{scope}/down_conv3_{i + 1}/kernel"]
            out[f"down{i}_pool_bn"] = _bn(f"{scope}/down_bn3_{i + 1}")
            scope = f"UpConv_{i}"
            out[f"up{i}_conv"] = [f"{scope}/up_conv0_{i + 1}/kernel"]
            out[f"up{i}_bn"] = _bn(f"{scope}/up_bn0_{i + 1}")
            out[f"up{i}_merge_conv"] = [f"{scope}/up_conv1_{i + 1}/kernel"]
            out[f"up{i}_merge_bn"] = _bn(f"{scope}/up_bn1_{i + 1}")
    out["logits"] = ["Output/output_conv/kernel", "Output/output_conv/bias"]
    return out


def _expected_shapes(c: Checkpoint) -> dict[str, tuple[int, ...]]:
    f, k = c.filters, c.kernel_size
    shapes = {"Input/input_conv/kernel": (k, 1, 3, f[0]), "Input/input_conv/bias": (f[0],)}
    shapes.update({n: (f[0],) for n in _bn("Input/input_bn")})
    for i, n in enumerate(f):
        below = f[i - 1] if i else f[0]
        shapes[f"DownConv_{i}/down_conv1_{i + 1}/kernel"] = (k, 1, below, n)
        shapes.update({v: (n,) for v in _bn(f"DownConv_{i}/down_bn1_{i + 1}")})
        if i < len(f) - 1:
            shapes[f"DownConv_{i}/down_conv3_{i + 1}/kernel"] = (k, 1, n, n)
            shapes.update({v: (n,) for v in _bn(f"DownConv_{i}/down_bn3_{i + 1}")})
            shapes[f"UpConv_{i}/up_conv0_{i + 1}/kernel"] = (k, 1, n, f[i + 1])
            shapes.update({v: (n,) for v in _bn(f"UpConv_{i}/up_bn0_{i + 1}")})
            shapes[f"UpConv_{i}/up_conv1_{i + 1}/kernel"] = (k, 1, 2 * n, n)
            shapes.update({v: (n,) for v in _bn(f"UpConv_{i}/up_bn1_{i + 1}")})
    shapes["Output/output_conv/kernel"] = (1, 1, f[0], len(CLASS_NAMES))
    shapes["Output/output_conv/bias"] = (len(CLASS_NAMES),)
    return shapes


def _check_shapes(c: Checkpoint) -> None:
    expected = _expected_shapes(c)
    missing = sorted(set(expected) - set(c.variables))
    if missing:
        listed = ", ".join(missing[:4]) + (
            f" and {len(missing) - 4} more" if len(missing) > 4 else ""
        )
        raise PhaseNetImportError(f"{c.prefix}: not PhaseNet's network: missing {listed}")
    for name, shape in expected.items():
        if tuple(c.variables[name].shape) != shape:
            raise PhaseNetImportError(
                f"{c.prefix}: {name} has shape {list(c.variables[name].shape)}, expected "
                f"{list(shape)} for filters {list(c.filters)} and kernel {c.kernel_size}"
            )
    extra = sorted(set(c.variables) - set(expected))
    if extra:
        raise PhaseNetImportError(
            f"{c.prefix}: variables this PhaseNet network has no place for: {', '.join(extra[:4])}"
        )


def model_settings(c: Checkpoint) -> dict:
    """Our phasenet settings for the checkpoint's network (PUBLISHED_SETTINGS for 2019's)."""
    return {
        **PUBLISHED_SETTINGS,
        "filters": list(c.filters),
        "kernel_size": c.kernel_size,
        "stride": c.stride,
    }


def build_model(c: Checkpoint):
    """Our phasenet Keras model with the checkpoint's weights: (batch, window, 3) raw counts."""
    settings = PhaseNetSettings(**{**model_settings(c), "filters": c.filters})
    model = build_phasenet((c.window, 3), len(CLASS_NAMES), settings)
    v = c.variables
    for layer_name, names in layer_map(c.filters).items():
        layer = model.get_layer(layer_name)
        weights = [v[n] for n in names]
        if layer_name == "input_conv":
            weights = [v["Input/input_conv/kernel"]]
        if layer_name == "input_bn":  # bn(x + b) == bn(x) with moving_mean - b
            weights[2] = weights[2] - v["Input/input_conv/bias"]
        weights = [w[:, 0] if w.ndim == 4 else w for w in weights]  # (k, 1, a, b) -> (k, a, b)
        layer.set_weights(weights)
    return model


def import_checkpoint(
    folder: str | os.PathLike,
    name: str = "",
    owner: str | None = None,
    root: Path | None = None,
) -> str:
    """Create a succeeded picking run from a PhaseNet checkpoint folder; returns its run id."""
    checkpoint = read_checkpoint(folder)
    model = build_model(checkpoint)  # before anything is recorded: a failure leaves no run
    import keras
    import tensorflow as tf

    root = Path(root or paths.runs_dir())
    store = open_store(root)
    config = RunConfig(
        dataset=DATASET,
        model="phasenet",
        model_settings=model_settings(checkpoint),
        data_settings={"window": checkpoint.window},
        epochs=1,
        name=name or f"PhaseNet 2019 (imported {checkpoint.prefix.name})",
    )
    owner = os_user() if owner is None else owner
    # Everything is written to a staging folder first: the store row appears only for a
    # complete run, and is marked running at once so no scheduler takes it for a training job.
    staging = Path(tempfile.mkdtemp(prefix=".import-", dir=root))
    staging.chmod(0o755)  # as a run folder made by the launcher
    try:
        artifacts.write_json(staging, artifacts.CONFIG, config.to_dict())
        artifacts.save_model(staging, model)
        artifacts.write_json(staging, artifacts.MODEL_META, run_meta(checkpoint))
        artifacts.write_json(staging, artifacts.ENVIRONMENT, environment(checkpoint, tf, keras))
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    run_id = store.create_run(config.to_dict(), config.name, owner=owner)
    store.mark_started(run_id, os.getpid())
    try:
        os.replace(staging, paths.run_dir(run_id, root))
    except OSError as err:
        shutil.rmtree(staging, ignore_errors=True)
        store.set_status(run_id, "failed", error=f"import failed: {err}")
        raise
    store.add_event(run_id, f"imported PhaseNet checkpoint {checkpoint.prefix} ({LICENCE})")
    store.set_final_metrics(run_id, {})
    store.set_status(run_id, "succeeded")
    return run_id


def environment(c: Checkpoint, tf, keras) -> dict:
    """environment.json of an imported run: where the weights come from, their licence."""
    return {
        "source": SOURCE,
        "licence": _licence(c.folder),
        "imported_from": str(c.prefix),
        "checkpoint_sha256": _digest(c.prefix),
        "python": platform.python_version(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "numpy": np.__version__,
        "train_examples": None,
    }


def run_meta(c: Checkpoint) -> dict:
    """model.json of an imported run (the keys a trained picking run has, plus its source)."""
    return {
        "task": "picking",
        "model": "phasenet",
        "settings": model_settings(c),
        "dataset": DATASET,
        "datasets": [],
        "input_shape": [c.window, 3],
        "window": c.window,
        "sampling_rate": SAMPLING_RATE,
        "label_shape": "gaussian",
        "label_width": 10,
        "class_names": list(CLASS_NAMES),
        "channels": ["E", "N", "Z"],
        "normalization": "in the model: per window and component (x - mean) / std",
        "data_settings": {"window": c.window},
        "imported": {"source": SOURCE, "licence": LICENCE, "checkpoint": c.prefix.name},
    }


def _licence(folder: Path) -> str:
    """The LICENSE text beside the checkpoint when there is one, else PhaseNet's MIT notice."""
    for name in ("LICENSE", "LICENSE.txt", "LICENCE"):
        path = folder / name
        if path.is_file():
            text = _read_text(path).strip()
            if text:
                return text
    return LICENCE


def _digest(prefix: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(prefix.parent.glob(prefix.name + ".*")):
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()[:16]


def _read_text(path: Path) -> str:
    try:
        return path.read_text(errors="replace")[:200_000]
    except OSError as err:
        raise PhaseNetImportError(f"{path}: cannot be read ({err.strerror})") from None


def _read_config_log(path: Path) -> dict:
    """PhaseNet's config.log (`key: value` lines) as a dict of the few keys used; {} if absent."""
    if not path.is_file():
        return {}
    out = {}
    for line in _read_text(path).splitlines():
        key, sep, value = line.partition(":")
        if not sep or key.strip() not in ("X_shape", "pool_size", "n_channel", "n_class"):
            continue
        numbers = [int(n) for n in re.findall(r"-?\d+", value)]
        if not numbers:
            raise PhaseNetImportError(f"{path}: cannot read {key.strip()}: {value.strip()!r}")
        out[key.strip()] = numbers if "[" in value else numbers[0]
    return out
