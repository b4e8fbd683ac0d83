"""Model files from outside the runs folder (uploads, `--model-file`): checked here, then loaded
and run only in a short-lived subprocess (core.models.untrusted_worker), never in the caller.

Accepted: a `.keras` file (Keras safe_mode=True; Lambda layers and objects from outside Keras
refused from its config.json before Keras sees it), a SavedModel folder as a `.zip` (served
through keras.layers.TFSMLayer; members checked for `..`, absolute paths and links; graphs with
file or Python ops refused) and `.weights.h5` for an architecture of core.models.registry.
Archives pass core.data.zip_limits before anything is unpacked. Inputs and outputs of `predict`
are float32 arrays (n, *input_shape) -> (n, *output_shape). Every call starts one process
(~6 s, mostly TensorFlow's import): callers cache the answers (the Predict page keys them on the
upload's digest and the images' content); uploads are kept by core.models.upload_store.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import asdict, dataclass, field
from pathlib import Path, PurePosixPath

import numpy as np

from core.data.zip_limits import ZipLimitError, check_zip

MAX_MODEL_BYTES = 1 << 30  # 1 GiB per uploaded model file
KERAS_LIMITS = (64, 2 << 30)  # members, uncompressed bytes of a .keras archive
SAVEDMODEL_LIMITS = (10_000, 2 << 30)  # of a zipped SavedModel folder
MAX_CONFIG_BYTES = 16 << 20  # config.json of a .keras file
H5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
TIMEOUT_S = 300.0
KINDS = ("keras", "savedmodel", "weights")


class UntrustedModelError(ValueError):
    """A model file that is refused or cannot be used; the message names the file."""


@dataclass
class ModelInfo:
    """What the worker found in a model file: shapes without the batch axis."""

    name: str
    kind: str
    input_shape: tuple[int, ...]
    output_shape: tuple[int, ...]
    layers: int = 0
    notes: list[str] = field(default_factory=list)


@dataclass
class Architecture:
    """For `.weights.h5`: the registry model to build and what to build it for."""

    model: str
    input_shape: tuple[int, ...]
    num_classes: int
    settings: dict = field(default_factory=dict)


def model_kind(name: str) -> str:
    """'keras', 'savedmodel' (a .zip) or 'weights' (.weights.h5) from the file name."""
    lower = name.lower()
    if lower.endswith(".keras"):
        return "keras"
    if lower.endswith(".zip"):
        return "savedmodel"
    if lower.endswith(".weights.h5"):
        return "weights"
    raise UntrustedModelError(
        f"{name}: not a model file this server reads (.keras, a SavedModel folder as .zip, "
        f"or .weights.h5 for a model of the registry)"
    )


def check_model_file(path: str | Path, name: str = "") -> str:
    """Cheap checks in the calling process (no TensorFlow); the file's kind, or
    UntrustedModelError: size, zip limits, Lambda / custom objects, unsafe member names."""
    path = Path(path)
    name = name or path.name
    kind = model_kind(name)
    try:
        size = path.stat().st_size
    except OSError as err:
        raise UntrustedModelError(f"{name}: cannot be read ({err.strerror})") from None
    if size == 0:
        raise UntrustedModelError(f"{name}: the file is empty")
    if size > MAX_MODEL_BYTES:
        raise UntrustedModelError(f"{name}: {size / 2**20:,.0f} MiB is over the 1 GiB limit")
    try:
        if kind == "keras":
            check_zip(path, *KERAS_LIMITS, name=name)
            scan_keras_config(_read_keras_config(path, name), name)
        elif kind == "savedmodel":
            check_zip(path, *SAVEDMODEL_LIMITS, name=name)
            savedmodel_root(path, name)
        elif path.read_bytes()[:8] != H5_SIGNATURE:
            raise UntrustedModelError(f"{name}: not an HDF5 weights file")
    except ZipLimitError as err:
        raise UntrustedModelError(f"{err}; model file refused") from None
    return kind


def _read_keras_config(path: Path, name: str) -> dict:
    with zipfile.ZipFile(path) as archive:
        try:
            info = archive.getinfo("config.json")
        except KeyError:
            raise UntrustedModelError(f"{name}: not a Keras model (no config.json)") from None
        if info.file_size > MAX_CONFIG_BYTES:
            raise UntrustedModelError(f"{name}: config.json is over 16 MiB")
        try:
            config = json.loads(archive.read(info))
        except (ValueError, zipfile.BadZipFile, OSError) as err:
            raise UntrustedModelError(f"{name}: config.json cannot be read ({err})") from None
    if not isinstance(config, dict):
        raise UntrustedModelError(f"{name}: config.json is not a Keras model config")
    return config


def scan_keras_config(config, name: str) -> None:
    """Refuse Lambda layers, serialised Python functions and objects from outside Keras."""
    stack = [config]
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            stack.extend(node)
            continue
        if not isinstance(node, dict):
            continue
        cls, module = node.get("class_name"), node.get("module")
        registered = node.get("registered_name")
        if cls == "Lambda":
            raise UntrustedModelError(
                f"{name}: contains a Lambda layer (Python code inside the file); refused. "
                f"Rebuild the model without Lambda layers."
            )
        if cls == "__lambda__":
            raise UntrustedModelError(f"{name}: contains a serialised Python function; refused")
        if isinstance(module, str) and module and module.split(".")[0] not in ("keras", "builtins"):
            raise UntrustedModelError(
                f"{name}: uses {registered or cls!s} from {module}, not part of Keras "
                f"(custom objects are refused)"
            )
        if isinstance(registered, str) and ">" in registered:
            raise UntrustedModelError(
                f"{name}: uses the custom object {registered} (custom objects are refused)"
            )
        stack.extend(node.values())


def _unsafe_member(info: zipfile.ZipInfo) -> str:
    """Why a zip member may not be extracted ('' when it may)."""
    member = info.filename.replace("\\", "/")
    parts = PurePosixPath(member).parts
    if member.startswith("/") or (parts and ":" in parts[0]):
        return "an absolute path"
    if ".." in parts:
        return "a path with '..'"
    if stat.S_ISLNK(info.external_attr >> 16):
        return "a symbolic link"
    return ""


def savedmodel_root(path: str | Path, name: str = "") -> str:
    """The folder inside the zip that holds saved_model.pb ('' for the top); refuses members
    with '..', absolute paths or links."""
    name = name or Path(path).name
    with zipfile.ZipFile(path) as archive:
        infos = archive.infolist()
    for info in infos:
        why = _unsafe_member(info)
        if why:
            raise UntrustedModelError(f"{name}: member {info.filename!r} is {why}; refused")
    roots = sorted(
        str(PurePosixPath(i.filename).parent)
        for i in infos
        if PurePosixPath(i.filename).name == "saved_model.pb"
    )
    if not roots:
        raise UntrustedModelError(f"{name}: no saved_model.pb inside (not a SavedModel folder)")
    return "" if roots[0] == "." else min(roots, key=len)


def safe_extract(path: str | Path, dest: Path, name: str = "") -> Path:
    """Unpack a checked SavedModel zip into dest (member by member, never outside it); the
    SavedModel folder."""
    name = name or Path(path).name
    check_zip(path, *SAVEDMODEL_LIMITS, name=name)
    root = savedmodel_root(path, name)
    dest = Path(dest).resolve()
    with zipfile.ZipFile(path) as archive:
        for info in archive.infolist():
            target = (dest / info.filename).resolve()
            if not target.is_relative_to(dest):
                raise UntrustedModelError(f"{name}: member {info.filename!r} leaves the folder")
            if info.is_dir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            with archive.open(info) as src, open(target, "wb") as out:
                while chunk := src.read(1 << 20):
                    out.write(chunk)
    return dest / root if root else dest


def inspect_model(
    path: str | Path, name: str = "", architecture: Architecture | None = None
) -> ModelInfo:
    """Load the file in a subprocess and report its shapes (UntrustedModelError if refused)."""
    result, _ = _run_worker("inspect", path, name, architecture, None)
    return _info(result)


def predict(
    path: str | Path,
    images: np.ndarray,
    name: str = "",
    architecture: Architecture | None = None,
    batch_size: int = 256,
) -> tuple[ModelInfo, np.ndarray]:
    """(info, outputs) of the file's model on images (n, *input_shape), run in a subprocess."""
    images = np.ascontiguousarray(images, dtype=np.float32)
    result, outputs = _run_worker("predict", path, name, architecture, images, batch_size)
    return _info(result), outputs


def _info(result: dict) -> ModelInfo:
    return ModelInfo(
        name=result["name"],
        kind=result["kind"],
        input_shape=tuple(result["input_shape"]),
        output_shape=tuple(result["output_shape"]),
        layers=int(result.get("layers", 0)),
        notes=list(result.get("notes", [])),
    )


def _run_worker(action, path, name, architecture, images, batch_size: int = 256):
    """Write the request to a fresh folder, run the worker there, read its answer."""
    path = Path(path)
    name = name or path.name
    kind = check_model_file(path, name)
    if kind == "weights" and architecture is None:
        raise UntrustedModelError(f"{name}: a .weights.h5 file needs the registry model it fits")
    with tempfile.TemporaryDirectory(prefix="tflab-model-") as tmp:
        work = Path(tmp)
        request = {
            "action": action,
            "path": str(path.resolve()),
            "name": name,
            "kind": kind,
            "architecture": asdict(architecture) if architecture else None,
            "batch_size": int(batch_size),
        }
        if images is not None:
            np.save(work / "inputs.npy", images, allow_pickle=False)
        (work / "request.json").write_text(json.dumps(request))
        env = {**os.environ, "CUDA_VISIBLE_DEVICES": "-1", "TF_CPP_MIN_LOG_LEVEL": "2"}
        try:
            proc = subprocess.run(
                [sys.executable, "-m", "core.models.untrusted_worker", str(work)],
                cwd=work,
                env=env,
                capture_output=True,
                text=True,
                timeout=TIMEOUT_S,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise UntrustedModelError(f"{name}: loading took over {TIMEOUT_S:.0f} s") from None
        answer = work / "answer.json"
        if not answer.is_file():
            tail = (proc.stderr or "").strip().splitlines()[-1:] or ["no message"]
            raise UntrustedModelError(f"{name}: the model process failed ({tail[0]})")
        result = json.loads(answer.read_text())
        if result.get("error"):
            raise UntrustedModelError(result["error"])
        outputs = None
        if action == "predict":
            outputs = np.load(work / "outputs.npy", allow_pickle=False)
        return result, outputs
