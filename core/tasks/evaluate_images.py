"""Evaluate an image run on a labelled split: classifier diagnostics or reconstruction errors.

Classifier: accuracy, per-class precision/recall/F1, confusion matrix (rows true, columns
predicted), the most confident mistakes, reliability bins and the expected calibration error
(ECE, 10 equal-width confidence bins (lo, hi], the first one [0, 0.1]). Autoencoder: per-image
mean absolute error (pixel units of [0, 1]), its histogram and the worst images. Images are
(n, h, w, c) float32 in [0, 1]; labels (n,) int.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.data.registry import load_dataset
from core.runs import artifacts
from core.tasks.reconstruction import add_noise, reconstruction_errors

SPLITS = ("train", "validation", "test", "all")
RECONSTRUCTION_SEED = 2  # the noise drawn for evaluation (the test split's offset)
Progress = Callable[[int, int], None]  # (images done, images in all)


class EvaluateError(ValueError):
    """A run or dataset that cannot be evaluated; the message is meant for the user."""


@dataclass
class EvalData:
    """The images and labels of one split, with the dataset's class names."""

    x: np.ndarray
    y: np.ndarray
    class_names: list[str]
    label: str  # e.g. "digits (test)"


def load_split(dataset: str, split: str) -> EvalData:
    """One split of a dataset ('all' = train + validation + test, in that order)."""
    if split not in SPLITS:
        raise EvaluateError(f"unknown split {split!r}; choose one of {', '.join(SPLITS)}")
    data = load_dataset(dataset)
    if not hasattr(data, "x_test"):
        raise EvaluateError(f"{dataset} is not an image dataset")
    parts = {
        "train": (data.x_train, data.y_train),
        "validation": (data.x_val, data.y_val),
        "test": (data.x_test, data.y_test),
    }
    chosen = list(parts.values()) if split == "all" else [parts[split]]
    x = np.concatenate([p[0] for p in chosen])
    y = np.concatenate([p[1] for p in chosen]).astype(np.int64)
    if len(y) == 0:
        raise EvaluateError(f"{dataset} has no images in its {split} split")
    return EvalData(x, y, list(data.info.class_names), f"{dataset} ({split})")


def map_labels(data: EvalData, model_classes: list[str]) -> np.ndarray:
    """The dataset's labels as indices of the model's classes (matched by name)."""
    if data.class_names == model_classes:
        return data.y
    index = {name: i for i, name in enumerate(model_classes)}
    missing = [c for c in data.class_names if c not in index]
    if missing:
        raise EvaluateError(
            f"{data.label}: classes {', '.join(missing[:5])} are not classes of the model "
            f"({', '.join(model_classes[:10])})"
        )
    lookup = np.array([index[c] for c in data.class_names])
    return lookup[data.y]


def predict_batches(predict: Callable, x: np.ndarray, batch: int = 256, progress=None):
    """Concatenated predict(x[i:i+batch]) with progress(done, total) after each batch."""
    outputs = []
    for start in range(0, len(x), batch):
        outputs.append(np.asarray(predict(x[start : start + batch]), dtype=np.float32))
        if progress is not None:
            progress(min(start + batch, len(x)), len(x))
    return np.concatenate(outputs)


def classification_report(
    y_true: np.ndarray, probs: np.ndarray, class_names: list[str], mistakes: int = 24, bins=10
) -> dict:
    """Every classifier diagnostic as a JSON-friendly dict (see the module docstring)."""
    y_true = np.asarray(y_true, dtype=np.int64)
    probs = np.asarray(probs, dtype=np.float64)
    k = len(class_names)
    pred = probs.argmax(axis=1)
    confidence = probs.max(axis=1)
    matrix = np.zeros((k, k), dtype=np.int64)
    np.add.at(matrix, (y_true, pred), 1)
    per_class = []
    for i, name in enumerate(class_names):
        tp = int(matrix[i, i])
        predicted, actual = int(matrix[:, i].sum()), int(matrix[i, :].sum())
        precision = tp / predicted if predicted else 0.0
        recall = tp / actual if actual else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_class.append(
            {"class": name, "precision": precision, "recall": recall, "f1": f1, "support": actual}
        )
    correct = pred == y_true
    wrong = np.flatnonzero(~correct)
    worst = wrong[np.argsort(-confidence[wrong], kind="stable")][:mistakes]
    reliability, ece = calibration(confidence, correct, bins)
    present = [c for c in per_class if c["support"]]
    return {
        "examples": int(len(y_true)),
        "accuracy": float(correct.mean()) if len(y_true) else 0.0,
        "macro_f1": float(np.mean([c["f1"] for c in present])) if present else 0.0,
        "per_class": per_class,
        "class_names": list(class_names),
        "confusion_matrix": matrix.tolist(),
        "ece": ece,
        "reliability": reliability,
        "labels": y_true.tolist(),  # per example, index into class_names
        "predicted": pred.tolist(),
        "mistakes": [
            {
                "index": int(i),
                "true": class_names[y_true[i]],
                "predicted": class_names[pred[i]],
                "confidence": float(confidence[i]),
            }
            for i in worst
        ],
    }


def calibration(confidence: np.ndarray, correct: np.ndarray, bins: int = 10):
    """(bins as [{lo, hi, count, confidence, accuracy}], ECE = sum n_b/N |acc_b - conf_b|)."""
    confidence = np.asarray(confidence, dtype=np.float64)
    correct = np.asarray(correct, dtype=bool)
    which = np.clip(np.ceil(confidence * bins - 1e-9).astype(int) - 1, 0, bins - 1)  # (lo, hi]
    rows, ece, n = [], 0.0, max(len(confidence), 1)
    for b in range(bins):
        mask = which == b
        count = int(mask.sum())
        conf = float(confidence[mask].mean()) if count else None
        acc = float(correct[mask].mean()) if count else None
        if count:
            ece += count / n * abs(acc - conf)
        rows.append(
            {
                "lo": b / bins,
                "hi": (b + 1) / bins,
                "count": count,
                "confidence": conf,
                "accuracy": acc,
            }
        )
    return rows, float(ece)


def reconstruction_report(clean, noisy, restored, worst: int = 16, bins: int = 30) -> dict:
    """Per-image errors of an autoencoder: histogram and the worst images (indices)."""
    errors = reconstruction_errors(clean, noisy, restored)
    per_image = np.asarray(errors["per_image"], dtype=np.float64)
    counts, edges = np.histogram(per_image, bins=bins)
    order = np.argsort(-per_image, kind="stable")[:worst]
    return {
        "examples": int(len(per_image)),
        "noisy_error": errors["noisy"],
        "restored_error": errors["restored"],
        "per_image_error": per_image.tolist(),
        "histogram": {"counts": counts.tolist(), "edges": edges.tolist()},
        "worst": [{"index": int(i), "error": float(per_image[i])} for i in order],
    }


def default_split(run_dataset: str, dataset: str | None) -> str:
    """Its own dataset or a built-in one: the test split; a folder or file source (a name with
    a ':' such as folder:..., phasenet:...) the run was not trained on: all of it."""
    return "test" if not dataset or dataset == run_dataset or ":" not in dataset else "all"


def evaluate_run(
    run_dir: Path,
    dataset: str | None = None,
    split: str | None = None,
    progress: Progress | None = None,
    model=None,
) -> dict:
    """Evaluate a classification or reconstruction run; the report names run, dataset, split."""
    run_dir = Path(run_dir)
    try:
        meta = artifacts.read_model_meta(run_dir)
        if model is None:
            model = artifacts.load_model(run_dir, compile=False)
    except artifacts.ArtifactError as err:
        raise EvaluateError(str(err)) from None
    own = meta.get("dataset", "")
    name = dataset or own
    split = split or default_split(own, dataset)
    data = load_split(name, split)
    if tuple(data.x.shape[1:]) != tuple(meta.get("input_shape", data.x.shape[1:])):
        raise EvaluateError(
            f"{data.label}: images are {tuple(data.x.shape[1:])}, the model expects "
            f"{tuple(meta['input_shape'])}"
        )
    head = {"run": run_dir.name, "task": meta["task"], "dataset": name, "split": split}
    if meta["task"] == "reconstruction":
        std = float(meta.get("noise_std", 0.2))
        noisy = add_noise(data.x, std, RECONSTRUCTION_SEED)
        restored = predict_batches(lambda b: model.predict(b, verbose=0), noisy, progress=progress)
        return {**head, **reconstruction_report(data.x, noisy, restored)}
    if meta["task"] != "classification":
        raise EvaluateError(f"run {run_dir.name} is a {meta['task']} run, not an image run")
    class_names = list(meta.get("class_names") or data.class_names)
    y = map_labels(data, class_names)
    probs = predict_batches(lambda b: model.predict(b, verbose=0), data.x, progress=progress)
    return {**head, **classification_report(y, probs, class_names)}


def evaluate_arrays(
    predict: Callable, data: EvalData, class_names: list[str], progress=None, batch: int = 256
):
    """Classifier report for any predict(batch) -> probs (e.g. an uploaded model file)."""
    probs = predict_batches(predict, data.x, max(batch, 1), progress)
    if probs.ndim != 2 or probs.shape[1] != len(class_names):
        raise EvaluateError(
            f"the model gives {probs.shape[1:]} outputs per image, the dataset has "
            f"{len(class_names)} classes"
        )
    y = map_labels(data, class_names)
    return classification_report(y, probs, class_names)
