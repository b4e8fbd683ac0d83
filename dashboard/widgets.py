"""Shared Streamlit pieces: the run store handle, status labels, run progress and run lists."""

from __future__ import annotations

import time
from pathlib import Path

import streamlit as st

from core.runs.launcher import open_store
from core.runs.store import Run, RunStore
from core.seismic.phasenet_import import DATASET as PUBLISHED_PHASENET
from core.tasks.picker_summary import display_dataset, headline, is_picker_model

PAGES_DIR = Path(__file__).resolve().parent.parent / "pages"


def page_path(name: str) -> Path:
    """Absolute path of a page script in pages/ (for st.Page and st.page_link)."""
    return PAGES_DIR / f"{name}.py"


STATUS_ICONS = {
    "queued": ":material/schedule:",
    "running": ":material/play_circle:",
    "succeeded": ":material/check_circle:",
    "failed": ":material/error:",
    "stopped": ":material/stop_circle:",
    "interrupted": ":material/warning:",
}


@st.cache_resource
def get_store() -> RunStore:
    """One store handle for all sessions (it opens a fresh connection per call)."""
    return open_store()


def status_label(status: str, warned: bool = False) -> str:
    """Icon and status; a finished run with health warnings gets a warning badge, not a check."""
    if warned and status in ("succeeded", "stopped"):
        return f":material/warning: {status} with warnings"
    return f"{STATUS_ICONS.get(status, '')} {status}"


def health_cell(status: str, warnings: list[str]) -> str:
    """The runs tables' "check" column: a warning badge, a green check or nothing."""
    if warnings:
        return "⚠️ warning" if len(warnings) == 1 else f"⚠️ {len(warnings)} warnings"
    return "✅" if status == "succeeded" else ""


def run_progress(
    run: Run, now: float | None = None, batches: list[dict] | None = None
) -> tuple[float, float | None]:
    """(fraction done in [0, 1], seconds left or None) from epoch/step counters.

    With per-batch rows (global_step, wall_time) the ETA uses the measured batch rate, so the
    worker's start-up (TensorFlow import, tracing) does not inflate it; else the start time.
    """
    now = time.time() if now is None else now
    steps = run.steps_per_epoch or 0
    total = run.epochs * steps
    if total <= 0:
        return (1.0 if run.status == "succeeded" else 0.0), None
    done = min(total, run.epoch * steps + run.step)
    fraction = done / total
    if run.status == "succeeded":
        return 1.0, 0.0
    if not run.started or done == 0 or not run.is_active:
        return fraction, None
    rate = _batch_rate(batches or [])
    if rate:
        return fraction, (total - done) / rate
    elapsed = max(1e-6, now - run.started)
    return fraction, elapsed / done * (total - done)


def _batch_rate(batches: list[dict]) -> float | None:
    """Steps per second between the second and the last batch row (the first includes tracing)."""
    rows = [r for r in batches if "global_step" in r and "wall_time" in r][1:]
    if len(rows) < 2:
        return None
    steps = rows[-1]["global_step"] - rows[0]["global_step"]
    seconds = rows[-1]["wall_time"] - rows[0]["wall_time"]
    return steps / seconds if steps > 0 and seconds > 0 else None


def progress_line(run: Run, batches: list[dict]) -> tuple[float, str]:
    """(fraction done in [0, 1], the progress bar's text "epoch E/N · step S/M · ETA ...");
    the text is parsed by bench/ and the browser tests."""
    fraction, eta = run_progress(run, batches=batches)
    steps = run.steps_per_epoch or 0
    text = f"epoch {min(run.epoch + 1, run.epochs)}/{run.epochs}"
    if steps and run.is_active and run.epoch >= run.epochs:
        text = "all epochs done · evaluating on the test split and saving"
    elif steps and run.is_active:
        text += f" · step {run.step}/{steps} · ETA {format_seconds(eta)}"
    return fraction, text if run.is_active else f"{run.status} · {fraction:.0%}"


def format_seconds(seconds: float | None) -> str:
    if seconds is None:
        return "unknown"
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"


def owner_label(owner: str) -> str:
    """How a run's owner reads on screen ("" is a run from before owners were recorded)."""
    return owner or "nobody (older run)"


IMPORTED_MODELS = {PUBLISHED_PHASENET: "PhaseNet 2019 (published, imported)"}  # by run dataset


def run_choice_label(run: Run) -> str:
    """How a run reads in a run choice: "ID · model on dataset · name" for a trained run,
    "ID · PhaseNet 2019 (published, imported) · name" for an imported one."""
    what = IMPORTED_MODELS.get(run.dataset) or f"{run.model} on {run.dataset}"
    return f"{run.id} · {what}" + (f" · {run.name}" if run.name else "")


def runs_table_rows(
    runs: list[Run], with_owner: bool = False, warnings: dict[str, list[str]] | None = None
) -> list[dict]:
    """Rows for a runs table: id, name, (owner,) status, (check,) model, dataset, created,
    progress, accuracy; with picker runs among them also P F1, S F1 (0.5 s) and "F1 on" (the
    pickers' accuracy cells stay empty). warnings: core.runs.queries.run_warnings (adds "check")."""
    rows = []
    with_f1 = any(is_picker_model(r.model) for r in runs)  # pickers: P/S F1, not accuracy
    for r in runs:
        metrics = r.final_metrics or {}
        f1 = headline(r) if with_f1 else {}
        if f1:
            metrics = {}  # per-sample accuracy says nothing about a picker's picks
        owner = {"owner": owner_label(r.owner)} if with_owner else {}
        check = {} if warnings is None else {"check": health_cell(r.status, warnings.get(r.id, []))}
        rows.append(
            {
                "run": r.id,
                "name": r.name,
                **owner,
                "status": r.status,
                **check,
                "model": r.model,
                **(f1_cells(f1) if with_f1 else {}),  # a picker's headline, where it is seen
                "dataset": display_dataset(r.dataset) if f1 else r.dataset,
                "created": time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(r.created)),
                "epochs": f"{min(r.epoch, r.epochs)}/{r.epochs}",
                "val accuracy": metrics.get("val_accuracy"),
                "test accuracy": metrics.get("test_accuracy"),
                **({"F1 on": f1_origin(f1)} if with_f1 else {}),
            }
        )
    return rows


def f1_cells(f1: dict) -> dict:
    """The runs-table cells of a picker's headline (core.tasks.picker_summary.headline): P and
    S F1 at 0.5 s; where they come from is the row's last cell, "F1 on" (f1_origin)."""
    return {"P F1": f1.get("p_f1"), "S F1": f1.get("s_f1")}


def f1_origin(f1: dict) -> str | None:
    """ "validation", "evaluation on ...", "none yet" (a picker without scores) or None."""
    return f1.get("f1_source") or ("none yet" if f1 else None)
