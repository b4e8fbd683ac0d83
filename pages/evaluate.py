"""Evaluate page: score an image run on its test split or any labelled dataset (accuracy,
per-class table, confusion matrix whose cells show their images, confident mistakes,
reliability diagram; for autoencoders the error histogram and worst images), then export it.
Both are queued jobs run by workers (dashboard/evaluate_job_view.py, dashboard/export_view.py);
the page only draws their saved results, with the job ids in the URL (?job=, ?export=)."""

import streamlit as st

from core import paths
from core.runs.artifacts import read_model_meta, run_task
from core.runs.queries import runs_with_models
from core.tasks.evaluate_images import SPLITS, default_split
from dashboard.evaluate_job_view import (
    URL_KEY,
    render_evaluation_job,
    submit_evaluation,
    url_job,
)
from dashboard.export_view import render_export
from dashboard.widgets import get_store, page_path, run_choice_label

st.title("Evaluate")
runs = [
    r
    for r in runs_with_models(get_store(), paths.runs_dir())
    if run_task(paths.run_dir(r.id)) in ("classification", "reconstruction")
]
if not runs:
    st.info("No trained image model yet. Train one on the **Train** page first.")
    st.page_link(page_path("train"), label="Go to Train", icon=":material/model_training:")
    st.stop()

labels = {r.id: run_choice_label(r) for r in runs}
job = url_job()  # a refresh or a shared link: the job's run, dataset and split
wanted = job.params.get("run_id") if job else st.query_params.get("run")
run_id = st.selectbox(
    "Run",
    list(labels),
    index=list(labels).index(wanted) if wanted in labels else 0,
    format_func=labels.get,
)
st.query_params["run"] = run_id
if job is not None and job.params.get("run_id") != run_id:
    del st.query_params[URL_KEY]  # another run was chosen: its evaluation is not this one's
    job = None
own = read_model_meta(paths.run_dir(run_id)).get("dataset", "")
left, right = st.columns([3, 1])
dataset = left.text_input(
    "Dataset (its own, or any labelled folder: folder:<path>)",
    (job.params.get("dataset") or own) if job else own,
).strip()
split = right.selectbox(
    "Split",
    SPLITS,
    index=SPLITS.index(job.params["split"] if job else default_split(own, dataset)),
)
if st.button("Evaluate", type="primary"):
    submit_evaluation(run_id, dataset, split)
render_evaluation_job(run_id)

st.divider()
render_export(run_id)
