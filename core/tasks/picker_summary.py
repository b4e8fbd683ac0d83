"""What the product shows about a picker run: its headline P/S F1 and which dataset to score it on.

headline(run) -> {"p_f1", "s_f1", "p_f1_0.1s", "s_f1_0.1s", "f1_source"}: F1 in [0, 1] at 0.5 s
(and 0.1 s) from the run's last validation epoch (val_{p,s}_f1_{t}s, core.tasks.pick_scores), else
from its saved evaluation (runs/<id>/pick_evaluation.json, written by `evaluate` and the Predict
page), else None values and f1_source None: nothing is invented for a run without either.
evaluation_dataset(own) -> (a local labelled dataset name, a note saying why when it is not the
run's own): an imported run's dataset ("published (PhaseNet 2019, NCEDC)") is not on this server;
evaluation_windows(name, split) -> (labelled windows of train/validation/test/all, rate in Hz).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from core import paths
from core.data.registry import mix_parts
from core.data.types import DatasetError
from core.models.registry import MODELS
from core.runs import artifacts
from core.seismic.sources import is_waveform_name, list_waveform_datasets
from core.tasks.picking import LabelledWindows, load_splits

EVALUATION_FILE = "pick_evaluation.json"
F1_KEYS = ("p_f1", "s_f1", "p_f1_0.1s", "s_f1_0.1s")
IMPORTED_SUFFIX = " (imported)"


def is_picker_model(model: str) -> bool:
    """True when the registry's model of this name is a phase picker."""
    spec = MODELS.get(model)
    return spec is not None and spec.task == "picking"


def headline(run, root: Path | None = None) -> dict:
    """The run's headline F1 numbers (see the module docstring); {} for a run that is not a
    picker (image runs keep their accuracy)."""
    if not is_picker_model(run.model):
        return {}
    metrics = run.final_metrics or {}
    if isinstance(metrics.get("val_p_f1_0.5s"), (int, float)):
        return {
            "p_f1": metrics.get("val_p_f1_0.5s"),
            "s_f1": metrics.get("val_s_f1_0.5s"),
            "p_f1_0.1s": metrics.get("val_p_f1_0.1s"),
            "s_f1_0.1s": metrics.get("val_s_f1_0.1s"),
            "f1_source": "validation",
        }
    saved = read_evaluation(paths.run_dir(run.id, root))
    if saved:
        return {**saved["f1"], "f1_source": f"evaluation on {saved['dataset']}"}
    return {**dict.fromkeys(F1_KEYS), "f1_source": None}


def evaluation_record(report, run_dataset: str) -> dict:
    """What save_evaluation keeps of a core.seismic.evaluation.EvaluationReport."""
    f1 = {}
    for phase in ("P", "S"):
        for tol, suffix in ((0.5, ""), (0.1, "_0.1s")):
            try:
                f1[f"{phase.lower()}_f1{suffix}"] = round(report.score(phase, tol).f1, 4)
            except KeyError:
                f1[f"{phase.lower()}_f1{suffix}"] = None
    return {
        "dataset": report.dataset,
        "run_dataset": run_dataset,
        "windows": report.windows,
        "options": report.options,
        "f1": f1,
        "scores": [s.to_dict(with_residuals=False) for s in report.scores],
    }


def save_evaluation(run_dir: Path, report, run_dataset: str = "") -> None:
    """Keep the latest evaluation of a picker in its run folder (atomic; best effort: a
    read-only runs folder only means the runs tables cannot show it)."""
    try:
        artifacts.write_json(run_dir, EVALUATION_FILE, evaluation_record(report, run_dataset))
    except OSError:
        pass


def read_evaluation(run_dir: Path) -> dict:
    """The saved evaluation ({} when there is none or it cannot be read)."""
    path = Path(run_dir) / EVALUATION_FILE
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) and isinstance(data.get("f1"), dict) else {}


def is_local_dataset(name: str) -> bool:
    """True when `name` names waveform data this server can load (a built-in, phasenet:...,
    tfrecord-waveform:... or a mix: of those); an imported run's source is not."""
    try:
        parts = mix_parts(name) if name else []
    except DatasetError:
        return False
    return bool(parts) and all(is_waveform_name(p) for p in parts)


def local_picking_datasets() -> list[str]:
    """Labelled waveform datasets to evaluate a picker on, real data first."""
    names = [i.name for i in list_waveform_datasets()]
    return sorted(names, key=lambda n: n == "synthetic")


def evaluation_dataset(own: str) -> tuple[str, str]:
    """(dataset to evaluate on by default, "" or a note saying why it is not the run's own)."""
    if is_local_dataset(own):
        return own, ""
    choices = local_picking_datasets()
    first = choices[0] if choices else "synthetic"
    return first, (
        f"this run was trained on {own or 'data'} (not on this server); "
        f"evaluating on {first}, a local labelled dataset"
    )


def display_dataset(name: str) -> str:
    """How a run's dataset reads: an imported run's source gets " (imported)"."""
    if not name or is_local_dataset(name) or name.endswith(IMPORTED_SUFFIX):
        return name
    return f"{name}{IMPORTED_SUFFIX}"


def evaluation_windows(name: str, split: str) -> tuple[LabelledWindows, float]:
    """(the labelled windows of one split of a dataset, or of all three; sampling rate Hz)."""
    train, val, test, rate = load_splits(name)
    if split == "all":
        sets, refs = [], []
        for part in (train, val, test):
            refs.append(part.refs + np.array([len(sets), 0], np.int64))
            sets.extend(part.sets)
        return LabelledWindows(sets, np.concatenate(refs).reshape(-1, 2)), rate
    parts = {"train": train, "validation": val, "test": test}
    if split not in parts:
        raise ValueError(f"unknown split {split!r}; choose train, validation, test or all")
    return parts[split], rate


def clone_settings(run_id: str, config: dict) -> dict:
    """A run's config as the start of a new run ("Clone & tweak"). A picker whose dataset is
    not on this server (an imported model) becomes a fine-tune of it on a local labelled
    dataset: dataset = evaluation_dataset's choice, init_from = that run."""
    out = {**config, "k_folds": None, "fold": None}
    dataset = str(config.get("dataset", ""))
    if is_picker_model(str(config.get("model", ""))) and not is_local_dataset(dataset):
        out["dataset"] = evaluation_dataset(dataset)[0]
        out["init_from"] = out.get("init_from") or run_id
    return out
