"""Export section of the Evaluate page: the run's model as .keras, a SavedModel zip for TF
Serving or TFLite (float or dynamic-range quantised), made by a queued export job in a worker
(never in the page). Each export is checked against the Keras model (largest output difference,
accuracy on the test split) before it is offered for download; the job id sits in the URL
(`?export=<id>`), so a refresh or a shared link finds the file again. Sizes in bytes."""

from __future__ import annotations

import streamlit as st

from core import paths
from core.runs import launcher
from core.runs.export_job import KIND, export_label, export_params, exported_file
from core.runs.export_model import ExportError
from dashboard.job_follow import follow_job
from dashboard.login import current_user
from dashboard.widgets import get_store

URL_KEY = "export"
CHOICES = {  # label -> (format, quantize)
    "Keras (.keras)": ("keras", None),
    "SavedModel for TF Serving (.zip)": ("savedmodel", None),
    "TFLite, float": ("tflite", None),
    "TFLite, dynamic-range quantised": ("tflite", "dynamic"),
}


def render_export(run_id: str) -> None:
    """A format choice and an Export button; then the URL's export job and its download."""
    st.subheader("Export")
    job = _url_job(run_id)
    if job is None and st.query_params.get(URL_KEY):
        del st.query_params[URL_KEY]  # an export of another run (or none): not this run's
    choice = (job.params["format"], job.params.get("quantize")) if job else ("keras", None)
    labels = list(CHOICES)
    index = list(CHOICES.values()).index(choice) if choice in CHOICES.values() else 0
    label = st.selectbox("Format", labels, index=index, key=f"export-format-{run_id}")
    fmt, quantize = CHOICES[label]
    if st.button("Export", key="export-button"):
        try:
            params = export_params(run_id, fmt, quantize)
        except ExportError as err:
            st.error(str(err))
        else:
            job_id = launcher.submit_job(
                KIND,
                params,
                owner=current_user(),
                label=f"export run {run_id} as {export_label(params)}",
            )
            st.query_params[URL_KEY] = job_id
            job = get_store().get_job(job_id)
    if job is None:
        st.caption(
            "Each export is made by a background job, loaded back and compared with the Keras "
            "model first."
        )
        return
    st.markdown(f"**Job {job.id}**: {job.label}")
    outcome = follow_job(get_store(), job.id, "Exporting", "export job", "starting ...")
    if outcome.get("status") == "succeeded":
        _show_result(job.id, outcome["result"] or {})


def _url_job(run_id: str):
    job_id = st.query_params.get(URL_KEY)
    job = get_store().get_job(job_id) if job_id else None
    if job is None or job.kind != KIND or job.params.get("run_id") != run_id:
        return None
    return job


def _show_result(job_id: str, result: dict) -> None:
    try:
        path = exported_file(paths.runs_dir() / "jobs" / job_id, result)
        data = path.read_bytes()
    except (ExportError, OSError) as err:
        st.error(f"Cannot offer the export of job {job_id}: {err}")
        return
    a, b, c = st.columns(3)
    a.metric("Size", size_text(result["bytes"]))
    b.metric("Largest difference from Keras", f"{result['max_abs_diff']:.2g}")
    if result.get("accuracy_diff") is not None:
        c.metric(
            f"Test accuracy ({result['examples']} images)",
            f"{result['export_accuracy']:.1%}",
            f"{result['accuracy_diff']:+.2%} vs Keras",
        )
    st.download_button(
        f"Download {path.name}",
        data,
        path.name,
        "application/octet-stream",
        key="export-download",
        icon=":material/download:",
    )


def size_text(n: int) -> str:
    """Bytes as '532 kB' or '2.41 MiB'."""
    return f"{n / 2**20:.2f} MiB" if n >= 2**20 else f"{n / 1024:.0f} kB"
