"""The one reader and writer of a run folder (runs/<run id>/).

Files: config.json (the RunConfig), model.json (model settings, classes, input shape and the
task: "classification", "reconstruction" or "picking"), environment.json (library versions,
data fingerprint), model.keras (the trained model). Writes are atomic (temporary file, fsync,
rename), so a full or read-only disk never leaves a half-written file in place of a good one.
Models are only ever loaded with Keras' safe_mode=True.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

CONFIG = "config.json"
MODEL_META = "model.json"
ENVIRONMENT = "environment.json"
MODEL_FILE = "model.keras"
TASKS = ("classification", "reconstruction", "picking")


class ArtifactError(ValueError):
    """A run folder that lacks a file or holds a broken one; the message is meant for the user."""


def has_model(run_dir: Path) -> bool:
    """True when the run saved a trained model and its model.json."""
    run_dir = Path(run_dir)
    return (run_dir / MODEL_FILE).is_file() and (run_dir / MODEL_META).is_file()


def read_model_meta(run_dir: Path) -> dict:
    """model.json as a dict (with "task", "classification" for runs that predate the field)."""
    run_dir = Path(run_dir)
    if not has_model(run_dir):
        raise ArtifactError(f"run {run_dir.name} has no saved model (did it finish?)")
    try:
        meta = json.loads((run_dir / MODEL_META).read_text())
    except (OSError, ValueError) as err:
        raise ArtifactError(f"run {run_dir.name}: model.json cannot be read ({err})") from None
    if not isinstance(meta, dict):
        raise ArtifactError(f"run {run_dir.name}: model.json is not an object")
    meta.setdefault("task", "classification")
    return meta


def run_task(run_dir: Path) -> str | None:
    """The task the run's model.json names, or None when the run has no usable model."""
    try:
        return read_model_meta(run_dir)["task"]
    except ArtifactError:
        return None


def read_json(run_dir: Path, name: str) -> dict:
    """One of the run's JSON files ({} when it is missing)."""
    path = Path(run_dir) / name
    if not path.is_file():
        return {}
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as err:
        raise ArtifactError(f"run {Path(run_dir).name}: {name} cannot be read ({err})") from None


def load_model(run_dir: Path, compile: bool = True):
    """run_dir/model.keras in Keras' safe mode (no code from the file); ArtifactError if broken."""
    run_dir = Path(run_dir)
    if not (run_dir / MODEL_FILE).is_file():
        raise ArtifactError(f"run {run_dir.name} has no saved model (did it finish?)")
    import keras

    try:
        return keras.models.load_model(run_dir / MODEL_FILE, safe_mode=True, compile=compile)
    except Exception as err:  # noqa: BLE001 - any unreadable file gets the same clear message
        raise ArtifactError(f"cannot load the model of run {run_dir.name}: {err}") from None


def write_json(run_dir: Path, name: str, data: dict) -> None:
    """Write one of the run's JSON files atomically."""
    text = json.dumps(data, indent=2)
    _atomic_write(Path(run_dir) / name, lambda tmp: Path(tmp).write_text(text))


def save_model(run_dir: Path, model) -> None:
    """model.save() to run_dir/model.keras atomically: the previous file survives a failure."""
    _atomic_write(Path(run_dir) / MODEL_FILE, model.save)


def _atomic_write(path: Path, write) -> None:
    """Call write(temporary path) beside `path`, fsync it, then rename it over `path`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}-", suffix=path.suffix)
    os.close(fd)
    try:
        write(tmp)
        with open(tmp, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    try:  # the rename itself survives a crash once the folder is synced
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    except OSError:
        pass
