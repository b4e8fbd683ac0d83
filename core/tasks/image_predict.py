"""Load a run's trained model and classify images: top-k classes with probabilities; turn
uploads (files or zips of a folder) into the model's input (h, w, c) float32 in [0, 1] and say
what was done; the results as table rows and CSV."""

from __future__ import annotations

import csv
import io
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import numpy as np
from PIL import Image

from core.data.decode import IMAGE_FORMATS, WIDE_GRAY_MODES, ImageError, decode_image
from core.data.zip_limits import ZipLimitError, check_zip
from core.runs import artifacts

MAX_ZIP_MEMBERS = 2000  # images in one uploaded zip
MAX_ZIP_BYTES = 512 << 20  # their uncompressed total


class PredictError(ValueError):
    """A run or model that cannot be used for prediction; the message is meant for the user."""


@dataclass
class LoadedModel:
    """A trained Keras model with what is needed to feed it and name its outputs."""

    model: object
    input_shape: tuple[int, int, int]
    class_names: list[str]
    dataset: str


def load_run_model(run_dir: Path) -> LoadedModel:
    """A classification run's model (Keras safe mode) with its input shape and class names."""
    try:
        meta = artifacts.read_model_meta(run_dir)
        model = artifacts.load_model(run_dir)
    except artifacts.ArtifactError as err:
        raise PredictError(str(err)) from None
    try:
        shape, names = tuple(meta["input_shape"]), list(meta["class_names"])
    except (KeyError, TypeError):
        raise PredictError(f"run {Path(run_dir).name}: model.json lacks input_shape") from None
    return LoadedModel(model, shape, names, meta.get("dataset", ""))


def predict_top_k(loaded: LoadedModel, images: np.ndarray, k: int = 3) -> list[list[dict]]:
    """images (n, h, w, c) float32 in [0, 1] -> per image the k best {class, probability}."""
    images = np.asarray(images, dtype=np.float32)
    if images.ndim == 3:
        images = images[None]
    if images.shape[1:] != loaded.input_shape:
        raise PredictError(
            f"images have shape {images.shape[1:]}, the model expects {loaded.input_shape}"
        )
    if not np.isfinite(images).all():
        raise PredictError("images contain NaN or infinite values")
    probs = np.asarray(loaded.model.predict(images, verbose=0, batch_size=256))
    return top_k(probs, loaded.class_names, k)


def top_k(probs: np.ndarray, class_names: list[str], k: int) -> list[list[dict]]:
    """probs (n, classes) -> per row the k largest as {class, index, probability}, best first."""
    k = max(1, min(k, probs.shape[1]))
    order = np.argsort(-probs, axis=1)[:, :k]
    return [
        [{"class": class_names[i], "index": int(i), "probability": float(row[i])} for i in idx]
        for row, idx in zip(probs, order, strict=True)
    ]


@dataclass
class PreparedImage:
    """One uploaded image converted to the model's input, with what was done to it."""

    name: str
    array: np.ndarray | None  # (h, w, c) float32 in [0, 1]; None when refused
    notes: str = ""  # e.g. "resized 640x480 -> 16x16, RGB -> gray, scaled 0-255 -> 0-1"
    error: str = ""  # the message naming the file when it was refused


def expand_uploads(files: list[tuple[str, bytes]]) -> list[tuple[str, bytes]]:
    """(name, bytes) uploads with every `.zip` replaced by its files (zip limits first;
    folders, hidden files and __MACOSX skipped); a refused zip stays one entry whose payload is
    a ZipRefused carrying the message."""
    out = []
    for name, data in files:
        if not name.lower().endswith(".zip"):
            out.append((name, data))
            continue
        try:
            check_zip(io.BytesIO(data), MAX_ZIP_MEMBERS, MAX_ZIP_BYTES, name=name)
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                for info in archive.infolist():
                    base = PurePosixPath(info.filename)
                    if info.is_dir() or base.name.startswith(".") or "__MACOSX" in base.parts:
                        continue
                    out.append((f"{name}/{info.filename}", archive.read(info)))
        except (ZipLimitError, zipfile.BadZipFile, OSError) as err:
            out.append((name, ZipRefused(str(err))))
    return out


class ZipRefused(bytes):
    """Placeholder payload of a refused zip: its message travels to prepare_images."""

    def __new__(cls, message: str):
        obj = super().__new__(cls, b"")
        obj.message = message
        return obj


def describe_image(data: bytes, input_shape: tuple[int, int, int]) -> str:
    """What decode_image does to this image: size, colour and value conversions."""
    height, width, channels = input_shape
    try:
        with Image.open(io.BytesIO(data), formats=IMAGE_FORMATS) as img:
            w, h, mode = img.width, img.height, img.mode
    except Exception:  # noqa: BLE001 - decode_image reports unreadable files itself
        return ""
    notes = [f"resized {w}x{h} -> {width}x{height}" if (w, h) != (width, height) else "kept size"]
    if channels == 1 and mode not in ("L", "1", *WIDE_GRAY_MODES):
        notes.append(f"{mode} -> gray")
    elif channels == 3 and mode != "RGB":
        notes.append(f"{mode} -> RGB")
    if mode in WIDE_GRAY_MODES:
        notes.append(f"{mode} scaled by its own range -> 0-1")
    else:
        notes.append("scaled 0-255 -> 0-1")
    return ", ".join(notes)


def prepare_images(
    files: list[tuple[str, bytes]], input_shape: tuple[int, int, int], invert: bool = False
) -> list[PreparedImage]:
    """Decode each upload (zips expanded) to input_shape; refusals keep their message."""
    prepared = []
    for name, data in expand_uploads(files):
        if isinstance(data, ZipRefused):
            prepared.append(PreparedImage(name, None, error=data.message))
            continue
        try:
            array = decode_image(data, input_shape, name)
        except ImageError as err:
            prepared.append(PreparedImage(name, None, error=str(err)))
            continue
        notes = describe_image(data, input_shape)
        if invert:
            array, notes = 1.0 - array, f"{notes}, inverted"
        prepared.append(PreparedImage(name, array, notes))
    return prepared


def results_rows(names: list[str], results: list[list[dict]], notes: list[str]) -> list[dict]:
    """One table row per image: best class, its probability, the top k, what was done."""
    rows = []
    for name, result, note in zip(names, results, notes, strict=True):
        rows.append(
            {
                "image": name,
                "prediction": result[0]["class"],
                "probability": round(result[0]["probability"], 4),
                "top_k": "; ".join(f"{c['class']} {c['probability']:.1%}" for c in result),
                "preprocessing": note,
            }
        )
    return rows


def rows_to_csv(rows: list[dict]) -> str:
    """The results table as CSV text (header from the first row's keys)."""
    if not rows:
        return ""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()
