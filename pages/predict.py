"""Predict page: choose a finished run, and the view that fits its task (classifier, autoencoder,
phase picker) takes over; or upload a model file from elsewhere (run only in a subprocess)."""

import streamlit as st

from core import paths
from core.runs.artifacts import run_task
from core.runs.queries import runs_with_models
from dashboard.classification_view import render_classification, render_model_file
from dashboard.import_view import render_import
from dashboard.reconstruction_view import render_reconstruction
from dashboard.waveform_predict import render_picking
from dashboard.widgets import get_store, page_path, run_choice_label

TASK_VIEWS = {  # the Predict view of each task: render(run_id, run_dir)
    "classification": render_classification,
    "reconstruction": render_reconstruction,
    "picking": render_picking,
}


st.title("Predict")
render_import()
MODEL_SOURCES = ["A finished run", "A model file"]
if st.radio("Model", MODEL_SOURCES, horizontal=True, key="model-source") == MODEL_SOURCES[1]:
    render_model_file()
    st.stop()
runs = runs_with_models(get_store(), paths.runs_dir())
if not runs:
    st.info("No trained model yet. Train one on the **Train** page first.")
    st.page_link(page_path("train"), label="Go to Train", icon=":material/model_training:")
    st.stop()

labels = {r.id: run_choice_label(r) for r in runs}
wanted = st.query_params.get("run")
default = list(labels).index(wanted) if wanted in labels else 0
run_id = st.selectbox("Run", list(labels), index=default, format_func=labels.get)
st.query_params["run"] = run_id
run_dir = paths.run_dir(run_id)
TASK_VIEWS[run_task(run_dir) or "classification"](run_id, run_dir)
