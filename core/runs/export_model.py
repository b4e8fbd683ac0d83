"""Export a finished run's model: `.keras`, a SavedModel for TF Serving (zipped) or TFLite
(float or dynamic-range quantised). Every export is loaded back and run on the same inputs as
the Keras model: `max_abs_diff` is the largest |export - keras| over all outputs; for a
classifier also the accuracy of both on the test split. Sizes in bytes.
"""

from __future__ import annotations

import shutil
import tempfile
import time
import zipfile
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from core.data.registry import load_dataset
from core.runs import artifacts

FORMATS = ("keras", "savedmodel", "tflite")
QUANTIZE = (None, "dynamic")
SUFFIX = {"keras": ".keras", "savedmodel": ".zip", "tflite": ".tflite"}
CHECK_EXAMPLES = 512  # inputs compared between the export and the Keras model


class ExportError(ValueError):
    """An export that cannot be made; the message is meant for the user."""


@dataclass
class ExportResult:
    """Where the export went and how closely it matches the Keras model."""

    path: str
    format: str
    quantize: str | None
    bytes: int
    max_abs_diff: float
    examples: int
    keras_accuracy: float | None
    export_accuracy: float | None
    accuracy_diff: float | None
    seconds: float

    def to_dict(self) -> dict:
        return asdict(self)


def export_run(run_dir: Path, fmt: str, out: Path, quantize: str | None = None) -> ExportResult:
    """Write the run's model to `out` in `fmt` and check it against the Keras model."""
    if fmt not in FORMATS:
        raise ExportError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    if quantize not in QUANTIZE:
        raise ExportError(f"unknown quantisation {quantize!r}; only 'dynamic' is offered")
    if quantize and fmt != "tflite":
        raise ExportError("quantisation is only offered for the tflite format")
    out = Path(out)
    if not out.parent.is_dir():
        raise ExportError(f"{out}: the folder {out.parent} does not exist")
    began = time.perf_counter()
    try:
        meta = artifacts.read_model_meta(run_dir)
        model = artifacts.load_model(run_dir, compile=False)
    except artifacts.ArtifactError as err:
        raise ExportError(str(err)) from None
    x, y = check_inputs(meta, model)
    reference = np.asarray(model.predict(x, verbose=0), dtype=np.float32)
    with tempfile.TemporaryDirectory(prefix="tflab-export-") as tmp:
        tmp = Path(tmp)
        if fmt == "keras":
            shutil.copyfile(Path(run_dir) / artifacts.MODEL_FILE, tmp / "model.keras")
            produced = tmp / "model.keras"
            outputs = _run_keras(produced, x)
        else:
            saved = tmp / "savedmodel"
            export_savedmodel(model, saved)
            if fmt == "savedmodel":
                produced = tmp / "savedmodel.zip"
                _zip_folder(saved, produced)
                outputs = _run_savedmodel(saved, x)
            else:
                produced = tmp / "model.tflite"
                produced.write_bytes(_to_tflite(saved, quantize))
                outputs = _run_tflite(produced.read_bytes(), x)
        shutil.move(str(produced), out)
    diff = float(np.max(np.abs(outputs - reference))) if reference.size else 0.0
    keras_acc = export_acc = None
    if y is not None:
        keras_acc = float(np.mean(reference.argmax(1) == y))
        export_acc = float(np.mean(outputs.argmax(1) == y))
    return ExportResult(
        path=str(out),
        format=fmt,
        quantize=quantize,
        bytes=out.stat().st_size,
        max_abs_diff=diff,
        examples=len(x),
        keras_accuracy=keras_acc,
        export_accuracy=export_acc,
        accuracy_diff=None if y is None else export_acc - keras_acc,
        seconds=time.perf_counter() - began,
    )


def check_inputs(meta: dict, model) -> tuple[np.ndarray, np.ndarray | None]:
    """(inputs, labels or None): a classifier's test split (first CHECK_EXAMPLES), the
    autoencoder's test images, else seeded random inputs of the model's input shape."""
    if meta["task"] in ("classification", "reconstruction") and meta.get("dataset"):
        try:
            data = load_dataset(meta["dataset"])
            x = np.asarray(data.x_test[:CHECK_EXAMPLES], dtype=np.float32)
            y = np.asarray(data.y_test[:CHECK_EXAMPLES], dtype=np.int64)
            if len(x) and tuple(x.shape[1:]) == tuple(model.input_shape[1:]):
                return x, (y if meta["task"] == "classification" else None)
        except (ValueError, OSError):
            pass
    shape = tuple(d or 1 for d in model.input_shape[1:])
    return np.random.default_rng(0).normal(size=(32, *shape)).astype(np.float32), None


def export_savedmodel(model, folder: Path) -> None:
    """model.export for TF Serving, but traced with training=False: a plain model.export leaves
    the training-only augmentation layers (random shift/rotation/zoom) active in the graph."""
    import keras
    import tensorflow as tf

    archive = keras.export.ExportArchive()
    archive.track(model)
    shape = (None, *model.input_shape[1:])
    archive.add_endpoint(
        name="serve",
        fn=lambda x: model(x, training=False),
        input_signature=[tf.TensorSpec(shape, tf.float32, name="inputs")],
    )
    archive.write_out(str(folder), verbose=False)


def _zip_folder(folder: Path, target: Path) -> None:
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*")):
            archive.write(path, path.relative_to(folder).as_posix())


def _run_keras(path: Path, x: np.ndarray) -> np.ndarray:
    import keras

    loaded = keras.models.load_model(path, safe_mode=True, compile=False)
    return np.asarray(loaded.predict(x, verbose=0), dtype=np.float32)


def _run_savedmodel(folder: Path, x: np.ndarray) -> np.ndarray:
    import keras

    layer = keras.layers.TFSMLayer(str(folder), call_endpoint="serving_default")
    parts = []
    for start in range(0, len(x), 256):
        y = layer(x[start : start + 256])
        if isinstance(y, dict):
            (y,) = y.values()
        parts.append(np.asarray(y, dtype=np.float32))
    return np.concatenate(parts)


def _to_tflite(saved: Path, quantize: str | None) -> bytes:
    import tensorflow as tf

    converter = tf.lite.TFLiteConverter.from_saved_model(str(saved))
    if quantize == "dynamic":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    try:
        return converter.convert()
    except Exception as err:  # noqa: BLE001 - converter errors are long; keep the first line
        first = (str(err).strip().splitlines() or [""])[0]
        raise ExportError(f"TFLite cannot convert this model ({first[:300]})") from None


def tflite_interpreter(content: bytes):
    """A TFLite interpreter for the model bytes (tf.lite; LiteRT's ai_edge_litert is not in
    our locks)."""
    import tensorflow as tf

    return tf.lite.Interpreter(model_content=content)


def _run_tflite(content: bytes, x: np.ndarray, batch: int = 64) -> np.ndarray:
    interpreter = tflite_interpreter(content)
    (inp,) = interpreter.get_input_details()
    (out,) = interpreter.get_output_details()
    parts = []
    for start in range(0, len(x), batch):
        chunk = x[start : start + batch]
        interpreter.resize_tensor_input(inp["index"], chunk.shape)
        interpreter.allocate_tensors()
        interpreter.set_tensor(inp["index"], chunk)
        interpreter.invoke()
        parts.append(np.array(interpreter.get_tensor(out["index"]), dtype=np.float32))
    return np.concatenate(parts)
