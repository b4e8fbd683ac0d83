"""Predict page: choose a finished run; the view that fits its task (classifier, autoencoder,
phase picker) takes over."""

import streamlit as st

from core import paths
from core.runs.artifacts import run_task
from core.runs.queries import runs_with_models
from dashboard.widgets import get_store, page_path


def task_view(task: str):
    """The render(run_id, run_dir) function of a task's Predict view (imported when needed)."""
    if task == "picking":
        from dashboard.waveform_predict import render_picking

        return render_picking
    if task == "reconstruction":
        from dashboard.reconstruction_view import render_reconstruction

        return render_reconstruction
    from dashboard.classification_view import render_classification

    return render_classification


st.title("Predict")
runs = runs_with_models(get_store(), paths.runs_dir())
if not runs:
    st.info("No trained model yet. Train one on the **Train** page first.")
    st.page_link(page_path("train"), label="Go to Train", icon=":material/model_training:")
    st.stop()

labels = {
    r.id: f"{r.id} · {r.model} on {r.dataset}" + (f" · {r.name}" if r.name else "") for r in runs
}
wanted = st.query_params.get("run")
default = list(labels).index(wanted) if wanted in labels else 0
run_id = st.selectbox("Run", list(labels), index=default, format_func=labels.get)
st.query_params["run"] = run_id
run_dir = paths.run_dir(run_id)
task_view(run_task(run_dir) or "classification")(run_id, run_dir)
