"""Predict-page view of an image classifier run: top-k classes for an upload or a test image."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from core.data.decode import ImageError, decode_image
from core.data.registry import load_dataset
from core.runs.artifacts import MODEL_FILE
from core.tasks.image_predict import PredictError, load_run_model, predict_top_k
from dashboard.figures import top_k_bar


@st.cache_resource(max_entries=4, show_spinner="Loading the model ...")
def load_model(run_dir: str, stamp: float):

    return load_run_model(Path(run_dir))


@st.cache_data(max_entries=4, show_spinner=False)
def test_split(dataset: str):

    data = load_dataset(dataset)
    return data.x_test, data.y_test, list(data.info.class_names)


def render_classification(run_id: str, run_dir: Path) -> None:
    """Top-k classes with probabilities for one image."""

    try:
        loaded = load_model(str(run_dir), (Path(run_dir) / MODEL_FILE).stat().st_mtime)
    except (PredictError, OSError) as err:
        st.error(str(err))
        return

    k = st.slider("Top k", 1, len(loaded.class_names), min(3, len(loaded.class_names)))
    source = st.radio("Image", ["Sample from the test split", "Upload"], horizontal=True)
    image, truth = None, None
    if source == "Upload":
        upload = st.file_uploader("An image file (PNG, JPEG, ...)", type=None)
        if upload is not None:
            try:
                image = decode_image(upload.getvalue(), loaded.input_shape, upload.name)
            except ImageError as err:
                st.error(str(err))
    else:
        x_test, y_test, class_names = test_split(loaded.dataset)
        index = st.number_input(f"Test image index (0-{len(y_test) - 1})", 0, len(y_test) - 1, 0)
        image, truth = x_test[int(index)], class_names[int(y_test[int(index)])]

    if image is not None:
        try:
            result = predict_top_k(loaded, image, k=k)[0]
        except PredictError as err:
            st.error(str(err))
            return
        left, right = st.columns([1, 2])
        with left:
            st.image(
                image,
                caption=f"input {image.shape[1]}x{image.shape[0]}"
                + (f" · true class {truth}" if truth is not None else ""),
                width=200,
                clamp=True,
            )
        with right:
            best = result[0]
            st.metric("Prediction", f"{best['class']} ({best['probability']:.1%})")
            st.plotly_chart(top_k_bar(result))
