"""The Evaluate page's evaluation job: submit it (a worker evaluates, not the page), follow its
place in the queue and its progress, then draw its saved result: metrics, per-class table,
confusion matrix whose cells show their images, confident mistakes, reliability diagram, or for
an autoencoder the error histogram (mean absolute error, pixels in [0, 1]) and worst images.
The job id sits in the URL (`?job=<id>`), so a refresh or a shared link finds it again."""

from __future__ import annotations

import streamlit as st

from core import paths
from core.runs import launcher
from core.tasks.evaluate_images import EvaluateError
from core.tasks.evaluate_job import KIND, Evaluation, evaluate_params, load_evaluation
from dashboard.evaluate_figures import confusion_heatmap, error_histogram, reliability_diagram
from dashboard.job_follow import follow_job
from dashboard.login import current_user
from dashboard.widgets import get_store

GALLERY = 12  # images shown per gallery
URL_KEY = "job"


def url_job(run_id: str | None = None):
    """The evaluate job the URL names (of run_id, if given), or None."""
    job_id = st.query_params.get(URL_KEY)
    job = get_store().get_job(job_id) if job_id else None
    if job is None or job.kind != KIND:
        return None
    if run_id is not None and job.params.get("run_id") != run_id:
        return None
    return job


def submit_evaluation(run_id: str, dataset: str, split: str) -> str | None:
    """Queue an evaluate job for the logged-in user and put its id in the URL (None and an
    error message if the dataset or split cannot be evaluated)."""
    try:
        params = evaluate_params(run_id, dataset, split)
    except EvaluateError as err:
        st.error(str(err))
        return None
    job_id = launcher.submit_job(
        KIND,
        params,
        owner=current_user(),
        label=f"evaluate run {run_id} on {dataset or 'its dataset'} ({split})",
    )
    st.query_params[URL_KEY] = job_id
    return job_id


def render_evaluation_job(run_id: str) -> None:
    """Draw the URL's evaluate job of this run (state, then its result once it succeeded)."""
    job_id = st.query_params.get(URL_KEY)
    if not job_id:
        st.caption("Press **Evaluate** to score the run on this split (a background job).")
        return
    job = url_job(run_id)
    if job is None:
        st.warning(f"There is no evaluation job {job_id!r} of run {run_id}.")
        return
    st.markdown(f"**Job {job.id}**: {job.label}")
    outcome = follow_job(get_store(), job.id, "Evaluating", "evaluation job", "starting ...")
    if outcome.get("status") != "succeeded":
        return
    try:
        evaluation = cached_evaluation(str(paths.runs_dir() / "jobs" / job.id))
    except EvaluateError as err:
        st.error(f"Cannot show the result of job {job.id}: {err}")
        return
    if evaluation.report["task"] == "classification":
        show_classification(evaluation)
    else:
        show_reconstruction(evaluation)


@st.cache_data(max_entries=4, show_spinner=False)
def cached_evaluation(folder: str) -> Evaluation:
    """A finished job's files never change: read them once per folder."""
    return load_evaluation(folder)


def gallery(evaluation: Evaluation, indices: list[int], captions: list[str]) -> None:
    images, kept = evaluation.images_of(indices[:GALLERY])
    if not kept:
        st.caption("No images.")
        return
    caption_of = dict(zip(indices, captions, strict=True))
    cols = st.columns(6)
    for i, (image, index) in enumerate(zip(images, kept, strict=True)):
        with cols[i % 6]:
            st.image(image, caption=caption_of[index], width=96)


def show_classification(evaluation: Evaluation) -> None:
    report = evaluation.report
    names, matrix = report["class_names"], report["confusion_matrix"]
    a, b, c, d = st.columns(4)
    a.metric("Accuracy", f"{report['accuracy']:.1%}")
    b.metric("Macro F1", f"{report['macro_f1']:.3f}")
    c.metric("ECE", f"{report['ece']:.3f}")
    d.metric("Images", f"{report['examples']:,}")
    st.subheader("Per class")
    st.dataframe(report["per_class"], hide_index=True)
    st.subheader("Confusion matrix")
    event = st.plotly_chart(
        confusion_heatmap(matrix, names),
        on_select="rerun",
        selection_mode="points",
        key="confusion",
    )
    cells = [(t, p) for t, row in enumerate(matrix) for p, n in enumerate(row) if n and t != p]
    cells = sorted(cells, key=lambda tp: -matrix[tp[0]][tp[1]]) or [(0, 0)]
    chosen = st.selectbox(
        "Show the images of a cell (or click one in the matrix)",
        cells,
        format_func=lambda tp: (
            f"true {names[tp[0]]} -> predicted {names[tp[1]]} ({matrix[tp[0]][tp[1]]})"
        ),
    )
    points = (event or {}).get("selection", {}).get("points", []) if event else []
    if points and points[0].get("x") in names and points[0].get("y") in names:
        chosen = (names.index(points[0]["y"]), names.index(points[0]["x"]))
    pairs = zip(report["labels"], report["predicted"], strict=True)
    idx = [i for i, tp in enumerate(pairs) if tuple(tp) == tuple(chosen)]
    shown = f" (the first {GALLERY} shown)" if len(idx) > GALLERY else ""
    st.caption(f"true {names[chosen[0]]}, predicted {names[chosen[1]]}: {len(idx)} images{shown}")
    gallery(evaluation, idx, [f"#{i}" for i in idx])
    st.subheader("Most confident mistakes")
    mistakes = report["mistakes"]
    gallery(
        evaluation,
        [m["index"] for m in mistakes],
        [f"{m['true']} -> {m['predicted']} {m['confidence']:.0%}" for m in mistakes],
    )
    st.plotly_chart(reliability_diagram(report["reliability"], report["ece"]))


def show_reconstruction(evaluation: Evaluation) -> None:
    report = evaluation.report
    a, b, c = st.columns(3)
    a.metric("Reconstruction error (MAE)", f"{report['restored_error']:.4f}")
    b.metric("Noisy input error (MAE)", f"{report['noisy_error']:.4f}")
    c.metric("Images", f"{report['examples']:,}")
    st.plotly_chart(error_histogram(report["histogram"]))
    st.subheader("Worst reconstructions")
    worst = report["worst"]
    gallery(
        evaluation, [w["index"] for w in worst], [f"#{w['index']} {w['error']:.3f}" for w in worst]
    )
