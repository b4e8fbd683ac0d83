"""Export section of the Evaluate page: the run's model as .keras, a SavedModel zip for TF
Serving or TFLite (float or dynamic-range quantised), each checked against the Keras model
(largest output difference, accuracy on the test split) before it is offered for download."""

from __future__ import annotations

import tempfile
from pathlib import Path

import streamlit as st

from core.runs.export_model import SUFFIX, ExportError, export_run

CHOICES = {  # label -> (format, quantize)
    "Keras (.keras)": ("keras", None),
    "SavedModel for TF Serving (.zip)": ("savedmodel", None),
    "TFLite, float": ("tflite", None),
    "TFLite, dynamic-range quantised": ("tflite", "dynamic"),
}


def render_export(run_id: str, run_dir: Path) -> None:
    """A format choice, an Export button, then the checks and a download button."""
    st.subheader("Export")
    label = st.selectbox("Format", list(CHOICES), key="export-format")
    fmt, quantize = CHOICES[label]
    done = st.session_state.setdefault("exports", {})
    key = (run_id, fmt, quantize)
    if st.button("Export", key="export-button"):
        with st.spinner(f"Exporting {label} and loading it back ..."):
            with tempfile.TemporaryDirectory(prefix="tflab-export-") as tmp:
                out = Path(tmp) / f"{run_id}{'-int8' if quantize else ''}{SUFFIX[fmt]}"
                try:
                    result = export_run(run_dir, fmt, out, quantize)
                    done[key] = (result, out.read_bytes())
                except ExportError as err:
                    st.error(str(err))
    if key not in done:
        st.caption("Each export is loaded back and compared with the Keras model first.")
        return
    result, data = done[key]
    a, b, c = st.columns(3)
    a.metric("Size", f"{result.bytes / 2**20:.2f} MiB")
    b.metric("Largest difference from Keras", f"{result.max_abs_diff:.2g}")
    if result.accuracy_diff is not None:
        c.metric(
            f"Test accuracy ({result.examples} images)",
            f"{result.export_accuracy:.1%}",
            f"{result.accuracy_diff:+.2%} vs Keras",
        )
    st.download_button(
        f"Download {Path(result.path).name}",
        data,
        Path(result.path).name,
        "application/octet-stream",
        key="export-download",
    )
