"""Load a run's trained model and classify images: top-k classes with probabilities."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.runs import artifacts


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
