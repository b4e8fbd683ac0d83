"""Train form: "Start from a previous run" (a finished picker run) and "Freeze the encoder".

Returns {"init_from": run id or "", "freeze_encoder": bool} for RunConfig (core.tasks.init_from
copies the weights; the launcher refuses another architecture or task with a message).
"""

from __future__ import annotations

import streamlit as st

from core import paths
from core.config import RunConfig
from core.runs.artifacts import run_task
from core.runs.queries import runs_with_models
from dashboard.widgets import get_store, run_choice_label

NONE = ""


def picker_runs() -> dict[str, str]:
    """{run id: label} of the finished picking runs, newest first."""
    runs = runs_with_models(get_store(), paths.runs_dir())
    return {r.id: run_choice_label(r) for r in runs if run_task(paths.run_dir(r.id)) == "picking"}


def init_from_field(base: RunConfig) -> dict:
    """Draw the two widgets (inside the form); their values as RunConfig fields."""
    labels = {NONE: "No: start from new weights", **picker_runs()}
    if base.init_from and base.init_from not in labels:
        labels[base.init_from] = f"{base.init_from} (not a finished picker run)"
    options = list(labels)
    choice = st.selectbox(
        "Start from a previous run",
        options,
        index=options.index(base.init_from) if base.init_from in labels else 0,
        format_func=labels.get,
        key="init-from",
        help="Picking models only: the new run starts with that run's weights (trained here "
        "or imported on the Predict page) and its model settings and window, to fine-tune it "
        "on your own data.",
    )
    freeze = st.checkbox(
        "Freeze the encoder",
        value=base.freeze_encoder,
        key="init-from-freeze",
        help="With a previous run: keep the normalisation, input and down-sampling layers as "
        "they are and train only the decoder and the output layer.",
    )
    return {"init_from": choice, "freeze_encoder": bool(freeze and choice)}
